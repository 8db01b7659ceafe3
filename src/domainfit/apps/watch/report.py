"""The backtest page (report.html): per key, stories and negative share over time with the alerts marked, the
alerts with their stories, and the false-alarm feedback given on the dashboard. Charts are matplotlib SVG drawn
with the report's own style (`evaluation.plots`), the page is the report's (`evaluation.report.render_page`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from domainfit.evaluation.plots import figure_svg, plot_style
from domainfit.evaluation.report import html_escape, html_figure, html_table, render_page

__all__ = ["series_svg", "write_backtest_report"]

_NEG = "#b91c1c"
_VOL = "#2563eb"


def series_svg(frame: pd.DataFrame, alerts: list[dict], key: str, window: str) -> str:
    """Stories per window (bars) and negative share (line) of one key, alert spans shaded (red: negative share,
    blue: volume)."""
    rows = frame[(frame["key"] == key) & (frame["window"] == window)]
    if rows.empty:
        return ""
    with plot_style(f"watch-{key}-{window}"):
        fig = Figure(figsize=(10, 2.6))
        ax = fig.add_subplot(111)
        x = pd.to_datetime(rows["window_end"], utc=True)
        ax.plot(x, rows["stories"], color=_VOL, linewidth=0.8, label="stories")
        ax.set_ylabel("stories per window")
        ax2 = ax.twinx()
        ax2.plot(x, rows["negative_share"], color=_NEG, linewidth=0.8, label="negative share")
        ax2.plot(x, rows["baseline_share"], color="#9ca3af", linewidth=0.6, linestyle="--", label="baseline share")
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("negative share")
        for a in alerts:
            if a["key"] == key and a["window"] == window:
                color = _NEG if a["kind"] == "negative_share" else _VOL
                ax.axvspan(pd.Timestamp(a["window_start_s"], unit="s", tz="UTC"),
                           pd.Timestamp(a.get("closed_s") or a["window_end_s"], unit="s", tz="UTC"), color=color, alpha=0.18)
        ax.set_title(f"{key} — {window} windows")
        fig.autofmt_xdate()
        fig.tight_layout()
        return figure_svg(fig, f"stories and negative share of {key} per {window} window, alerts shaded")


def write_backtest_report(path: Path, series: pd.DataFrame, alerts: list[dict], feedback: dict, summary: dict) -> Path:
    sections = []
    overview = html_table(["", ""], [[k, v] for k, v in summary.items() if k not in ("alerts_file", "series_file", "report")])
    sections.append(("summary", "Summary", overview))
    if len(series):
        charts = []
        order = series.groupby("key")["stories"].sum().sort_values(ascending=False).index
        for key in order:
            for window in sorted(series["window"].unique()):
                charts.append(f"<h3>{html_escape(key)} · {html_escape(window)}</h3>" + html_figure(series_svg(series, alerts, key, window)))
        sections.append(("charts", "Stories and negative share per key", "".join(charts)))
    rows = []
    for a in alerts:
        fb = feedback.get(a["alert_id"], {})
        rows.append([a["time"], a["key"], a["kind"], a["window"], f"{a['observed']:.3g}", f"{a['expected']:.3g}",
                     f"{a['p_value']:.2g}", a["n"], a["status"], fb.get("verdict", ""),
                     " | ".join(f"{s['text'][:80]} (×{s['copies']})" for s in a.get("stories", [])[:3])])
    sections.append(("alerts", f"Alerts ({len(alerts)})", html_table(
        ["time", "key", "kind", "window", "observed", "expected", "p-value", "stories", "status", "feedback",
         "top stories"], rows, numeric=(4, 5, 6, 7)) if rows else "<p>No alert.</p>"))
    marked = sum(1 for a in alerts if feedback.get(a["alert_id"], {}).get("verdict") == "false_alarm")
    sections.append(("feedback", "Feedback", f"<p>{marked} of {len(alerts)} alerts marked as false alarms on the dashboard.</p>"))
    path.write_text(render_page("domainfit watch — backtest", "Replay of a stream through the live pipeline.", sections),
                    encoding="utf-8")
    return path
