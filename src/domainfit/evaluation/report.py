"""The self-contained `report.html`: one file with inline CSS and SVG that answers "is it better than what I had?".

Built with plain string formatting rather than a template engine, so it adds no dependency. Every text that
comes from users (labels, texts, names, notes, data issues) goes through `html.escape`: texts come from customers.
"""

from __future__ import annotations

import datetime as _dt
import math
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from os import PathLike
from typing import Any

from domainfit.evaluation import plots

__all__ = ["render_report", "write_report"]

MAX_TEXT = 300  # characters of a customer text shown in the worst-errors table
MAX_WHERE = 5  # locations of a data issue shown before "and N more"

_CSS = """
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f9fafb;--accent:#2563eb;
  --good:#15803d;--bad:#b91c1c;--warn:#b45309}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;
  font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",
  "Noto Sans CJK SC","Microsoft YaHei",sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:36px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
p.sub,.muted{color:var(--muted)}
nav{margin:14px 0 4px;font-size:13px}
nav a{color:var(--accent);text-decoration:none;margin-right:14px;white-space:nowrap}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:2px 18px;margin:14px 0;font-size:13px}
dl.summary dt{color:var(--muted)}
dl.summary dd{margin:0;overflow-wrap:anywhere}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:140px;background:var(--bg)}
.card .v{font-size:22px;font-weight:600}
.card .k{font-size:12px;color:var(--muted)}
.verdict{padding:10px 14px;border-radius:8px;margin:12px 0;border-left:4px solid}
.verdict.good{background:#f0fdf4;border-color:var(--good)}
.verdict.bad{background:#fef2f2;border-color:var(--bad)}
table{border-collapse:collapse;font-size:13px;margin:8px 0;min-width:50%}
table.wide{width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--bg);font-weight:600;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.text{overflow-wrap:anywhere;max-width:520px}
td.label{min-width:9em}
tr.best td{background:#eff6ff;font-weight:600}
.pos{color:var(--good)}.neg{color:var(--bad)}
.badge{display:inline-block;font-size:11px;padding:0 6px;border-radius:9px;background:var(--accent);color:#fff;
  margin-left:6px;font-weight:500}
.sev-error{color:var(--bad);font-weight:600}.sev-warning{color:var(--warn);font-weight:600}.sev-info{color:var(--muted)}
.bar{display:inline-block;height:8px;background:var(--accent);border-radius:2px;vertical-align:middle;margin-right:6px}
.figure{margin:10px 0;overflow-x:auto}
.figure svg{max-width:100%;height:auto;display:block}
.figure.natural{width:calc(100vw - 32px);max-width:1400px;position:relative;left:50%;transform:translateX(-50%)}
.figure.natural svg{max-width:none;margin:0 auto}
.scroll{max-height:640px;overflow:auto;border:1px solid var(--line);border-radius:6px}
.scroll table{margin:0}
footer{margin-top:48px;font-size:12px;color:var(--muted)}
@media print{.scroll{max-height:none;overflow:visible}th{position:static}}
"""


# ---------------------------------------------------------------- formatting helpers (all output is escaped)

def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _label(value: Any) -> str:
    """An escaped label name that may wrap after its underscores, not in the middle of a word."""
    return _e(value).replace("_", "_<wbr>")


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _e(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return _e(value)
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _fixed(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _delta(pp: float) -> str:
    cls = "pos" if pp > 0 else "neg" if pp < 0 else ""
    return f'<span class="{cls}">{pp:+.1f}&nbsp;pp</span>'


def _value(value: Any) -> str:
    """A summary value: lists shortened, mappings as key: value, numbers formatted."""
    if isinstance(value, Mapping):
        return "; ".join(f"{_e(k)}: {_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        shown = ", ".join(_value(v) for v in value[:12])
        return shown + (f" … and {len(value) - 12} more" if len(value) > 12 else "")
    if isinstance(value, _dt.datetime):
        return _e(value.isoformat(timespec="seconds"))
    return _num(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: Mapping[int, str] | None = None,
           row_classes: Sequence[str] | None = None, scroll: bool = False, wide: bool = False) -> str:
    """An HTML table; `headers` are trusted literals, cells must already be escaped HTML; `cls` maps a column
    index to a CSS class ("num" right-aligns, "text" wraps long customer texts)."""
    cls = cls or {}

    def cell(tag: str, i: int, content: str) -> str:
        return f'<{tag} class="{cls[i]}">{content}</{tag}>' if i in cls else f"<{tag}>{content}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        attr = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        body.append(f"<tr{attr}>{''.join(cell('td', i, c) for i, c in enumerate(row))}</tr>")
    table = '<table class="wide">' if wide else "<table>"
    html = f"{table}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="scroll">{html}</div>' if scroll else html


def _nums(columns: Iterable[int]) -> dict[int, str]:
    return {i: "num" for i in columns}


def _figure(svg: str, natural: bool = False) -> str:
    """A figure scaled to the page width, or at its natural size with a scroll bar (`natural`)."""
    return f'<div class="figure{" natural" if natural else ""}">{svg}</div>' if svg else ""


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{title}</h2>{body}</section>'


# ---------------------------------------------------------------- sections

def _model_index(comparison: Sequence[dict]) -> int:
    """The model's row: the one marked `"model": True`, else the first."""
    return next((i for i, row in enumerate(comparison) if row.get("model")), 0)


def _score(row: Mapping) -> tuple[float, float]:
    return (row.get("macro_f1") if row.get("macro_f1") is not None else -1.0,
            row.get("accuracy") if row.get("accuracy") is not None else -1.0)


def _verdict(comparison: Sequence[dict]) -> str:
    if len(comparison) < 2:
        return ""
    m = _model_index(comparison)
    model = comparison[m]
    others = [r for i, r in enumerate(comparison) if i != m and r.get("macro_f1") is not None]
    if not others or model.get("macro_f1") is None:
        return ""
    best = max(others, key=_score)
    gap = 100 * (model["macro_f1"] - best["macro_f1"])
    if abs(gap) < 0.05:
        return (f'<div class="verdict bad"><b>{_e(model.get("name", "the model"))}</b> ties with '
                f'<b>{_e(best.get("name"))}</b> on macro-F1: the fine-tuning buys nothing on this test split.</div>')
    if gap > 0:
        return (f'<div class="verdict good"><b>{_e(model.get("name", "the model"))}</b> beats the best baseline, '
                f'<b>{_e(best.get("name"))}</b>, by {gap:.1f} points of macro-F1 on the same test split.</div>')
    return (f'<div class="verdict bad"><b>{_e(model.get("name", "the model"))}</b> does not beat '
            f'<b>{_e(best.get("name"))}</b>: {-gap:.1f} points of macro-F1 behind on the same test split. '
            f"Consider shipping the baseline, or see the per-class table for where the model loses.</div>")


def _header(title: str, summary: Mapping, metrics: Mapping, comparison: Sequence[dict], sections: list) -> str:
    cards = [
        ("accuracy", _pct(metrics.get("accuracy"))),
        ("macro-F1", _pct(metrics.get("macro_f1"))),
        ("expected calibration error", _fixed(metrics.get("calibration", {}).get("ece"))),
        ("test rows", _num(metrics.get("n", "—"))),
    ]
    card_html = "".join(f'<div class="card"><div class="v">{v}</div><div class="k">{k}</div></div>' for k, v in cards)
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_value(v)}</dd>" for k, v in summary.items())
    nav = "".join(f'<a href="#{anchor}">{name}</a>' for anchor, name in sections)
    return (f"<header><h1>{_e(title)}</h1><p class=\"sub\">domainfit evaluation report</p>"
            f'<dl class="summary">{items}</dl><div class="cards">{card_html}</div>{_verdict(comparison)}'
            f"<nav>{nav}</nav></header>")


def _seconds(row: Mapping) -> float | None:
    """A row's training time: "train_seconds", or "seconds" for short."""
    return row.get("train_seconds", row.get("seconds"))


def _comparison(comparison: Sequence[dict]) -> str:
    if not comparison:
        return '<p class="muted">No comparison rows were given.</p>'
    m = _model_index(comparison)
    model = comparison[m]
    best = max(range(len(comparison)), key=lambda i: _score(comparison[i]))
    has_time = any(_seconds(r) is not None for r in comparison)
    rows, classes = [], []
    for i, row in enumerate(comparison):
        name = _label(row.get("name", "?")) + ('<span class="badge">best</span>' if i == best else "")
        deltas = []
        for key in ("accuracy", "macro_f1"):
            if i != m and row.get(key) is not None and model.get(key) is not None:
                deltas.append(_delta(100 * (model[key] - row[key])))
            else:
                deltas.append("")
        cells = [name, _pct(row.get("accuracy")), _pct(row.get("macro_f1")), *deltas]
        if has_time:
            cells.append(_num(_seconds(row)) + " s" if _seconds(row) is not None else "")
        cells.append(_e(row.get("note", "")))
        rows.append(cells)
        classes.append("best" if i == best else "")
    headers = ["", "accuracy", "macro-F1", "model Δ accuracy", "model Δ macro-F1"]
    headers += ["train time"] if has_time else []
    headers += ["note"]
    explain = ('<p class="muted">All rows are scored on the same test split. Δ is the model minus that row, in '
               f"percentage points; the model is <b>{_e(model.get('name', 'the first row'))}</b>.</p>")
    table = _table(headers, rows, cls=_nums(range(1, 6 if has_time else 5)), row_classes=classes, wide=True)
    return explain + table + _figure(plots.comparison_svg(comparison, model_index=m))


def _per_class(metrics: Mapping) -> str:
    per_class = metrics.get("per_class") or []
    if not per_class:
        return '<p class="muted">No per-class scores.</p>'
    ordered = sorted(per_class, key=lambda r: (r["f1"], str(r["label"])))
    rows = [[_label(r["label"]), _pct(r["precision"]), _pct(r["recall"]),
             f'<span class="bar" style="width:{round(60 * r["f1"])}px"></span>{_pct(r["f1"])}', _num(r["support"])]
            for r in ordered]
    note = '<p class="muted">Sorted by F1, weakest first. Support is the number of test rows of that class.</p>'
    table = _table(["label", "precision", "recall", "F1", "support"], rows, cls={0: "label", **_nums(range(1, 5))},
                   scroll=len(rows) > 25, wide=True)
    return note + table + _figure(plots.per_class_svg(per_class))


def _confusion(metrics: Mapping) -> str:
    confusion = metrics.get("confusion") or {}
    labels, matrix = confusion.get("labels") or [], confusion.get("matrix") or []
    if not labels:
        return '<p class="muted">No confusion matrix.</p>'
    note = ("Rows are the true class, columns the predicted one; colour is the share of the true class's rows"
            + (", numbers are counts." if len(labels) <= 20 else ". Counts are left out past 20 classes: see the "
               '<a href="#confused">most confused pairs</a>.'))
    # past 30 classes the figure is shown at full size (scrolling sideways) so its small labels stay readable
    return f'<p class="muted">{note}</p>' + _figure(plots.confusion_svg(matrix, labels), natural=len(labels) > 30)


def _calibration(metrics: Mapping) -> str:
    cal = metrics.get("calibration") or {}
    bins, ece = cal.get("bins") or [], cal.get("ece")
    if not bins:
        return '<p class="muted">No calibration data.</p>'
    text = (f"<p>Expected calibration error: <b>{_fixed(ece)}</b> (0 is perfect: among predictions made with 80% "
            f"confidence, 80% are right). {_calibration_direction(bins)}</p>")
    rows = [[f"{b['lower']:.1f}–{b['upper']:.1f}", _pct(b["confidence"]), _pct(b["accuracy"]), _num(b["count"])]
            for b in bins if b["count"]]
    table = _table(["confidence bin", "mean confidence", "accuracy", "rows"], rows, cls=_nums(range(1, 4)))
    return text + _figure(plots.reliability_svg(bins, ece)) + table


def _calibration_direction(bins: Sequence[dict]) -> str:
    """One sentence on which way the probabilities lean, so a reader need not decode the curve."""
    used = [b for b in bins if b["count"]]
    total = sum(b["count"] for b in used)
    lean = sum(b["count"] * (b["accuracy"] - b["confidence"]) for b in used) / total
    if abs(lean) < 0.02:
        return "The probabilities can be read at face value."
    if lean > 0:
        return ("The curve lies above the diagonal: the model is <b>under-confident</b> (right more often than its "
                "probabilities say), so a confidence threshold can be set lower than it looks.")
    return ("The curve lies below the diagonal: the model is <b>over-confident</b> (right less often than its "
            "probabilities say); do not read its probabilities as chances without recalibrating.")


def _most_confused(metrics: Mapping) -> str:
    pairs = metrics.get("most_confused") or []
    if not pairs:
        return '<p class="muted">No confusions: every test row was predicted correctly.</p>'
    rows = [[_label(p["true"]), _label(p["pred"]), _num(p["count"])] for p in pairs]
    return _table(["true label", "predicted as", "rows"], rows, cls={0: "label", 1: "label", 2: "num"})


def _worst_errors(metrics: Mapping) -> str:
    errors = metrics.get("worst_errors") or []
    if not errors:
        return '<p class="muted">None to show (no wrong predictions, or no texts were passed to the metrics).</p>'
    rows = []
    for err in errors:
        text = str(err["text"])
        shown = text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
        rows.append([_e(shown), _label(err["true"]), _label(err["pred"]), _pct(err["confidence"])])
    note = ('<p class="muted">Wrong predictions made with the highest confidence. Read these first: they are often '
            "mislabelled rows, otherwise real gaps in the model.</p>")
    return note + _table(["text", "true label", "predicted", "confidence"], rows,
                         cls={0: "text", 1: "label", 2: "label", 3: "num"}, wide=True)


def _training(training: Mapping) -> str:
    history = training.get("history") or []
    facts = []
    if training.get("seconds") is not None:
        facts.append(f"training took <b>{_num(float(training['seconds']))} s</b>")
    if training.get("best_step") is not None:
        facts.append(f"best checkpoint at step <b>{_num(training['best_step'])}</b>")
    scored = [h for h in history if h.get("val_macro_f1") is not None]
    if scored:
        best = max(h["val_macro_f1"] for h in scored)
        facts.append(f"best validation macro-F1 <b>{_pct(best)}</b>")
    head = f"<p>{'; '.join(facts)}.</p>" if facts else ""
    svg = plots.training_svg(history, training.get("best_step"))
    return head + (_figure(svg) if svg else '<p class="muted">No training history was recorded.</p>')


def _where(where: Any) -> str:
    if where is None:
        return ""
    if isinstance(where, str):
        where = [where]
    where = list(where)
    shown = ", ".join(_e(w) for w in where[:MAX_WHERE])
    return shown + (f" and {len(where) - MAX_WHERE} more" if len(where) > MAX_WHERE else "")


def _data_issues(data_report: Mapping) -> str:
    issues = data_report.get("issues") or []
    counts = data_report.get("counts") or {}
    parts = []
    scalars = {k: v for k, v in counts.items() if not isinstance(v, (dict, list))}
    if scalars:
        parts.append(_table(["count", "value"], [[_e(k), _value(v)] for k, v in scalars.items()], cls={1: "num"}))
    per_label = counts.get("per_label")
    if isinstance(per_label, dict) and per_label:
        splits = list(per_label)
        labels = sorted({lab for d in per_label.values() if isinstance(d, dict) for lab in d})
        rows = [[_e(lab), *[_value((per_label.get(sp) or {}).get(lab, 0)) for sp in splits]] for lab in labels]
        parts.append(_table(["label", *[_e(sp) for sp in splits]], rows, cls={i + 1: "num" for i in range(len(splits))},
                            scroll=len(rows) > 25))
    if issues:
        rank = {"error": 0, "warning": 1, "info": 2}
        ordered = sorted(issues, key=lambda i: rank.get(str(i.get("severity", "")).lower(), 3))
        rows = [[f'<span class="sev-{_e(str(i.get("severity", "")).lower())}">{_e(i.get("severity", ""))}</span>',
                 f"<code>{_e(i.get('code', ''))}</code>", _e(i.get("message", "")), _where(i.get("where")),
                 _e(i.get("hint", "") or "")]
                for i in ordered]
        parts.append(_table(["severity", "code", "issue", "where", "how to fix"], rows,
                            cls={2: "text", 3: "text", 4: "text"}, scroll=len(rows) > 25, wide=True))
    else:
        parts.append('<p class="muted">The data checks found no issues.</p>')
    return "".join(parts)


# ---------------------------------------------------------------- public API

def render_report(*, title: str, summary: dict, metrics: dict, comparison: list[dict],
                  data_report: dict | None = None, training: dict | None = None) -> str:
    """The report as one self-contained HTML string (inline CSS and SVG; no scripts, fonts or remote resources).

    `comparison` rows are {"name", "accuracy", "macro_f1", "note"?, "train_seconds"?, "model"?}; the model is the row
    with `"model": True`, else the first, and the other rows show the model's lead over them. `metrics` is the
    dict of `classification_metrics`; missing parts are skipped, so a partial dict still renders.
    """
    sections = [
        ("comparison", "Comparison with baselines", lambda: _comparison(comparison)),
        ("per-class", "Scores per class", lambda: _per_class(metrics)),
        ("confusion", "Confusion matrix", lambda: _confusion(metrics)),
        ("calibration", "Calibration", lambda: _calibration(metrics)),
        ("confused", "Most confused pairs", lambda: _most_confused(metrics)),
        ("errors", "Most confident errors", lambda: _worst_errors(metrics)),
    ]
    if training is not None:
        sections.append(("training", "Training", lambda: _training(training)))
    if data_report is not None:
        n_issues = len(data_report.get("issues") or [])
        sections.append(("data", f"Data checks ({n_issues} issue{'s' if n_issues != 1 else ''})",
                         lambda: _data_issues(data_report)))
    body = "".join(_section(anchor, name, build()) for anchor, name, build in sections)
    header = _header(title, summary, metrics, comparison, [(a, n) for a, n, _ in sections])
    return _page(title, header + body)


def _page(title: str, inner: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main>{inner}<footer>{_e(_footer())}</footer></main></body></html>\n"
    )


def render_page(title: str, intro: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """A self-contained page in the report's style for other reports (e.g. `domainfit compare`):
    `intro` is plain text (escaped); `sections` are (anchor, title, trusted HTML body) — escape user text in them
    with `html_escape`, build tables with `html_table`."""
    body = "".join(_section(a, _e(t), b) for a, t, b in sections)
    return _page(title, f"<h1>{_e(title)}</h1><p class=\"muted\">{_e(intro)}</p>{body}")


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = ()) -> str:
    """A table of plain values (escaped here); `numeric` columns are right-aligned."""
    return _table([_e(h) for h in headers], [[_e(c) for c in r] for r in rows], cls=_nums(numeric))


def html_figure(svg: str) -> str:
    return _figure(svg)


html_escape = _e


def _footer() -> str:
    try:
        from importlib.metadata import version

        made_by = f"domainfit {version('domainfit')}"
    except Exception:  # running from a source tree without an installed distribution
        made_by = "domainfit"
    return f"Generated by {made_by}. Self-contained: this file loads nothing from the network."


def write_report(path: str | PathLike[str], **kwargs: Any) -> pathlib.Path:
    """Render the report (same keyword arguments as `render_report`) and write it as UTF-8; returns the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(**kwargs), encoding="utf-8")
    return path
