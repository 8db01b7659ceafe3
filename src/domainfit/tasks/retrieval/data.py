"""Retrieval data: the pairs table (query + answer text, or query + answer id) and the answer bank, read and checked.

Two input shapes:
  - one table of (query, answer text): the bank is every distinct answer, with ids a1, a2, ... in order of first
    appearance (by file and row);
  - a table of (query, answer id) plus `data.answers`, a table of (id, answer text): the bank is that file. An
    answer cell may then hold an id or the exact text of a bank answer.
A query with no answer in the bank (out of scope) holds `task_options.no_answer_marker`: never trained on, used to
calibrate and measure the no-answer threshold.

The pairs go through the shared pipeline (`domainfit.data.prepare_data`: read, clean, parse, every check, rejects
with file/row/reason, seeded split), with the answer cell as the target the task parses; this module adds the
column inference for pairs, the bank (its own rejects: missing id, empty answer, repeated id) and the bank's checks.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from domainfit.config.schema import DataConfig
from domainfit.data import DataReport, Issue, prepare_data, read_table, resolve_columns
from domainfit.data.checks import CheckContext, report_check
from domainfit.data.columns import column_key
from domainfit.data.token_checks import check_truncation, token_counts
from domainfit.errors import ColumnError, EmptyDataError
from domainfit.evaluation.assess import load_eval_rows
from domainfit.i18n import _

__all__ = ["RetrievalData", "bank_columns", "collapse", "pair_columns", "prepare_pairs", "read_answer_bank", "read_eval_pairs"]

ANSWER_NAMES = (
    "answer", "answers", "answer_text", "response", "reply", "answer_id", "faq_id", "faq", "doc_id", "document_id",
    "document", "doc", "passage", "label", "intent", "category", "答案", "回答", "回复", "答复",
)  # fmt: skip
BANK_ID_NAMES = ("id", "answer_id", "faq_id", "doc_id", "document_id", "key", "label", "intent", "category", "name", "编号", "标签")
BANK_TEXT_NAMES = (
    "answer", "answer_text", "text", "response", "reply", "content", "body", "document", "passage", "description",
    "答案", "回答", "内容",
)  # fmt: skip
BANK_COLUMNS = ["id", "answer", "_file", "_row"]


@dataclass
class RetrievalData:
    """The splits (text = query, label = answer id or the no-answer marker), rejects, report and the answer bank."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    rejects: pd.DataFrame
    report: DataReport
    bank: pd.DataFrame  # id, answer, _file, _row

    @property
    def labels(self) -> list[str]:
        return self.bank["id"].tolist()



def collapse(text: str) -> str:
    """An answer cell as compared: whitespace collapsed, ends stripped."""
    return " ".join(str(text).split())

def _named(columns: list[str], names: tuple[str, ...]) -> str | None:
    keys = {column_key(c): c for c in columns}
    return next((keys[column_key(n)] for n in names if column_key(n) in keys), None)


def _explicit(columns: list[str], name: str, what: str, where: str, how: str) -> str:
    if name in columns:
        return name
    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    guess = _(" Did you mean {name}?").format(name=repr(close[0])) if close else ""
    raise ColumnError(_("no {role} column {name}.{guess} The file has: {columns}").format(
        role=what, name=repr(name), guess=guess, columns=", ".join(map(repr, columns))), where=where, hint=how)


def pair_columns(frame: pd.DataFrame, query_column: str | None, answer_column: str | None, *, path: str) -> tuple[str, str]:
    """(query column, answer column) of a pairs table: given names, else well-known ones (query/question/text...;
    answer/answer_id/document...)."""
    columns = [c for c in frame.columns if c not in ("_file", "_row")]
    how = _("pass --text QUERY_COLUMN --label ANSWER_COLUMN (data.text_column / data.label_column)")
    if answer_column:
        answer = _explicit(columns, answer_column, _("answer"), path, how)
    else:
        answer = _named([c for c in columns if c != query_column], ANSWER_NAMES)
        if answer is None:
            raise ColumnError(_("cannot tell which column holds the answer (or answer id); the file has: {columns}").format(
                columns=", ".join(map(repr, columns))), where=path, hint=how)
    query, _answer = resolve_columns(frame, query_column, answer, path=path)
    return query, answer


def bank_columns(frame: pd.DataFrame, id_column: str | None, text_column: str | None, *, path: str) -> tuple[str, str]:
    """(id column, answer text column) of the answer bank."""
    columns = [c for c in frame.columns if c not in ("_file", "_row")]
    how = _("name them with task_options.answers_id_column and task_options.answers_text_column")
    ident = _explicit(columns, id_column, _("answer id"), path, how) if id_column else _named(columns, BANK_ID_NAMES)
    rest = [c for c in columns if c != ident]
    text = _explicit(columns, text_column, _("answer text"), path, how) if text_column else _named(rest, BANK_TEXT_NAMES)
    if ident is None or text is None or ident == text:
        raise ColumnError(_("cannot tell which columns of the answer bank hold the id and the answer text; the file has: "
                            "{columns}").format(columns=", ".join(map(repr, columns))), where=path, hint=how)
    return ident, text


def read_answer_bank(path: str | Path, *, id_column: str | None = None, text_column: str | None = None,
                     encoding: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[Issue], dict]:
    """(bank: id, answer, _file, _row; rejected rows with their reason; issues; the file's entry for the report).
    Rejected: an empty id (`missing_id`), an empty answer (`empty_answer`), an id seen on an earlier row
    (`duplicate_id`). Answer texts repeated under several ids are kept, with a warning."""
    read = read_table(path, encoding=encoding)
    shown = str(path)
    ident, text = bank_columns(read.frame, id_column, text_column, path=shown)
    frame = read.frame
    unit = "line" if read.format == "jsonl" else "row"
    bank = pd.DataFrame({"id": frame[ident].map(collapse), "answer": frame[text].map(collapse),
                         "_file": frame["_file"].astype(str), "_row": frame["_row"].astype("int64")})
    loc = bank["_file"] + f":{unit} " + bank["_row"].astype(str)
    first = loc.groupby(bank["id"]).transform("first")
    reason = pd.Series("", index=bank.index, dtype=object)
    reason[bank["id"].duplicated() & (bank["id"] != "")] = "duplicate_id: the id is already used at " + first
    reason[bank["answer"] == ""] = "empty_answer"
    reason[bank["id"] == ""] = "missing_id"
    issues = []
    fixes = {"missing_id": _("give every answer an id"), "empty_answer": _("fill in the answer text or delete the row"),
             "duplicate_id": _("give each answer its own id; the first row with an id was kept")}
    what = {"missing_id": _("missing id"), "empty_answer": _("empty answer"), "duplicate_id": _("duplicate id")}
    for code, fix in fixes.items():
        bad = reason.str.startswith(code)
        if bad.any():
            issues.append(Issue(code, "error", _("answer bank: {count} row(s) with {what}; rejected").format(
                count=int(bad.sum()), what=what[code]), loc[bad].tolist(), hint=fix))
    kept = bank[reason == ""]
    repeated = kept[kept["answer"].duplicated(keep=False)]
    if len(repeated):
        issues.append(Issue("duplicate_answer", "warning",
                            _("answer bank: {count} answers share their text with another id; a query cannot tell them "
                              "apart").format(count=len(repeated)),
                            loc[repeated.index].tolist(), hint=_("merge these answers into one id, or make their texts differ")))
    rejects = pd.DataFrame({"_file": bank["_file"], "_row": bank["_row"], "text": frame[text].astype(str),
                            "label": frame[ident].astype(str), "reason": reason})[reason != ""]
    if len(kept) < 2:
        raise EmptyDataError(_("the answer bank has {n} usable answer(s); retrieval needs at least 2").format(n=len(kept)),
                             where=shown,
                             hint=_("check the id and answer columns (task_options.answers_id_column / answers_text_column)"))
    entry = {"path": shown, "role": "answers", "format": read.format, "encoding": read.encoding, "delimiter": read.delimiter,
             "rows": len(bank), "rows_kept": len(kept), "rows_rejected": len(bank) - len(kept)}
    return kept.reset_index(drop=True), rejects.reset_index(drop=True), issues, entry


def _bank_from_pairs(splits: list[pd.DataFrame], marker: str) -> pd.DataFrame:
    """The bank of a (query, answer text) table: every distinct answer, ids a1, a2, ... by first appearance."""
    rows = pd.concat(splits, ignore_index=True).sort_values(["_file", "_row"], kind="stable")
    rows = rows[rows["label"] != marker].drop_duplicates("label")
    return pd.DataFrame({"id": [f"a{i + 1}" for i in range(len(rows))], "answer": rows["label"].tolist(),
                         "_file": rows["_file"].tolist(), "_row": rows["_row"].tolist()})


def _answer_truncation(bank: pd.DataFrame, tokenizer, max_length: int, model_name: str | None) -> list[Issue]:
    if tokenizer is None or bank.empty:
        return []
    n_tokens, _lengths = token_counts(bank["answer"].tolist(), tokenizer)
    frame = pd.DataFrame({"_n_tokens": n_tokens, "_loc": (bank["_file"] + ":row " + bank["_row"].astype(str)).tolist()})
    ctx = CheckContext(tokenizer=tokenizer, max_length=max_length, model_name=model_name)
    return [Issue("answer_truncation", i.severity, _("answer bank: ") + i.message.replace("texts", "answers", 1), i.where, i.hint)
            for i in check_truncation(frame, ctx)]


@report_check("conflicting_answers", tasks={"retrieval"})
def check_conflicting_answers(kept: pd.DataFrame, ctx: CheckContext) -> list[Issue]:
    """The same query with several answers: kept (both may be right), but recall@1 cannot count both."""
    labelled = kept[kept["label"] != getattr(ctx.task.options, "no_answer_marker", None)]
    n_answers = labelled.groupby("text")["label"].transform("nunique")
    bad = labelled[n_answers > 1]
    if bad.empty:
        return []
    return [Issue("conflicting_answers", "warning",
                  f"{bad['text'].nunique()} queries have more than one answer ({len(bad)} rows); recall@1 counts only one per row",
                  bad["_loc"].tolist(), hint="keep one answer per query if the others are mistakes")]


def prepare_pairs(cfg: DataConfig, *, task, tokenizer=None, max_length: int = 128, model_name: str | None = None) -> RetrievalData:
    """Read, check and split the pairs (and the bank); every problem at once in the report, rejected rows with their
    file, row and reason. Binds `task` to the bank."""
    bank_rejects = pd.DataFrame(columns=["_file", "_row", "text", "label", "reason"])
    bank_issues: list[Issue] = []
    bank_entry = None
    bank = None
    if cfg.answers is not None:
        opts = task.options
        bank, bank_rejects, bank_issues, bank_entry = read_answer_bank(
            cfg.answers, id_column=opts.answers_id_column, text_column=opts.answers_text_column, encoding=cfg.encoding)
        task.bind(dict(zip(bank["id"], bank["answer"])))
    # only the columns are read here; unreadable rows reach rejects.csv through prepare_data, as for every task
    first = read_table(cfg.train, encoding=cfg.encoding, delimiter=cfg.delimiter, sheet=cfg.sheet, bad_rows="reject")
    query, answer = pair_columns(first.frame, cfg.text_column, cfg.label_column, path=str(cfg.train))
    data = prepare_data(cfg.model_copy(update={"text_column": query, "label_column": answer}), task=task,
                        tokenizer=tokenizer, max_length=max_length, model_name=model_name)
    marker = task.options.no_answer_marker
    splits = {"train": data.train, "val": data.val, "test": data.test}
    if bank is None:  # answers given as texts: they are the bank
        bank = _bank_from_pairs(list(splits.values()), marker)
        ids = dict(zip(bank["answer"], bank["id"]))
        splits = {k: v.assign(label=v["label"].map(lambda y: ids.get(y, y))) for k, v in splits.items()}
        task.bind(dict(zip(bank["id"], bank["answer"])))
    issues = list(data.report.issues)
    if cfg.text_column is None or cfg.label_column is None:
        issues.insert(0, Issue("columns", "info", f"using column {query!r} as the query and {answer!r} as the answer (inferred)",
                               [str(cfg.train)], hint="pass --text QUERY_COLUMN --label ANSWER_COLUMN to choose others"))
    issues += bank_issues + _answer_truncation(bank, tokenizer, max_length, model_name)
    trained = set(splits["train"]["label"])
    counts = {**data.report.counts, "answers": len(bank), "answers_with_training_queries": int(bank["id"].isin(trained).sum()),
              "answers_rejected": len(bank_rejects)}
    report = DataReport(issues=issues, files=data.report.files + ([bank_entry] if bank_entry else []),
                        columns={"text": query, "label": answer}, counts=counts, labels=bank["id"].tolist())
    rejects = pd.concat([data.rejects, bank_rejects.astype(data.rejects.dtypes.to_dict())], ignore_index=True)
    return RetrievalData(train=splits["train"], val=splits["val"], test=splits["test"], rejects=rejects, report=report,
                         bank=bank.reset_index(drop=True))


def read_eval_pairs(path: str | Path, task, *, text_column: str | None = None, label_column: str | None = None,
                    encoding: str | None = None, clean=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs to evaluate a bundle on (answer cells: ids or texts of the bundle's bank, or the no-answer marker):
    (rows, rejected rows with their reason). `task` must be bound to the bank."""
    read = read_table(path, encoding=encoding)
    query, answer = pair_columns(read.frame, text_column, label_column, path=str(path))
    return load_eval_rows(path, list(task.answers or {}), task=task, text_column=query, label_column=answer,
                          encoding=encoding, clean=clean)
