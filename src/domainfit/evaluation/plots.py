"""Report figures drawn with matplotlib and returned as inline SVG strings (no files, no pyplot state).

Each function takes the plain dicts/lists that `classification_metrics` and the training loop produce and returns
an `<svg>` element ready to paste into HTML, or "" when there is nothing to draw. Text stays text in the SVG
(`svg.fonttype = none`): smaller files, and the browser renders any script (CJK labels included).
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from html import escape

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

__all__ = ["comparison_svg", "confusion_svg", "per_class_svg", "reliability_svg", "scatter_svg", "training_svg"]

MODEL_COLOR = "#2563eb"
BASELINE_COLOR = "#9ca3af"
SECOND_COLOR = "#f59e0b"

_STYLE = {
    "svg.fonttype": "none",
    "text.parse_math": False,  # a label like "$5_fee" is a name, not mathtext
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "figure.dpi": 72,
}


@contextmanager
def plot_style(name: str) -> Iterator[None]:
    # A per-figure salt keeps the SVG ids deterministic yet distinct between the figures of one page.
    with rc_context({**_STYLE, "svg.hashsalt": f"domainfit-{name}"}), warnings.catch_warnings():
        # DejaVu Sans lacks CJK glyphs; harmless here because the browser, not matplotlib, draws the text.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield


def figure_svg(fig: Figure, alt: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE: not allowed mid-document
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(alt)}" ', 1).strip()


def shorten_label(label: str, width: int = 40) -> str:
    """Shorten in the middle: "balance_not_upd…cash_deposit" keeps apart names that share a long prefix."""
    if len(label) <= width:
        return label
    head = (width - 1) // 2
    return label[:head] + "…" + label[len(label) - (width - 1 - head):]


def confusion_svg(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> str:
    """Heat-map of the confusion matrix, coloured by row share (recall), counts in cells up to 20 classes.

    The figure grows with the number of classes and the fonts shrink, so ~80 classes stay legible.
    """
    cm = np.asarray(matrix, dtype=float)
    k = len(labels)
    if k == 0 or cm.size == 0:
        return ""
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    # ~9 pt per cell: 80 classes make a 13-inch figure, which the report shows at full size (vector text, zoomable)
    side = float(np.clip(0.13 * k + 3.2, 4.5, 15.0))
    font = 8.0 if k <= 20 else max(5.5, 8.0 - 0.045 * (k - 20))
    names = [shorten_label(str(label), 36) for label in labels]
    with plot_style("confusion"):
        fig = Figure(figsize=(side, side * 0.92), layout="constrained")
        ax = fig.add_subplot()
        # interpolation="none" embeds one pixel per cell; the browser scales it, so 80x80 stays a few KB
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, interpolation="none", aspect="equal")
        ax.set_xticks(range(k), names, rotation=90, fontsize=font)
        ax.set_yticks(range(k), names, fontsize=font)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.tick_params(length=0)
        for side_name in ("top", "right", "bottom", "left"):
            ax.spines[side_name].set_visible(False)
        if k <= 20:
            for i in range(k):
                for j in range(k):
                    if cm[i, j]:
                        ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=font - 1,
                                color="white" if share[i, j] > 0.55 else "#1f2937")
        bar = fig.colorbar(image, ax=ax, shrink=0.5, pad=0.01)
        bar.set_label("share of the true class")
        bar.outline.set_visible(False)
        return figure_svg(fig, "confusion matrix")


def per_class_svg(per_class: Sequence[dict]) -> str:
    """Horizontal F1 bars per class, worst first, so the classes that need work are at the top."""
    rows = sorted(per_class, key=lambda r: (r["f1"], str(r["label"])))
    k = len(rows)
    if k == 0:
        return ""
    font = 8.0 if k <= 30 else 7.0 if k <= 60 else 6.5
    height = float(np.clip(0.15 * k + 0.8, 2.0, 16.0))
    f1 = np.array([r["f1"] for r in rows])
    with plot_style("per-class"):
        fig = Figure(figsize=(7.0, height), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(k)
        colors = [MODEL_COLOR if v >= 0.8 else SECOND_COLOR if v >= 0.5 else "#dc2626" for v in f1]
        ax.barh(y, f1, color=colors, height=0.75)
        ax.set_yticks(y, [shorten_label(str(r["label"])) for r in rows], fontsize=font)
        ax.set_ylim(k - 0.5, -0.5)  # worst at the top, no empty margin above and below
        ax.set_xlim(0, 1.0)
        ax.set_xlabel("F1")
        ax.xaxis.grid(True, color="#e5e7eb")
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        return figure_svg(fig, "F1 per class")


def reliability_svg(bins: Sequence[dict], ece: float | None = None) -> str:
    """Reliability curve: accuracy against mean confidence per bin, the diagonal being perfect calibration."""
    used = [b for b in bins if b.get("count")]
    if not used:
        return ""
    total = sum(b["count"] for b in used)
    with plot_style("reliability"):
        fig = Figure(figsize=(4.6, 3.6), layout="constrained")
        ax = fig.add_subplot()
        centers = [(b["lower"] + b["upper"]) / 2 for b in bins]
        widths = [b["upper"] - b["lower"] for b in bins]
        shares = [b["count"] / total for b in bins]
        ax.bar(centers, shares, width=widths, color="#e5e7eb", edgecolor="white", label="share of predictions")
        ax.plot([0, 1], [0, 1], ls="--", color=BASELINE_COLOR, lw=1, label="perfectly calibrated")
        ax.plot([b["confidence"] for b in used], [b["accuracy"] for b in used], marker="o", ms=4,
                color=MODEL_COLOR, label="model")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("confidence (top-class probability)")
        ax.set_ylabel("accuracy")
        if ece is not None:
            ax.set_title(f"expected calibration error = {ece:.3f}")
        ax.legend(loc="upper left", frameon=False, fontsize=7)
        return figure_svg(fig, "reliability curve")


def comparison_svg(rows: Sequence[dict], model_index: int = 0, keys: Sequence[str] = ("accuracy", "macro_f1")) -> str:
    """Bars of two metrics (default accuracy and macro-F1; values up to 1, such as F1 or R²) for the model and each
    baseline; the model in colour, baselines in grey."""
    model = rows[model_index] if 0 <= model_index < len(rows) else None
    rows = [r for r in rows if any(r.get(key) is not None for key in keys)]
    if not rows:
        return ""
    model_index = next((i for i, r in enumerate(rows) if r is model), -1)
    k = len(rows)
    names = {"accuracy": "accuracy", "r2": "R²"}
    low = min(0.0, *(r[key] for r in rows for key in keys if r.get(key) is not None))
    with plot_style("comparison"):
        fig = Figure(figsize=(7.0, 0.55 * k + 1.0), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(k)
        for offset, key, alpha in zip((-0.2, 0.2), keys, (1.0, 0.55)):
            values = [r.get(key) if r.get(key) is not None else 0.0 for r in rows]
            colors = [MODEL_COLOR if i == model_index else BASELINE_COLOR for i in range(k)]
            bars = ax.barh(y + offset, values, height=0.38, color=colors, alpha=alpha,
                           label=names.get(key, key.replace("_", "-").replace("f1", "F1")))
            share = key == "accuracy" or key.endswith("f1")
            for bar, value, row in zip(bars, values, rows):
                if row.get(key) is not None:
                    ax.text(max(value, 0.0) + 0.005, bar.get_y() + bar.get_height() / 2,
                            f"{value:.1%}" if share else f"{value:.3f}", va="center", fontsize=7)
        ax.set_yticks(y, [shorten_label(str(r.get("name", "?")), 36) for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(low - 0.05 if low < 0 else 0, 1.1)
        ax.set_xticks(np.linspace(0, 1, 6))
        ax.xaxis.grid(True, color="#e5e7eb")
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        ax.legend(loc="lower right", frameon=False, fontsize=7)
        return figure_svg(fig, "comparison with baselines")


def training_svg(history: Sequence[dict], best_step: int | None = None, metric: str = "macro_f1") -> str:
    """Training loss (left axis) and the validation metric (right axis; default macro-F1) against step; a dashed
    line at the best step."""
    def series(key: str) -> list[tuple[float, float]]:
        return [(h["step"], h[key]) for h in history if h.get("step") is not None and h.get(key) is not None]

    loss, val = series("train_loss"), series(f"val_{metric}")
    shown = {"macro_f1": "macro-F1", "micro_f1": "micro-F1", "r2": "R²"}.get(metric, metric)
    if not loss and not val:
        return ""
    with plot_style("training"):
        fig = Figure(figsize=(7.0, 3.2), layout="constrained")
        ax = fig.add_subplot()
        handles = []
        if loss:
            handles += ax.plot(*zip(*loss), color=MODEL_COLOR, lw=1.2, label="training loss")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss", color=MODEL_COLOR)
        if val:
            ax2 = ax.twinx()
            ax2.spines["right"].set_visible(True)
            handles += ax2.plot(*zip(*val), color=SECOND_COLOR, marker="o", ms=3.5, lw=1.2,
                                label=f"validation {shown}")
            ax2.set_ylabel(f"validation {shown}", color=SECOND_COLOR)
            low = min(v for _, v in val)
            ax2.set_ylim(low - 0.05 if low < 0 else max(0.0, low - 0.05), 1.0)
        if best_step is not None:
            handles.append(ax.axvline(best_step, ls="--", color="#6b7280", lw=1, label=f"best step ({best_step})"))
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles),
                  frameon=False, fontsize=7)
        return figure_svg(fig, "training curve")


def learning_curve_svg(rows: Sequence[dict], metric: str = "accuracy", unit: str = "examples per class") -> str:
    """`metric` (x100) against the labelled-data budget in `unit`, one line per method (error bars: std over seeds).
    rows: {"method", "shots" (int or "all"), metric, f"{metric}_std"}; "all" is drawn at the right edge."""
    if not rows:
        return ""
    numeric = sorted({int(r["shots"]) for r in rows if r["shots"] != "all"})
    all_x = (numeric[-1] * 2) if numeric else 1
    ticks = numeric + ([all_x] if any(r["shots"] == "all" for r in rows) else [])
    shown = metric.replace("_", " ")
    with plot_style("learning-curve"):
        fig = Figure(figsize=(7.5, 4.2), layout="constrained")
        ax = fig.subplots()
        for method in dict.fromkeys(r["method"] for r in rows):
            pts = sorted(((all_x if r["shots"] == "all" else int(r["shots"])), r[metric], r.get(f"{metric}_std") or 0)
                         for r in rows if r["method"] == method and r.get(metric) is not None)
            if not pts:
                continue
            xs, ys, es = zip(*pts)
            ax.errorbar(xs, [100 * y for y in ys], yerr=[100 * e for e in es], marker="o", capsize=3, label=method)
        if ticks:
            ax.set_xscale("log", base=2)
            ax.set_xticks(ticks)
            ax.set_xticklabels([str(t) for t in numeric] + (["all"] if len(ticks) > len(numeric) else []))
        ax.set_xlabel(f"labelled {unit}")
        ax.set_ylabel(f"test {shown} (%)" if metric == "accuracy" else f"test {shown} (x100)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        return figure_svg(fig, f"learning curve: {shown} against labelled {unit}")


def scatter_svg(true: Sequence[float], pred: Sequence[float]) -> str:
    """Predicted against true values (regression), with the diagonal where a perfect model's points would lie."""
    if not len(true):
        return ""
    true, pred = np.asarray(true, dtype=float), np.asarray(pred, dtype=float)
    low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
    pad = 0.03 * (high - low or 1.0)
    with plot_style("scatter"):
        fig = Figure(figsize=(4.8, 4.4), layout="constrained")
        ax = fig.add_subplot()
        ax.plot([low - pad, high + pad], [low - pad, high + pad], ls="--", color=BASELINE_COLOR, lw=1, label="perfect")
        ax.scatter(true, pred, s=9, alpha=0.45 if len(true) > 200 else 0.8, color=MODEL_COLOR, linewidths=0, label="test rows")
        ax.set_xlim(low - pad, high + pad)
        ax.set_ylim(low - pad, high + pad)
        ax.set_xlabel("true value")
        ax.set_ylabel("predicted value")
        ax.grid(True, color="#e5e7eb")
        ax.set_axisbelow(True)
        ax.legend(loc="upper left", frameon=False, fontsize=7)
        return figure_svg(fig, "predicted against true values")


def ood_tradeoff_svg(curve: Sequence[dict], chosen: dict) -> str:
    """Out-of-scope detection: in-scope accuracy (a refusal counts as an error) against OOS recall as the threshold
    moves, or, without out-of-scope rows, against the share of in-scope messages refused; the chosen threshold marked."""
    with_oos = any(c.get("oos_recall") is not None for c in curve)
    xs = [c["oos_recall"] if with_oos else 1 - c["in_scope_kept"] for c in curve]
    ys = [c["in_scope_accuracy"] for c in curve]
    if not xs:
        return ""
    cx = chosen.get("oos_recall") if with_oos else chosen.get("refused_in_scope")
    with plot_style("ood"):
        fig = Figure(figsize=(4.6, 3.6), layout="constrained")
        ax = fig.add_subplot()
        ax.plot(xs, ys, marker=".", ms=3, color=MODEL_COLOR, label="as the threshold moves")
        if cx is not None and chosen.get("in_scope_accuracy") is not None:
            ax.plot([cx], [chosen["in_scope_accuracy"]], marker="o", ms=8, color=SECOND_COLOR, ls="none",
                    label="the bundle's threshold")
        if chosen.get("in_scope_accuracy_plain") is not None:
            ax.axhline(chosen["in_scope_accuracy_plain"], ls="--", lw=1, color=BASELINE_COLOR, label="without refusal")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("out-of-scope recall" if with_oos else "share of in-scope messages refused")
        ax.set_ylabel("in-scope accuracy (refusal = error)")
        ax.legend(loc="lower left", frameon=False, fontsize=7)
        return figure_svg(fig, "out-of-scope trade-off curve")
