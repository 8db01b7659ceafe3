"""The data checks: small functions in two registries, all run, every finding reported at once with its rows.

The table the checks read has one row per input row and the columns
`_role` (train/val/test: which of the user's files), `_file`, `_row`, `_loc` ("train.csv:row 14"),
`raw` (the text as read), `text` (normalised) and `label`.

- A *row check* sees the rows no earlier row check rejected and returns (reasons, issues): a Series of reasons
  indexed by the rows it rejects, and its issues. So each rejected row carries the first reason found.
- A *report check* sees the kept rows and only reports.

Severity: "error" = rows were rejected (or the data cannot train), "warning" = kept but at risk,
"info" = a fact worth knowing. A new check is one decorated function; `tasks=` limits it to the tasks where it
makes sense (class balance means nothing for regression), and a task's own checks live in its module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from domainfit.data.clean import normalize_text
from domainfit.data.pii import DETECTORS, PRIORITY, find_pii
from domainfit.i18n import _
from domainfit.interfaces import serves

__all__ = [
    "REPORT_CHECKS",
    "ROW_CHECKS",
    "CheckContext",
    "DataReport",
    "Issue",
    "run_checks",
    "token_counts",
]


@dataclass
class Issue:
    """One finding: a stable code, a severity, one sentence with counts, every row it concerns, and the fix."""

    code: str
    severity: str  # "error" | "warning" | "info"
    message: str
    where: list[str] = field(default_factory=list)
    hint: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DataReport:
    """What the data layer found: issues, the files read, the columns used, row counts per split and label."""

    issues: list[Issue]
    files: list[dict]
    columns: dict
    counts: dict
    labels: list[str]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    def to_dict(self) -> dict:
        return {
            "issues": [i.to_dict() for i in self.issues],
            "files": [dict(f) for f in self.files],
            "columns": dict(self.columns),
            "counts": self.counts,
            "labels": list(self.labels),
        }


@dataclass(frozen=True)
class CheckContext:
    """What the checks need besides the table."""

    min_per_class: int = 3
    own_val_and_test: bool = False  # the user gave both val and test files: rare classes are only warned about
    drop_leakage: bool = True
    tokenizer: Any = None
    max_length: int = 128
    model_name: str | None = None
    task: Any = None  # the Task (domainfit.tasks); None: classification
    redact: tuple[str, ...] = ()  # the personal-data kinds replaced by placeholders (data.redact)

    @property
    def task_name(self) -> str:
        return getattr(self.task, "name", "classification")


Finding = tuple[pd.Series, list[Issue]]
RowCheck = Callable[[pd.DataFrame, CheckContext], Finding]
ReportCheck = Callable[[pd.DataFrame, CheckContext], list[Issue]]

ROW_CHECKS: dict[str, RowCheck] = {}
"""Row checks in the order they run (dicts keep insertion order)."""
REPORT_CHECKS: dict[str, ReportCheck] = {}


def _register(table: dict, name: str, tasks: set[str] | None) -> Callable:
    def deco(fn):
        fn.tasks = frozenset(tasks) if tasks else None  # task names or targets (Task.targets); None: every task
        table[name] = fn
        return fn

    return deco


def _for_task(table: dict, ctx: CheckContext) -> list[Callable]:
    task = ctx.task if ctx.task is not None else "classification"
    return [c for c in table.values() if c.tasks is None or serves(c, task)]


def row_check(name: str, tasks: set[str] | None = None) -> Callable[[RowCheck], RowCheck]:
    return _register(ROW_CHECKS, name, tasks)


def report_check(name: str, tasks: set[str] | None = None) -> Callable[[ReportCheck], ReportCheck]:
    return _register(REPORT_CHECKS, name, tasks)


# ---------------------------------------------------------------------------------------------------- helpers


def _label_counts(counts: pd.Series, limit: int = 10) -> str:
    items = [f"{label!r} ({n})" for label, n in counts.items()]
    more = _(" and {n} more").format(n=len(items) - limit) if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _none() -> Finding:
    return pd.Series(dtype=object), []


def _short(text: str, n: int = 50) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _model(ctx: CheckContext) -> str:
    return ctx.model_name or _("the model")


# ---------------------------------------------------------------------------------------------------- row checks


def _blank(rows: pd.DataFrame, column: str, code: str, message: Callable[[int], str], hint: str) -> Finding:
    """Rows whose `column` is empty (after normalisation) are rejected with reason `code`; `message(n)` says so."""
    bad = rows[rows[column] == ""]
    if bad.empty:
        return _none()
    issue = Issue(code, "error", message(len(bad)), bad["_loc"].tolist(), hint=hint)
    return pd.Series(code, index=bad.index, dtype=object), [issue]


@row_check("empty_text")
def check_empty_text(rows: pd.DataFrame, ctx: CheckContext) -> Finding:
    def message(n: int) -> str:
        return (_("{n} row has an empty or whitespace-only text; rejected") if n == 1 else
                _("{n} rows have an empty or whitespace-only text; rejected")).format(n=n)

    return _blank(rows, "text", "empty_text", message, _("fill in the text or delete these rows"))


@row_check("missing_label")
def check_missing_label(rows: pd.DataFrame, ctx: CheckContext) -> Finding:
    def message(n: int) -> str:
        return (_("{n} row has no label; rejected") if n == 1 else _("{n} rows have no label; rejected")).format(n=n)

    return _blank(rows, "label", "missing_label", message,
                  _("label these rows or delete them (to label new texts with a trained model use `domainfit predict`)"))


@row_check("invalid_label")
def check_invalid_labels(rows: pd.DataFrame, ctx: CheckContext) -> Finding:
    """Labels the task cannot read (`_label_error`, set by the task's parser): a non-number for regression, ..."""
    bad = rows[rows["_label_error"].notna()] if "_label_error" in rows else rows.iloc[:0]
    if bad.empty:
        return _none()
    def message(group: pd.DataFrame) -> str:
        n = len(group)
        return (_("{n} row has a label the {task} task cannot read, e.g. {example} ({loc}); rejected") if n == 1 else
                _("{n} rows have a label the {task} task cannot read, e.g. {example} ({loc}); rejected")).format(
            n=n, task=ctx.task_name, example=group["_label_error"].iloc[0].partition(": ")[2], loc=group["_loc"].iloc[0])

    issues = [Issue(code, "error", message(group), group["_loc"].tolist(),
                    hint=_("correct these label cells or delete the rows (`domainfit ls tasks` says what each task reads)"))
              for code, group in bad.groupby(bad["_label_error"].str.extract(r"^([a-z_]+)", expand=False), sort=True)]
    return bad["_label_error"].astype(object), issues


@row_check("conflicting_labels", tasks={"label", "labels"})
def check_conflicting_labels(rows: pd.DataFrame, ctx: CheckContext) -> Finding:
    """The same text with different labels within one file: nobody can say which is right, so all copies go."""
    keys = ["_role", "text"]
    n_labels = rows.groupby(keys, sort=False)["label"].transform("nunique")
    bad = rows[n_labels > 1]
    if bad.empty:
        return _none()
    joined = bad.groupby(keys, sort=False)["label"].transform(lambda s: ", ".join(sorted(set(s))))
    examples = []
    for (_role, text), group in list(bad.groupby(keys, sort=False))[:3]:
        parts = ", ".join(_("{label} at {loc}").format(label=repr(lab), loc=loc) for lab, loc in zip(group["label"], group["_loc"]))
        examples.append(_("{text} is {labels}").format(text=repr(_short(text)), labels=parts))
    n_texts = bad.groupby(keys, sort=False).ngroups
    # every conflicting text has at least 2 rows, so the row count is always plural
    issue = Issue(
        "conflicting_labels",
        "error",
        (_("{n} text appears with different labels ({rows} rows); all their rows were rejected") if n_texts == 1 else
         _("{n} texts appear with different labels ({rows} rows); all their rows were rejected")).format(
            n=n_texts, rows=len(bad)),
        bad["_loc"].tolist(),
        hint=_("decide the right label and fix the file; for example {examples}").format(examples="; ".join(examples)),
    )
    return ("conflicting_labels: " + joined).astype(object), [issue]


@row_check("duplicate")
def check_duplicates(rows: pd.DataFrame, ctx: CheckContext) -> Finding:
    """Repeats in training data are dropped; a user's own val/test file is scored as given (a warning only),
    so published test sets keep their official size."""
    keys = ["_role", "text", "label"]
    dup = rows.duplicated(keys, keep="first")
    if not dup.any():
        return _none()
    first = rows.groupby(keys, sort=False)["_loc"].transform("first")
    held = dup & rows["_role"].isin(["val", "test"])
    dup = dup & ~held
    issues = []
    if held.any():
        n = int(held.sum())
        issues.append(Issue(
            "duplicate",
            "warning",
            (_("{n} row repeats an earlier row of your own evaluation file (same text and label); "
               "kept, so the file is scored as given") if n == 1 else
             _("{n} rows repeat an earlier row of your own evaluation file (same text and label); "
               "kept, so the file is scored as given")).format(n=n),
            rows.loc[held, "_loc"].tolist(),
            hint=_("remove the repeats if they are mistakes: each repeat counts again in the score"),
        ))  # fmt: skip
    if not dup.any():
        return _none()[0], issues
    bad = rows[dup]
    issues.insert(0, Issue(
        "duplicate",
        "error",
        (_("{n} row repeats an earlier row (same text and label); the first copy was kept, the repeats rejected")
         if len(bad) == 1 else
         _("{n} rows repeat an earlier row (same text and label); the first copy was kept, the repeats rejected")).format(
            n=len(bad)),
        bad["_loc"].tolist(),
        hint=_("nothing to do unless the repeats are meant to weigh more; then keep them in a separate file"),
    ))  # fmt: skip
    return ("duplicate of " + first[dup]).astype(object), issues


@row_check("leakage")
def check_leakage(rows: pd.DataFrame, ctx: CheckContext) -> Finding:
    """A text in the user's test (or val) file must not be trained on: it would make the score look better."""
    reasons: dict[Any, str] = {}
    issues: list[Issue] = []
    for held_out, earlier in (("test", ("train", "val")), ("val", ("train",))):
        held = rows[(rows["_role"] == held_out) & ~rows.index.isin(list(reasons))]
        if held.empty:
            continue
        first_loc = held.drop_duplicates("text").set_index("text")["_loc"]
        hit = rows[rows["_role"].isin(earlier) & rows["text"].isin(first_loc.index) & ~rows.index.isin(list(reasons))]
        if hit.empty:
            continue
        files = ", ".join(dict.fromkeys(hit["_file"]))
        held_file = ", ".join(dict.fromkeys(held["_file"]))
        n = len(hit)
        if ctx.drop_leakage:
            reasons.update(("leakage: " + hit["text"].map(first_loc).map(lambda loc: _("also in {loc}").format(loc=loc))).items())
            issues.append(Issue(
                "leakage",
                "error",
                (_("{n} row of {files} also appear in the {held_out} file {held_file}; "
                   "rejected so the {held_out} score is honest") if n == 1 else
                 _("{n} rows of {files} also appear in the {held_out} file {held_file}; "
                   "rejected so the {held_out} score is honest")).format(n=n, files=files, held_out=held_out,
                                                                          held_file=held_file),
                hit["_loc"].tolist(),
                hint=_("remove them from {files}, or set data.drop_leakage: false to keep them (and an optimistic "
                       "score)").format(files=files),
            ))  # fmt: skip
        else:
            issues.append(Issue(
                "leakage",
                "warning",
                (_("{n} row of {files} also appear in the {held_out} file {held_file}; "
                   "the {held_out} score will be optimistic") if n == 1 else
                 _("{n} rows of {files} also appear in the {held_out} file {held_file}; "
                   "the {held_out} score will be optimistic")).format(n=n, files=files, held_out=held_out,
                                                                       held_file=held_file),
                hit["_loc"].tolist(),
                hint=_("set data.drop_leakage: true, or remove them from the training file"),
            ))  # fmt: skip
    return pd.Series(reasons, dtype=object), issues


@row_check("rare_class", tasks={"label"})
def check_rare_classes(rows: pd.DataFrame, ctx: CheckContext) -> Finding:
    train = rows[rows["_role"] == "train"]
    counts = train["label"].value_counts()
    rare = counts[counts < ctx.min_per_class].sort_index()
    if rare.empty:
        return _none()
    bad = train[train["label"].isin(rare.index)]
    head = (_("{n} class has fewer than min_per_class={min} training rows: {labels}") if len(rare) == 1 else
            _("{n} classes have fewer than min_per_class={min} training rows: {labels}")).format(
        n=len(rare), min=ctx.min_per_class, labels=_label_counts(rare))
    if ctx.own_val_and_test:
        issue = Issue("rare_class", "warning", head + _("; the model will hardly learn them"), bad["_loc"].tolist(),
                      hint=_("add training examples of these classes"))  # fmt: skip
        return pd.Series(dtype=object), [issue]
    tail = (_("; their {n} row were rejected (such a class cannot be split into train, validation and test)")
            if len(bad) == 1 else
            _("; their {n} rows were rejected (such a class cannot be split into train, validation and test)")).format(
        n=len(bad))
    issue = Issue(
        "rare_class",
        "error",
        head + tail,
        bad["_loc"].tolist(),
        hint=_("add examples of these classes, merge them into a related class, or lower data.min_per_class"),
    )
    def reason(n: int) -> str:
        return "rare_class: " + (_("only {n} row; need min_per_class={min}") if n == 1 else
                                 _("only {n} rows; need min_per_class={min}")).format(n=n, min=ctx.min_per_class)

    reasons = bad["label"].map(lambda lab: reason(int(counts[lab])))
    return reasons.astype(object), [issue]


@row_check("unseen_label", tasks={"label", "labels"})
def check_unseen_labels(rows: pd.DataFrame, ctx: CheckContext) -> Finding:
    """Held-out rows with a label no training row has (any of their labels, for multi-label rows)."""
    label_set = ctx.task.label_set if ctx.task is not None else lambda labels: sorted(set(labels))
    known = set(label_set(rows.loc[rows["_role"] == "train", "label"]))
    held = rows[rows["_role"] != "train"]
    unseen = held["label"].map(lambda y: ", ".join(lab for lab in label_set([y]) if lab not in known))
    bad, unseen = held[unseen != ""], unseen[unseen != ""]
    if bad.empty:
        return _none()
    files = ", ".join(dict.fromkeys(bad["_file"]))
    issue = Issue(
        "unseen_label",
        "error",
        (_("{n} row of {files} have labels with no training rows: {labels}; the model cannot predict them, "
           "so they were rejected") if len(bad) == 1 else
         _("{n} rows of {files} have labels with no training rows: {labels}; the model cannot predict them, "
           "so they were rejected")).format(n=len(bad), files=files, labels=_label_counts(unseen.value_counts().sort_index())),
        bad["_loc"].tolist(),
        hint=_("add training rows with these labels, or correct or remove these rows"),
    )
    reasons = unseen.map(lambda lab: "unseen_label: " + _("{label} has no training rows").format(label=repr(lab)))
    return reasons.astype(object), [issue]


# ---------------------------------------------------------------------------------------------------- report checks


@report_check("replacement_characters")
def check_replacement_characters(kept: pd.DataFrame, ctx: CheckContext) -> list[Issue]:
    bad = kept[kept["raw"].str.contains("\ufffd", regex=False)]
    if bad.empty:
        return []
    return [Issue(
        "encoding",
        "warning",
        (_("{n} row has a text holding U+FFFD (\ufffd), the mark of characters lost when the file "
           "was converted between encodings earlier") if len(bad) == 1 else
         _("{n} rows have a text holding U+FFFD (\ufffd), the mark of characters lost when the file "
           "was converted between encodings earlier")).format(n=len(bad)),
        bad["_loc"].tolist(),
        hint=_("export the data again as UTF-8 from the original system"),
    )]  # fmt: skip


@report_check("personal_data")
def check_personal_data(kept: pd.DataFrame, ctx: CheckContext) -> list[Issue]:
    """Personal data in the texts: counted per kind; what `data.redact` replaces is reported as done, the rest as a
    warning. Values are never shown, only where they are."""
    kinds = [k for k in PRIORITY if k in DETECTORS]
    found = [{f.kind for f in find_pii(normalize_text(t), kinds)} for t in kept["raw"]]
    issues = []
    for done in (True, False):
        chosen = [k for k in kinds if (k in ctx.redact) == done]
        rows = [i for i, present in enumerate(found) if present & set(chosen)]
        if not rows:
            continue
        counts = Counter(k for present in found for k in present if k in chosen)
        listed = ", ".join(f"{k} {counts[k]}" for k in chosen if counts[k])
        where = kept["_loc"].iloc[rows].tolist()
        n = len(rows)
        if done:
            message = (_("{n} row held personal data, replaced by placeholders ([PHONE], [NAME], ...) before training: "
                         "{listed}") if n == 1 else
                       _("{n} rows held personal data, replaced by placeholders ([PHONE], [NAME], ...) before training: "
                         "{listed}")).format(n=n, listed=listed)
            issues.append(Issue("personal_data_redacted", "info", message, where))
        else:
            message = (_("{n} row holds personal data ({listed}, rows counted per kind) that will be in the bundle's "
                         "data/ files and the model's training") if n == 1 else
                       _("{n} rows hold personal data ({listed}, rows counted per kind) that will be in the bundle's "
                         "data/ files and the model's training")).format(n=n, listed=listed)
            issues.append(Issue("personal_data", "warning", message, where,
                                hint=_("set data.redact: true (or `--set data.redact=true`) to replace it by placeholders "
                                       "in training, evaluation, prediction and logs; `domainfit data redact` writes a "
                                       "redacted copy")))
    return issues


def token_counts(texts: list[str], tokenizer: Any, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Tokens per text (with special tokens, no truncation) and [UNK] tokens per text."""
    unk = getattr(tokenizer, "unk_token_id", None)
    n_tokens, n_unk = [], []
    for start in range(0, len(texts), batch_size):
        ids = tokenizer(texts[start : start + batch_size], add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        n_tokens.extend(len(x) for x in ids)
        n_unk.extend((x.count(unk) if unk is not None else 0) for x in ids)
    return np.asarray(n_tokens, dtype=np.int64), np.asarray(n_unk, dtype=np.int64)


def run_checks(rows: pd.DataFrame, ctx: CheckContext) -> tuple[pd.DataFrame, list[Issue]]:
    """Run every check; return the table with a `reason` column (None where kept) and all issues, in check order.

    The kept rows also gain `_n_tokens` / `_n_unk` when a tokenizer is given (NaN on rejected rows).
    """
    rows = rows.copy()
    rows["reason"] = pd.Series([None] * len(rows), index=rows.index, dtype=object)
    issues: list[Issue] = []
    for check in _for_task(ROW_CHECKS, ctx):
        kept = rows[rows["reason"].isna()]
        if kept.empty:
            break
        reasons, found = check(kept, ctx)
        if len(reasons):
            rows.loc[reasons.index, "reason"] = reasons
        issues.extend(found)
    kept = rows[rows["reason"].isna()].copy()
    if ctx.tokenizer is not None and not kept.empty:
        n_tokens, n_unk = token_counts(kept["text"].tolist(), ctx.tokenizer)
        kept["_n_tokens"], kept["_n_unk"] = n_tokens, n_unk
        rows["_n_tokens"], rows["_n_unk"] = kept["_n_tokens"], kept["_n_unk"]
    for check in _for_task(REPORT_CHECKS, ctx):
        issues.extend(check(kept, ctx))
    return rows, issues

