"""drift.html: the drift findings of one window, in the reports' style (self-contained, figures inline)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from domainfit.evaluation.plots import BASELINE_COLOR, MODEL_COLOR, figure_svg, plot_style, shorten_label
from domainfit.evaluation.report import html_escape, html_figure, html_table, render_page

__all__ = ["render_drift"]

_STATUS_WORDS = {"ok": "no drift", "warn": "drift (warning)", "alert": "drift (alert)", "insufficient": "too few predictions"}


def _shares_svg(changes: Sequence[dict], title: str) -> str:
    """Reference and live share of the labels that moved most."""
    if not changes:
        return ""
    names = [shorten_label(str(c["label"]), 36) for c in changes]
    y = np.arange(len(changes))
    with plot_style(f"drift-{title}"):
        fig = Figure(figsize=(7.0, 0.4 * len(changes) + 1.0), layout="constrained")
        ax = fig.add_subplot()
        ax.barh(y - 0.2, [c["reference"] for c in changes], height=0.38, color=BASELINE_COLOR, label="reference (test split)")
        ax.barh(y + 0.2, [c["live"] for c in changes], height=0.38, color=MODEL_COLOR, label="live")
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.legend(loc="lower right", frameon=False, fontsize=7)
        ax.set_title(title, loc="left")
        return figure_svg(fig, title)


def _histogram_svg(check: dict, title: str, xlabel: str) -> str:
    """Reference and live shares per bin of a histogram check."""
    ref, cur = np.asarray(check["detail"]["reference"], float), np.asarray(check["detail"]["live"], float)
    edges = check["detail"].get("edges") or list(range(len(ref) + 1))
    ref, cur = ref / max(ref.sum(), 1e-12), cur / max(cur.sum(), 1e-12)
    x = np.arange(len(ref))
    with plot_style(f"drift-{check['name']}"):
        fig = Figure(figsize=(7.0, 2.6), layout="constrained")
        ax = fig.add_subplot()
        ax.bar(x - 0.2, ref, width=0.4, color=BASELINE_COLOR, label="reference (test split)")
        ax.bar(x + 0.2, cur, width=0.4, color=MODEL_COLOR, label="live")
        step = max(1, len(x) // 10)
        ax.set_xticks(x[::step], [f"{edges[i]:g}" for i in range(0, len(x), step)])
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.set_xlabel(xlabel)
        ax.legend(loc="upper left", frameon=False, fontsize=7)
        ax.set_title(title, loc="left")
        return figure_svg(fig, title)


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def render_drift(report: dict) -> str:
    """The page: verdict, the checks table, a figure per distribution, the terms and texts new in live traffic."""
    checks = report["checks"]
    window = report["window"]
    intro = (f"{report['model']}: {report['live']['n']} live predictions from {window['from'] or '—'} to {window['to'] or '—'} "
             f"against the test split at training time ({report['reference']['n']} texts). Overall: "
             f"{_STATUS_WORDS.get(report['status'], report['status'])}.")
    rows = [(c["name"], c["what"], f"{c['statistic']} {c['value']}" if c["value"] is not None else "—", _p(c["p_value"]),
             _STATUS_WORDS.get(c["status"], c["status"])) for c in checks]
    sections = [("checks", "Checks", html_table(["check", "compares", "effect size", "p-value", "status"], rows) +
                 "<p class=\"muted\">A check alerts when the change is both significant (p below the threshold) and "
                 "large (PSI ≥ 0.25 or AUC ≥ 0.65; PSI ≥ 0.1 or AUC ≥ 0.55 warns). An AUC of 0.5 + s/2 is what a share s of live "
                 "texts unlike the test set gives.</p>")]
    by_name = {c["name"]: c for c in checks}
    if "labels" in by_name:
        sections.append(("labels", "Predicted labels", html_figure(_shares_svg(by_name["labels"]["detail"].get("largest_changes", []),
                                                                                "labels whose share moved most"))))
    for name, title, xlabel in (("confidence", "Confidence", "top-answer probability"), ("length", "Text length", "characters"),
                                ("value", "Predicted value", "value")):
        if name in by_name:
            mean = by_name[name]["detail"].get("mean") or {}
            note = (f"<p class=\"muted\">mean: reference {mean.get('reference'):.3g}, live {mean.get('live'):.3g}</p>"
                    if mean.get("reference") is not None and mean.get("live") is not None else "")
            sections.append((name, title, html_figure(_histogram_svg(by_name[name], title.lower(), xlabel)) + note))
    if "input" in by_name and by_name["input"]["value"] is not None:
        detail = by_name["input"]["detail"]
        body = (html_table(["term more frequent in live traffic", "weight"], [(t["term"], t["weight"]) for t in detail["live_terms"]], numeric=[1])
                + html_table(["live texts least like the test split", "p(live)"], [(e["text"], e["p_live"]) for e in detail["least_like_reference"]], numeric=[1]))
        sections.append(("input", "What is new in the texts", body))
    if report.get("corrections"):
        c = report["corrections"]
        sections.append(("corrections", "Corrections", html_escape(
            f"{c['n']} corrected predictions in the window; the model was right on {c['agreement']:.1%} of them.")))
    return render_page(f"domainfit drift: {report['model']}", intro, sections)
