"""The self-contained `report.html`: one file with inline CSS and SVG that answers "is it better than what I had?".
Its headings, table headers and notes follow the CLI's language (`domainfit.i18n`: DOMAINFIT_LANG or the locale);
numbers, labels and the user's own texts are shown as they are.

Built with plain string formatting rather than a template engine, so it adds no dependency. Every text that
comes from users (labels, texts, names, notes, data issues) goes through `html.escape`: texts come from customers.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import Any

from domainfit.evaluation import plots
from domainfit.evaluation._html import (
    _CSS,
    MAX_WHERE,
    _e,
    _figure,
    _label,
    _num,
    _nums,
    _section,
    _table,
    _value,
    is_share,
    metric_name,
    metric_value,
)
from domainfit.evaluation.sections import SECTIONS, section_titles
from domainfit.i18n import _, language

__all__ = ["render_report", "write_report"]

CLASSIFICATION_KEYS = ("accuracy", "macro_f1")

# ---------------------------------------------------------------- sections


def _model_index(comparison: Sequence[dict]) -> int:
    """The model's row: the one marked `"model": True`, else the first."""
    return next((i for i, row in enumerate(comparison) if row.get("model")), 0)


def _score(row: Mapping, keys: Sequence[str]) -> tuple[float, ...]:
    """Sort key of a comparison row: its values of `keys` (higher is better), a missing one last."""
    return tuple(row.get(k) if row.get(k) is not None else -1e9 for k in keys)


def _gap(key: str, a: float, b: float) -> tuple[float, str]:
    """a - b as shown: in percentage points for shares, as is otherwise."""
    return (100 * (a - b), _("points")) if is_share(key) else (a - b, "")


def _verdict(comparison: Sequence[dict], primary: str) -> str:
    if len(comparison) < 2:
        return ""
    m = _model_index(comparison)
    model = comparison[m]
    others = [r for i, r in enumerate(comparison) if i != m and r.get(primary) is not None]
    if not others or model.get(primary) is None:
        return ""
    best = max(others, key=lambda r: _score(r, (primary,)))
    gap, unit = _gap(primary, model[primary], best[primary])
    what = metric_name(primary)
    amount = f"{abs(gap):.{1 if unit else 3}f}{' ' + unit if unit else ''}"
    by = _("{amount} of {metric}").format(amount=amount, metric=what)
    the_model = _("the model")
    names = {"model": f'<b>{_e(model.get("name", the_model))}</b>', "baseline": f'<b>{_e(best.get("name"))}</b>'}
    if abs(gap) < (0.05 if unit else 0.0005):
        return ('<div class="verdict bad">' + _("{model} ties with {baseline} on {metric}: the fine-tuning buys nothing "
                                                "on this test split.").format(metric=what, **names) + "</div>")
    if gap > 0:
        return ('<div class="verdict good">' + _("{model} beats the best baseline, {baseline}, by {by} on the same test "
                                                 "split.").format(by=by, **names) + "</div>")
    return ('<div class="verdict bad">' + _("{model} does not beat {baseline}: {by} behind on the same test split. "
                                            "Consider shipping the baseline, or see the tables below for where the model "
                                            "loses.").format(by=by, **names) + "</div>")


def _summary_keys() -> dict[str, str]:
    """The summary's usual keys (written by `evaluation.assess`) in the current language; others are shown as given."""
    return {"task": _("task"), "method": _("method"), "backbone": _("backbone"), "labels": _("labels"),
            "test rows": _("test rows"), "train rows": _("train rows"), "train time (s)": _("train time (s)"),
            "bundle": _("bundle"), "created": _("created")}


def _header(title: str, summary: Mapping, metrics: Mapping, comparison: Sequence[dict], sections: list,
            keys: Sequence[str], primary: str) -> str:
    cards = [(metric_name(k), metric_value(k, metrics.get(k))) for k in keys[:3]]
    if "calibration" in metrics:
        cards.append((_("expected calibration error"), metric_value("ece", metrics["calibration"].get("ece"))))
    cards.append((_("test rows"), _num(metrics.get("n", "—"))))
    card_html = "".join(f'<div class="card"><div class="v">{v}</div><div class="k">{k}</div></div>' for k, v in cards)
    keys_shown = _summary_keys()
    items = "".join(f"<dt>{_e(keys_shown.get(k, k))}</dt><dd>{_value(v)}</dd>" for k, v in summary.items())
    nav = "".join(f'<a href="#{anchor}">{name}</a>' for anchor, name in sections)
    return (f"<header><h1>{_e(title)}</h1>" + '<p class="sub">' + _e(_("domainfit evaluation report")) + "</p>"
            f'<dl class="summary">{items}</dl><div class="cards">{card_html}</div>{_verdict(comparison, primary)}'
            f"<nav>{nav}</nav></header>")


def _seconds(row: Mapping) -> float | None:
    """A row's training time: "train_seconds", or "seconds" for short."""
    return row.get("train_seconds", row.get("seconds"))


def _delta(key: str, a: float, b: float) -> str:
    gap, unit = _gap(key, a, b)
    cls = "pos" if gap > 0 else "neg" if gap < 0 else ""
    return f'<span class="{cls}">{gap:+.1f}&nbsp;pp</span>' if unit else f'<span class="{cls}">{gap:+.3f}</span>'


def _comparison(comparison: Sequence[dict], keys: Sequence[str], primary: str) -> str:
    """One row per model/baseline, a column per metric of `keys`, and the model's lead on the first two."""
    if not comparison:
        return '<p class="muted">' + _("No comparison rows were given.") + "</p>"
    m = _model_index(comparison)
    model = comparison[m]
    order = (primary, *[k for k in keys if k != primary][:1])
    best = max(range(len(comparison)), key=lambda i: _score(comparison[i], order))
    has_time = any(_seconds(r) is not None for r in comparison)
    led = keys[:2]  # higher is better for the first two headline metrics of every task
    rows, classes = [], []
    for i, row in enumerate(comparison):
        name = _label(row.get("name", "?")) + (('<span class="badge">' + _("best") + "</span>") if i == best else "")
        deltas = [_delta(k, model[k], row[k]) if i != m and row.get(k) is not None and model.get(k) is not None else ""
                  for k in led]
        cells = [name, *[metric_value(k, row.get(k)) for k in keys], *deltas]
        if has_time:
            cells.append(_num(_seconds(row)) + " s" if _seconds(row) is not None else "")
        cells.append(_e(row.get("note", "")))
        rows.append(cells)
        classes.append("best" if i == best else "")
    headers = ["", *[metric_name(k) for k in keys], *[_("model Δ {metric}").format(metric=metric_name(k)) for k in led]]
    headers += [_("train time")] if has_time else []
    headers += [_("note")]
    the_first_row = _("the first row")
    shown = f"<b>{_e(model.get('name', the_first_row))}</b>"
    explain = ('<p class="muted">' + (_("All rows are scored on the same test split. Δ is the model minus that row, in "
                                        "percentage points for shares; the model is {model}.") if any(is_share(k) for k in led)
                                      else _("All rows are scored on the same test split. Δ is the model minus that row; "
                                             "the model is {model}.")).format(model=shown) + "</p>")
    n_numeric = len(keys) + len(led) + has_time
    table = _table(headers, rows, cls=_nums(range(1, n_numeric + 1)), row_classes=classes, wide=True)
    return explain + table + _figure(plots.comparison_svg(comparison, model_index=m, keys=led))


def _training(training: Mapping, primary: str) -> str:
    history = training.get("history") or []
    facts = []
    if training.get("seconds") is not None:
        facts.append(_("training took {seconds}").format(seconds=f"<b>{_num(float(training['seconds']))} s</b>"))
    if training.get("best_step") is not None:
        facts.append(_("best checkpoint at step {step}").format(step=f"<b>{_num(training['best_step'])}</b>"))
    scored = [h[f"val_{primary}"] for h in history if h.get(f"val_{primary}") is not None]
    if scored:
        facts.append(_("best validation {metric} {value}").format(metric=metric_name(primary),
                                                                  value=f"<b>{metric_value(primary, max(scored))}</b>"))
    head = "<p>" + _("; ").join(facts) + _(".") + "</p>" if facts else ""
    svg = plots.training_svg(history, training.get("best_step"), metric=primary)
    return head + (_figure(svg) if svg else '<p class="muted">' + _("No training history was recorded.") + "</p>")


def _where(where: Any) -> str:
    if where is None:
        return ""
    if isinstance(where, str):
        where = [where]
    where = list(where)
    shown = ", ".join(_e(w) for w in where[:MAX_WHERE])
    return shown + (" " + _("and {n} more").format(n=len(where) - MAX_WHERE) if len(where) > MAX_WHERE else "")


def _data_issues(data_report: Mapping) -> str:
    issues = data_report.get("issues") or []
    counts = data_report.get("counts") or {}
    parts = []
    scalars = {k: v for k, v in counts.items() if not isinstance(v, (dict, list))}
    if scalars:
        parts.append(_table([_("count"), _("value")], [[_e(k), _value(v)] for k, v in scalars.items()], cls={1: "num"}))
    per_label = counts.get("per_label")
    if isinstance(per_label, dict) and per_label:
        splits = list(per_label)
        labels = sorted({lab for d in per_label.values() if isinstance(d, dict) for lab in d})
        rows = [[_e(lab), *[_value((per_label.get(sp) or {}).get(lab, 0)) for sp in splits]] for lab in labels]
        parts.append(_table([_("label"), *[_e(sp) for sp in splits]], rows, cls={i + 1: "num" for i in range(len(splits))},
                            scroll=len(rows) > 25))
    if issues:
        rank = {"error": 0, "warning": 1, "info": 2}
        ordered = sorted(issues, key=lambda i: rank.get(str(i.get("severity", "")).lower(), 3))
        rows = [[f'<span class="sev-{_e(str(i.get("severity", "")).lower())}">{_e(i.get("severity", ""))}</span>',
                 f"<code>{_e(i.get('code', ''))}</code>", _e(i.get("message", "")), _where(i.get("where")),
                 _e(i.get("hint", "") or "")]
                for i in ordered]
        parts.append(_table([_("severity"), _("code"), _("issue"), _("where"), _("how to fix")], rows,
                            cls={2: "text", 3: "text", 4: "text"}, scroll=len(rows) > 25, wide=True))
    else:
        parts.append('<p class="muted">' + _("The data checks found no issues.") + "</p>")
    return "".join(parts)


# ---------------------------------------------------------------- public API

def render_report(*, title: str, summary: dict, metrics: dict, comparison: list[dict],
                  data_report: dict | None = None, training: dict | None = None,
                  metric_keys: Sequence[str] = CLASSIFICATION_KEYS, primary: str = "macro_f1") -> str:
    """The report as one self-contained HTML string (inline CSS and SVG; no scripts, fonts or remote resources).

    `comparison` rows are {"name", <metric_keys>..., "note"?, "train_seconds"?, "model"?}; the model is the row
    with `"model": True`, else the first, and the other rows show the model's lead over them on the first two
    `metric_keys` (the task's headline metrics, higher is better); `primary` decides the best row and the verdict.
    `metrics` is the dict of the task's metrics (`classification_metrics`, ...): each section is shown when the
    metrics hold what it draws, so a partial dict still renders.
    """
    titles = section_titles()
    sections = [("comparison", _("Comparison with baselines"), lambda: _comparison(comparison, metric_keys, primary))]
    sections += [(anchor, titles.get(anchor, name), lambda build=build: build(metrics))
                 for anchor, name, shown, build in SECTIONS if shown(metrics)]
    if training is not None:
        sections.append(("training", _("Training"), lambda: _training(training, primary)))
    if data_report is not None:
        n_issues = len(data_report.get("issues") or [])
        sections.append(("data", (_("Data checks ({n} issue)") if n_issues == 1 else _("Data checks ({n} issues)")).format(n=n_issues),
                         lambda: _data_issues(data_report)))
    body = "".join(_section(anchor, name, build()) for anchor, name, build in sections)
    header = _header(title, summary, metrics, comparison, [(a, n) for a, n, _build in sections], metric_keys, primary)
    return _page(title, header + body)


def _page(title: str, inner: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if language() == "zh" else "en"}"><head><meta charset="utf-8">'
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
    return _("Generated by {made_by}. Self-contained: this file loads nothing from the network.").format(made_by=made_by)


def write_report(path: str | PathLike[str], **kwargs: Any) -> pathlib.Path:
    """Render the report (same keyword arguments as `render_report`) and write it as UTF-8; returns the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(**kwargs), encoding="utf-8")
    return path
