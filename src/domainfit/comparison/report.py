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
    if failed:
        sections.append(("failed", f"Failed runs ({len(failed)})",
                         html_table(["method", "shots", "seed", "error"], [[r["method"], r["shots"], r["seed"], r["error"]] for r in failed])))
    intro = (f"task {html_escape(result.get('task', 'classification'))}; {d['labels']} labels; test split {d['test']} rows "
             f"(the same for every run); full training pool {d['train']} rows; backbone {d['backbone']}.")
    path = Path(path)
    path.write_text(render_page("domainfit compare", intro, sections), encoding="utf-8")
    return path
