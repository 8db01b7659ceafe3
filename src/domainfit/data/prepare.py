"""The data pipeline end to end: read -> columns -> clean -> parse targets -> checks (rejects) -> split, and its report.

Rows the reader cannot read (a line in another encoding, a broken JSON line, more cells than the header) are
rejected like the rows a check rejects: in rejects.csv with their reason, and counted (rows in = kept + rejected).

The task (`domainfit.tasks`) reads the label cells (`parse_target`: a class, a label list, a number), chooses the
split's strata and summarises the targets; the checks that only make sense for some tasks say so.

Pure apart from reading the input files: nothing is written here (`write_rejects` is the one writer, called
by the CLI). `check_data` runs exactly the same pipeline and returns only the report.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from domainfit.config.schema import DataConfig
from domainfit.data.checks import CheckContext, DataReport, Issue, run_checks
from domainfit.data.clean import make_cleaner
from domainfit.data.columns import resolve_columns
from domainfit.data.io import ReadResult, read_problems, read_table
from domainfit.data.pii import Redactor
from domainfit.data.split import split_data
from domainfit.data.token_checks import token_summary
from domainfit.errors import EmptyDataError
from domainfit.i18n import _
from domainfit.interfaces import make_task

__all__ = ["OUTPUT_COLUMNS", "REJECT_COLUMNS", "PreparedData", "check_data", "prepare_data", "write_rejects"]

OUTPUT_COLUMNS = ["text", "label", "_file", "_row"]
REJECT_COLUMNS = ["_file", "_row", "text", "label", "reason"]
SPLITS = ("train", "val", "test")
_ENCODING_NOTES = {"gb18030": "GBK-compatible", "utf-8-sig": "UTF-8 with a byte-order mark", "utf-16": "with a byte-order mark"}


@dataclass
class PreparedData:
    """The splits ready to encode (text normalised), the rejected rows (text as read) and the report."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    rejects: pd.DataFrame
    report: DataReport
    labels: list[str]


def _rows_of(role: str, read: ReadResult, text_col: str, label_col: str, clean: Any) -> pd.DataFrame:
    frame = read.frame
    unit = read.unit
    raw = frame[text_col].astype(str)
    return pd.DataFrame(
        {
            "_role": role,
            "_file": frame["_file"].astype(str),
            "_row": frame["_row"].astype("int64"),
            "_loc": frame["_file"].astype(str) + f":{unit} " + frame["_row"].astype(str),
            "raw": raw,
            "text": raw.map(clean).astype(str),
            "raw_label": frame[label_col].astype(str),
            "label": frame[label_col].astype(str).str.strip(),
        }
    )


def _unreadable_rows(role: str, read: ReadResult, text_col: str, label_col: str) -> pd.DataFrame:
    """The rows the reader could not read, as rejected rows: the text cell where the row could be split into cells
    and only its encoding was wrong (decoded as it seems to be), else the row as it stands in the file."""
    rej = read.rejects
    code = rej["_reason"].astype(str).str.extract(r"^([a-z_]+)", expand=False)
    cell = rej[text_col].astype(str) if text_col in rej else pd.Series("", index=rej.index)
    raw = cell.where(code.isin(["encoding", "binary"]) & (cell != ""), rej["_raw"].astype(str))
    label = rej[label_col].astype(str) if label_col in rej else pd.Series("", index=rej.index)
    return pd.DataFrame({
        "_role": role,
        "_file": rej["_file"].astype(str),
        "_row": rej["_row"].astype("int64"),
        "_loc": rej["_file"].astype(str) + f":{read.unit} " + rej["_row"].astype(str),
        "raw": raw,
        "text": raw,
        "raw_label": label,
        "label": label.str.strip(),
        "reason": rej["_reason"].astype(object),
    })  # fmt: skip


def _read_issues(reads: dict[str, ReadResult]) -> list[Issue]:
    """One error per file and kind of row that could not be read, with every such row."""
    issues = []
    for read in reads.values():
        rej = read.rejects
        if rej.empty:
            continue
        codes = rej["_reason"].astype(str).map(_reason_code)
        for code, group in rej.groupby(codes, sort=True):
            what, hint = read_problems().get(str(code), ("unreadable", "fix or delete these rows"))
            n, shown = len(group), str(group["_file"].iloc[0])
            example = str(group["_reason"].iloc[0]).partition(": ")[2]
            read_as = _("; the file was read as {encoding}").format(encoding=read.encoding) if code == "encoding" else ""
            if read.unit == "line":
                message = (_("{n} line of {file} cannot be read ({what}{read_as}) and was rejected, e.g. {example}") if n == 1
                           else _("{n} lines of {file} cannot be read ({what}{read_as}) and were rejected, e.g. {example}")
                           ).format(n=n, file=shown, what=what, read_as=read_as, example=example)
            else:
                message = (_("{n} row of {file} cannot be read ({what}{read_as}) and was rejected, e.g. {example}") if n == 1
                           else _("{n} rows of {file} cannot be read ({what}{read_as}) and were rejected, e.g. {example}")
                           ).format(n=n, file=shown, what=what, read_as=read_as, example=example)
            issues.append(Issue(
                str(code),
                "error",
                message,
                (group["_file"].astype(str) + f":{read.unit} " + group["_row"].astype(str)).tolist(),
                hint=hint,
            ))  # fmt: skip
    return issues


def _parse_targets(rows: pd.DataFrame, task: Any) -> pd.DataFrame:
    """`label` becomes the task's canonical target; a cell the task cannot read keeps its text and gets
    `_label_error` (the `invalid_label` check rejects the row with that reason)."""

    def parse(value: str) -> tuple[str, str | None]:
        if not value:
            return value, None  # the missing_label check reports it
        try:
            return task.parse_target(value), None
        except ValueError as exc:
            return value, str(exc)

    parsed = [parse(v) for v in rows["label"]]
    return rows.assign(label=[p[0] for p in parsed], _label_error=pd.Series([p[1] for p in parsed], index=rows.index, dtype=object))


def _file_issues(reads: list[tuple[str, ReadResult]], text_col: str, label_col: str, cfg: DataConfig) -> list[Issue]:
    issues = []
    for shown, read in reads:
        if read.encoding is not None and read.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            note = _ENCODING_NOTES.get(read.encoding)
            issues.append(Issue("encoding", "info", f"read {shown} as {read.encoding}" + (f" ({note})" if note else ""), [shown]))
    if cfg.text_column is None or cfg.label_column is None:
        issues.append(Issue(
            "columns",
            "info",
            _("using column {text} as the text and {label} as the label (inferred)").format(text=repr(text_col),
                                                                                             label=repr(label_col)),
            [str(cfg.train)],
            hint=_("pass --text COLUMN --label COLUMN (data.text_column / data.label_column) to choose others"),
        ))  # fmt: skip
    return issues


def _reason_code(reason: str) -> str:
    match = re.match(r"[a-z_]+", reason)
    return match.group(0) if match else reason


def _by_reason(rejected: pd.DataFrame) -> dict[str, int]:
    return {k: int(v) for k, v in rejected["reason"].map(_reason_code).value_counts().sort_index().items()}


def _out(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[OUTPUT_COLUMNS].reset_index(drop=True)
    return out.astype({"text": str, "label": str, "_file": str, "_row": "int64"})


def _usable_or_raise(rows: pd.DataFrame, splits: dict[str, pd.DataFrame] | None, report: DataReport, cfg: DataConfig,
                     task: Any) -> None:
    """EmptyDataError, carrying the report, when nothing trainable remains."""

    def fail(message: str, where: str, hint: str) -> None:
        err = EmptyDataError(message, where=where, hint=hint)
        err.report = report  # type: ignore[attr-defined]  # so `domainfit check` can still print every finding
        raise err

    hint = _("fix the rows listed in the report (or the rejects file) and run again")
    for role in SPLITS:
        mine = rows[rows["_role"] == role]
        if role != "train" and mine.empty and getattr(cfg, role) is None:
            continue
        shown = str(getattr(cfg, role))
        if mine.empty:
            fail(_("the {role} file has no data rows").format(role=role), shown,
                 _("the file must have a header row and at least one row below it"))
        kept = mine[mine["reason"].isna()]
        if kept.empty:
            reasons = ", ".join(f"{n} {code}" for code, n in _by_reason(mine).items())
            fail(_("no usable rows: all {n} rows of the {role} file were rejected ({reasons})").format(
                n=len(mine), role=role, reasons=reasons), shown, hint)
    train_labels = rows.loc[(rows["_role"] == "train") & rows["reason"].isna(), "label"].value_counts()
    if len(train_labels) < 2:
        only = ", ".join(_("{label} ({n} rows)").format(label=repr(lab), n=n) for lab, n in train_labels.items())
        fail(
            _("only {n} label remains after the checks: {only}; a {task} model needs at least 2 different ones").format(
                n=len(train_labels), only=only, task=task.name),
            str(cfg.train),
            _("check that the label column ({column}) is the right one (--label COLUMN), and add rows of the other "
              "labels (values)").format(column=repr(report.columns.get("label"))),
        )
    for name, frame in (splits or {}).items():
        if frame.empty:
            fail(
                _("the {split} split is empty: the classes are too small to split ({rows} rows kept over {labels} "
                  "labels)").format(split=name, rows=len(rows[rows["reason"].isna()]), labels=len(train_labels)),
                str(cfg.train),
                _("add rows, raise data.min_per_class to 3 or more, or give your own --val/--test files"),
            )


def prepare_data(cfg: DataConfig, *, task: Any = None, tokenizer: Any = None, max_length: int = 128,
                 model_name: str | None = None) -> PreparedData:
    """Read, check, clean and split the data described by `cfg` for `task` (a Task; default classification).
    Raises DataError (or a subclass) for what cannot be used."""
    task = task if task is not None else make_task("classification")
    paths = {role: getattr(cfg, role) for role in SPLITS if getattr(cfg, role) is not None}
    reads = {role: read_table(p, encoding=cfg.encoding, delimiter=cfg.delimiter, sheet=cfg.sheet, bad_rows="reject")
             for role, p in paths.items()}
    text_col, label_col = resolve_columns(reads["train"].frame, cfg.text_column, cfg.label_column, path=str(cfg.train))
    assert label_col is not None  # require_label=True
    for role in ("val", "test"):
        if role in reads:  # the user's own val/test files must use the same column names
            resolve_columns(reads[role].frame, text_col, label_col, path=str(paths[role]))

    clean = make_cleaner(cfg.normalize, cfg.redact)
    rows = pd.concat([_rows_of(role, reads[role], text_col, label_col, clean) for role in reads], ignore_index=True)
    rows = _parse_targets(rows, task)
    if model_name is None and tokenizer is not None:
        model_name = getattr(tokenizer, "name_or_path", None)
    ctx = CheckContext(
        min_per_class=cfg.min_per_class,
        own_val_and_test=cfg.val is not None and cfg.test is not None,
        drop_leakage=cfg.drop_leakage,
        tokenizer=tokenizer,
        max_length=max_length,
        model_name=model_name,
        task=task,
        redact=Redactor(cfg.redact).kinds,
    )
    rows, found = run_checks(rows, ctx)
    unreadable = [_unreadable_rows(role, reads[role], text_col, label_col) for role in reads if len(reads[role].rejects)]
    if unreadable:  # after the checks, which judge only the rows that could be read
        rows = pd.concat([rows, *unreadable], ignore_index=True)
    issues = _file_issues([(str(paths[r]), reads[r]) for r in reads], text_col, label_col, cfg) + _read_issues(reads) + found

    kept, rejected = rows[rows["reason"].isna()], rows[rows["reason"].notna()]
    splits = None
    pool = kept[kept["_role"] == "train"]
    if not pool.empty:
        pool = pool.assign(_stratum=task.strata(pool["label"]))
        splits = split_data(
            pool,
            test_size=cfg.test_size,
            val_size=cfg.val_size,
            seed=cfg.seed,
            val=kept[kept["_role"] == "val"] if cfg.val is not None else None,
            test=kept[kept["_role"] == "test"] if cfg.test is not None else None,
            label="_stratum",
        )
    labels = task.label_set(kept["label"])
    report = DataReport(
        issues=issues,
        files=[_file_entry(role, str(paths[role]), reads[role], rows) for role in reads],
        columns={"text": text_col, "label": label_col},
        counts=_counts(rows, kept, rejected, splits, ctx, task),
        labels=labels,
    )
    _usable_or_raise(rows, splits, report, cfg, task)
    assert splits is not None
    order = rejected.assign(_rank=rejected["_role"].map(SPLITS.index)).sort_values(["_rank", "_row"], kind="stable")
    rejects = order[["_file", "_row", "raw", "raw_label", "reason"]].rename(columns={"raw": "text", "raw_label": "label"})
    if cfg.redact:  # rejects.csv must not hold what the bundle does not: the row number finds the original
        rejects["text"] = rejects["text"].map(Redactor(cfg.redact))
    rejects = rejects.reset_index(drop=True)
    return PreparedData(
        train=_out(splits["train"]),
        val=_out(splits["val"]),
        test=_out(splits["test"]),
        rejects=rejects.astype({"_file": str, "_row": "int64", "text": str, "label": str, "reason": str}),
        report=report,
        labels=labels,
    )


def _file_entry(role: str, shown: str, read: ReadResult, rows: pd.DataFrame) -> dict:
    mine = rows[rows["_role"] == role]
    kept = int(mine["reason"].isna().sum())
    return {
        "path": shown,
        "role": role,
        "format": read.format,
        "encoding": read.encoding,
        "delimiter": read.delimiter,
        "rows": len(mine),
        "rows_kept": kept,
        "rows_rejected": len(mine) - kept,
    }


def _counts(rows: pd.DataFrame, kept: pd.DataFrame, rejected: pd.DataFrame, splits: dict | None, ctx: CheckContext,
            task: Any) -> dict:
    splits = splits or {name: kept.iloc[:0] for name in SPLITS}
    counts: dict[str, Any] = {
        "rows_in": len(rows),
        "rows_kept": len(kept),
        "rows_rejected": len(rejected),
        **{name: len(splits[name]) for name in SPLITS},
        # rows per label (per label of the lists, for multi-label); the value statistics for regression
        "per_label": {name: task.target_summary(splits[name]["label"].tolist()) for name in SPLITS},
        "rejected_by_reason": _by_reason(rejected),
    }
    tokens = token_summary(kept, ctx)
    if tokens is not None:
        counts["tokens"] = tokens
    return counts


def check_data(cfg: DataConfig, *, task: Any = None, tokenizer: Any = None, max_length: int = 128,
               model_name: str | None = None) -> DataReport:
    """The report `prepare_data` would give (counts as if split), writing nothing."""
    return prepare_data(cfg, task=task, tokenizer=tokenizer, max_length=max_length, model_name=model_name).report


def write_rejects(rejects: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the rejected rows as CSV in utf-8-sig (Excel opens Chinese text correctly); written even when empty."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = rejects if len(rejects.columns) else pd.DataFrame(columns=REJECT_COLUMNS)
    frame.to_csv(path, index=False, encoding="utf-8-sig")
