"""The compare report: the learning curve (what labelling buys), the leaderboard and the recommendation."""

from __future__ import annotations

from pathlib import Path

from domainfit.evaluation.plots import learning_curve_svg
from domainfit.evaluation.report import html_escape, html_figure, html_table, render_page

__all__ = ["write_compare_report"]

_COSTS = ("train_seconds", "texts_per_s", "trainable_parameters", "bundle_mb")


def _fmt(row: dict, key: str, metrics) -> str:
    v = row.get(key)
    if v is None:
        return "—"
    if key in metrics:
        std = row.get(f"{key}_std") or 0
        return f"{100 * v:.2f}" + (f" ± {100 * std:.2f}" if std else "")
    if key == "trainable_parameters":
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def _tuning_section(result: dict, metrics) -> tuple[str, str, str] | None:
    """`compare --tune`: per tuned run, the defaults (trial 0) against the best trial, on validation and on test."""
    tuned = [r for r in result["runs"] if r.get("tuning")]
    if not tuned:
        return None
    first = metrics[0]
    head = ["method", "shots", "seed", "trials", "validation: defaults", "validation: tuned",
            f"test {first}: defaults", f"test {first}: tuned", "change (points)", "values found"]

    def pts(v):
        return "—" if v is None else f"{100 * v:.2f}"

    rows = []
    for r in tuned:
        t = r["tuning"]
        d, b = t["test_default"].get(first), t["test_tuned"].get(first)
        change = "—" if d is None or b is None else f"{100 * (b - d):+.2f}"
        values = "defaults" if t["best_trial"] == 0 else ", ".join(
            f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}" for k, v in t["params"].items())
        done = t["trials"].get("COMPLETE", 0) + t["trials"].get("PRUNED", 0)
        rows.append([r["method"], r["shots"], r["seed"], done, pts(t["val_default"]), pts(t["val_tuned"]), pts(d), pts(b),
                     change, values])
    note = (f'<p class="muted">Each method was tuned ({html_escape(str((result.get("tune") or {}).get("trials")))} trials, '
            f'Optuna TPE) on its run\'s own training and validation rows, never the test rows; trial 0 is the defaults, '
            f'so the tuned validation score is never below them. The leaderboard shows the tuned runs. Validation is the '
            f'{html_escape(tuned[0]["tuning"]["metric"])}.</p>')
    return ("tuning", "Tuned against defaults", html_table(head, rows, numeric=range(2, 9)) + note)


def write_compare_report(path: str | Path, result: dict) -> Path:
    board = result["leaderboard"]
    metrics = result.get("metrics") or ["accuracy", "macro_f1"]
    unit = result.get("unit") or "examples per class"
    columns = ("method", "shots", "seeds", *metrics, *_COSTS)
    rec = result["recommendation"]
    d = result["data"]
    failed = [r for r in result["runs"] if "error" in r]
    sections = [
        ("recommendation", "Recommendation", f"<p><b>{html_escape(rec.get('method'))}</b>: {html_escape(rec.get('why'))}</p>"),
        ("curve", "Learning curve", html_figure(learning_curve_svg(board, metrics[0], unit))
         + f'<p class="muted">Test {html_escape(metrics[0].replace("_", " "))} (x100) against labelled {html_escape(unit)} '
           '("shots"); error bars are the standard deviation over seeds (several seeds for small budgets).</p>'),
        ("leaderboard", f"Leaderboard (shots: {html_escape(unit)})",
         html_table([c.replace("_", " ") for c in columns], [[_fmt(r, c, metrics) for c in columns] for r in board],
                    numeric=range(2, len(columns)))),
    ]
    tuning = _tuning_section(result, metrics)
    if tuning:
        sections.insert(1, tuning)
    if failed:
        sections.append(("failed", f"Failed runs ({len(failed)})",
                         html_table(["method", "shots", "seed", "error"], [[r["method"], r["shots"], r["seed"], r["error"]] for r in failed])))
    intro = (f"task {html_escape(result.get('task', 'classification'))}; {d['labels']} labels; test split {d['test']} rows "
             f"(the same for every run); full training pool {d['train']} rows; backbone {d['backbone']}.")
    path = Path(path)
    path.write_text(render_page("domainfit compare", intro, sections), encoding="utf-8")
    return path
