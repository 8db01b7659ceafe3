"""The compare report: the learning curve (what labelling buys), the leaderboard and the recommendation."""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_compare_report"]

_COLUMNS = ("method", "shots", "seeds", "accuracy", "macro_f1", "train_seconds", "texts_per_s", "trainable_parameters", "bundle_mb")


def _fmt(row: dict, key: str) -> str:
    v = row.get(key)
    if v is None:
        return "—"
    if key in ("accuracy", "macro_f1"):
        std = row.get(f"{key}_std") or 0
        return f"{100 * v:.2f}" + (f" ± {100 * std:.2f}" if std else "")
    if key == "trainable_parameters":
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def write_compare_report(path: str | Path, result: dict) -> Path:
    from domainfit.evaluation.plots import learning_curve_svg
    from domainfit.evaluation.report import html_escape, html_figure, html_table, render_page

    board = result["leaderboard"]
    rec = result["recommendation"]
    d = result["data"]
    failed = [r for r in result["runs"] if "error" in r]
    sections = [
        ("recommendation", "Recommendation", f"<p><b>{html_escape(rec.get('method'))}</b>: {html_escape(rec.get('why'))}</p>"),
        ("curve", "Learning curve", html_figure(learning_curve_svg(board))
         + '<p class="muted">Test accuracy against labelled examples per class; error bars are the standard deviation '
           "over seeds (several seeds for small budgets).</p>"),
        ("leaderboard", "Leaderboard", html_table([c.replace("_", " ") for c in _COLUMNS],
                                                  [[_fmt(r, c) for c in _COLUMNS] for r in board], numeric=range(2, 9))),
    ]
    if failed:
        sections.append(("failed", f"Failed runs ({len(failed)})",
                         html_table(["method", "shots", "seed", "error"], [[r["method"], r["shots"], r["seed"], r["error"]] for r in failed])))
    intro = (f"{d['labels']} labels; test split {d['test']} rows (the same for every run); full training pool {d['train']} rows; "
             f"backbone {d['backbone']}.")
    path = Path(path)
    path.write_text(render_page("domainfit compare", intro, sections), encoding="utf-8")
    return path
