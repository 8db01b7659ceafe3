"""Choosing the text and label columns: explicit names win, else well-known names, else the data's shape.

Inference, in order:
  text  - a column with a well-known name (text, review, 文本, ...); else the one string column whose mean length
          is clearly the longest (at least 1.5x the next);
  label - a column with a well-known name (label, intent, 标签, ...); else the one remaining short,
          low-cardinality column.
Anything less clear raises ColumnError listing the candidates with sample values and the flags to pass.
"""

from __future__ import annotations

import difflib

import pandas as pd

from domainfit.errors import ColumnError
from domainfit.i18n import _

__all__ = ["LABEL_NAMES", "TEXT_NAMES", "resolve_columns"]

TEXT_NAMES = (
    "text", "texts", "sentence", "sentences", "content", "body", "message", "msg", "query", "question", "review",
    "comment", "utterance", "description", "document", "doc", "passage", "input", "text_a", "review_text",
    "comment_text", "content_text", "ticket_text", "complaint", "feedback", "note", "notes", "summary",
    "文本", "内容", "评论", "评价", "句子", "正文", "问题", "描述", "留言", "文本内容", "评论内容", "语句", "投诉内容",
)  # fmt: skip
LABEL_NAMES = (
    "label", "labels", "intent", "category", "class", "target", "queue", "sentiment", "tag", "y", "gold",
    "label_name", "class_name", "category_name", "polarity", "topic", "department",
    "标签", "类别", "分类", "类型", "意图", "情感", "标注", "结果", "类目",
)  # fmt: skip

_SAMPLE = 2000  # rows looked at when measuring columns


def _how() -> str:
    return _("pass --text COLUMN --label COLUMN (data.text_column / data.label_column in the YAML)")


def column_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


_TEXT_KEYS = {column_key(n) for n in TEXT_NAMES}
_LABEL_KEYS = {column_key(n) for n in LABEL_NAMES}


def _data_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("_file", "_row")]


def _samples(frame: pd.DataFrame, column: str, n: int = 2) -> str:
    values = [v for v in frame[column].head(50).tolist() if str(v).strip()][:n]
    shown = [repr(v if len(v) <= 40 else v[:37] + "...") for v in map(str, values)]
    return ", ".join(shown) if shown else _("(empty)")


def _describe(frame: pd.DataFrame, columns: list[str]) -> str:
    return "; ".join(_("{column} e.g. {samples}").format(column=repr(c), samples=_samples(frame, c)) for c in columns)


def _explicit(frame: pd.DataFrame, name: str, role: str, where: str | None) -> str:
    columns = _data_columns(frame)
    if name in columns:
        return name
    loose = [c for c in columns if column_key(c) == column_key(name)]
    if len(loose) == 1:  # "Text " or "TEXT" for "text": the user clearly meant it
        return loose[0]
    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    guess = _(" Did you mean {name}?").format(name=repr(close[0])) if close else ""
    flag = "--text" if role == "text" else "--label"
    raise ColumnError(
        _("no {role} column {name}.{guess} The file has: {columns}").format(
            role=_("text") if role == "text" else _("label"), name=repr(name), guess=guess,
            columns=", ".join(map(repr, columns))),
        where=where,
        hint=_("pass {flag} with one of those names (data.{role}_column in the YAML)").format(flag=flag, role=role),
    )


def _is_numeric(values: pd.Series) -> bool:
    filled = values[values.str.strip() != ""]
    return len(filled) > 0 and pd.to_numeric(filled, errors="coerce").notna().mean() > 0.9


def _mean_length(values: pd.Series) -> float:
    mean = values.head(_SAMPLE).str.len().mean()
    return 0.0 if pd.isna(mean) else float(mean)


def _infer_text(frame: pd.DataFrame, columns: list[str], where: str | None) -> str:
    named = [c for c in columns if column_key(c) in _TEXT_KEYS]
    if len(named) == 1:
        return named[0]
    pool = named or [c for c in columns if not _is_numeric(frame[c].head(_SAMPLE))]
    if len(pool) == 1:
        return pool[0]
    lengths = sorted(((_mean_length(frame[c]), c) for c in pool), reverse=True)
    if len(lengths) >= 2 and lengths[0][0] >= 1.5 * lengths[1][0] and lengths[0][0] >= 10:
        return lengths[0][1]
    candidates = [c for _x, c in lengths] or columns
    raise ColumnError(
        _("cannot tell which column holds the text; candidates: {candidates}").format(
            candidates=_describe(frame, candidates)),
        where=where,
        hint=_how(),
    )


def _is_label_like(values: pd.Series) -> bool:
    values = values[values.str.strip() != ""]
    n = len(values)
    if n == 0:
        return False
    distinct = values.nunique()
    return distinct < n and distinct <= max(2, n // 2) and values.str.len().mean() <= 40


def _infer_label(frame: pd.DataFrame, columns: list[str], where: str | None, require: bool) -> str | None:
    named = [c for c in columns if column_key(c) in _LABEL_KEYS]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        if not require:
            return None
        raise ColumnError(_("several columns could hold the label: {candidates}").format(
            candidates=_describe(frame, named)), where=where, hint=_how())
    if not require:
        return None  # a prediction file: guessing a label column from its shape would be a surprise
    shaped = [c for c in columns if _is_label_like(frame[c].head(_SAMPLE))]
    if len(shaped) == 1:
        return shaped[0]
    candidates = shaped or columns
    if not candidates:
        raise ColumnError(_("the file has no column left for the label"), where=where, hint=_how())
    raise ColumnError(_("cannot tell which column holds the label; candidates: {candidates}").format(
        candidates=_describe(frame, candidates)), where=where, hint=_how())


def resolve_columns(
    frame: pd.DataFrame,
    text_column: str | None = None,
    label_column: str | None = None,
    *,
    path: str | None = None,
    require_label: bool = True,
) -> tuple[str, str | None]:
    """Return (text column, label column). The label is None only when `require_label` is False and none is found."""
    where = str(path) if path is not None else None
    columns = _data_columns(frame)
    if not columns:
        raise ColumnError(_("the file has no columns"), where=where,
                          hint=_("the first row must name the columns, e.g. text,label"))
    text = _explicit(frame, text_column, "text", where) if text_column else None
    label = None
    if label_column:
        if require_label:
            label = _explicit(frame, label_column, "label", where)
        else:  # a prediction file may lack the label column; use it when present
            try:
                label = _explicit(frame, label_column, "label", where)
            except ColumnError:
                label = None
    if text is None:
        text = _infer_text(frame, [c for c in columns if c != label and column_key(c) not in _LABEL_KEYS] or [c for c in columns if c != label], where)
    if label is None and (require_label or not label_column):
        label = _infer_label(frame, [c for c in columns if c != text], where, require_label)
    if label is not None and label == text:
        raise ColumnError(_("the text and the label are both column {column}").format(column=repr(text)), where=where,
                          hint=_how())
    return text, label
