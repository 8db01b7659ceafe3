"""The HTML building blocks of the reports: the style sheet and small formatters whose output is always escaped.

Shared by `report.py` (the page, comparison, training and data sections) and `sections.py` (the metric sections of
each task). Built with plain string formatting rather than a template engine, so it adds no dependency.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from domainfit.i18n import _

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


# ---------------------------------------------------------------- metric names and values

METRIC_NAMES = {
    "accuracy": "accuracy", "macro_f1": "macro-F1", "micro_f1": "micro-F1", "weighted_f1": "weighted-F1",
    "subset_accuracy": "subset accuracy", "hamming_loss": "Hamming loss", "r2": "R²", "spearman": "Spearman ρ",
    "pearson": "Pearson r", "mae": "MAE", "rmse": "RMSE",
    "recall_at_1": "recall@1", "recall_at_5": "recall@5", "recall_at_10": "recall@10", "mrr_at_10": "MRR@10",
    "no_answer_accuracy": "no-answer accuracy",
}
_SHARES = ("accuracy", "f1", "precision", "recall", "hamming_loss")  # key endings shown as percentages


def _translated_metric_names() -> dict[str, str]:
    # the names that read as words; F1, R², MAE, MRR@10, ... stay as they are in every language
    return {"accuracy": _("accuracy"), "subset_accuracy": _("subset accuracy"), "hamming_loss": _("Hamming loss"),
            "no_answer_accuracy": _("no-answer accuracy"), "macro_f1": _("macro-F1"), "micro_f1": _("micro-F1"),
            "weighted_f1": _("weighted-F1")}


def metric_name(key: str) -> str:
    """The metric's name as a person reads it, in the current language (`domainfit.i18n`)."""
    return _translated_metric_names().get(key) or METRIC_NAMES.get(key, key.replace("_", " "))


def is_share(key: str) -> bool:
    """Whether a metric is a share of rows or decisions (shown as a percentage, compared in points)."""
    return key.endswith(_SHARES) or key.startswith("recall_at_")


def metric_value(key: str, value: float | None) -> str:
    return _pct(value) if is_share(key) else _fixed(value)
