"""`domainfit data check|redact`: look at data before training (a thin shell over `domainfit.check_data` and
`domainfit.redact_file`), and the file-reading options `train` and `predict` share."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from domainfit.i18n import _

__all__ = ["data_app"]

data_app = typer.Typer(help="Look at data before training.", no_args_is_help=True)
Opt = typer.Option


@data_app.command("check")
def data_check(
    file: Annotated[Path, typer.Argument(help="table to check (csv/tsv/jsonl/parquet/xlsx), or entity data (.conll, .jsonl with --task ner)")],
    text: Annotated[Optional[str], Opt("--text", help="text column (inferred when unambiguous)")] = None,
    label: Annotated[Optional[str], Opt("--label", help="label column (inferred when unambiguous)")] = None,
    test: Annotated[Optional[Path], Opt("--test", help="your test file: leakage and label checks against it")] = None,
    val: Annotated[Optional[Path], Opt("--val", help="your validation file")] = None,
    answers: Annotated[Optional[Path], Opt("--answers", help="retrieval: the answer bank (id, answer) when --label holds answer ids")] = None,
    items: Annotated[Optional[Path], Opt("--items", help="recommend: the item catalogue (id, text, ...)")] = None,
    model: Annotated[Optional[str], Opt("--model", help="backbone whose tokenizer is checked (default: bundled MiniLM)")] = None,
    max_length: Annotated[int, Opt("--max-length", help="tokens per text the model will see")] = 128,
    encoding: Annotated[Optional[str], Opt("--encoding", help="file encoding (detected when not given)")] = None,
    delimiter: Annotated[Optional[str], Opt("--delimiter", help=_DELIMITER_HELP)] = None,
    task: Annotated[Optional[str], Opt("--task", help="how the labels are read; `domainfit ls tasks` (default: ner for .conll, else classification)")] = None,
    redact: Annotated[Optional[str], Opt("--redact", help=_REDACT_HELP + " (as training would)")] = None,
    strict: Annotated[bool, Opt("--strict", help="exit with status 3 when the report has errors, e.g. rows rejected (2: no usable data): a CI gate")] = False,
    as_json: Annotated[bool, Opt("--json", help="print the report as JSON")] = False,
    deep: Annotated[bool, Opt("--deep", help="also look for likely wrong labels (cleanlab; see `data issues`)")] = False,
) -> None:
    """Every problem in the data at once, with file and row numbers, before any training."""
    from domainfit.api import check_data
    from domainfit.errors import EmptyDataError

    try:
        report = check_data(file, test=test, val=val, text_column=text, label_column=label, encoding=encoding, model=model,
                            max_length=max_length, task=task, **({"answers": answers} if answers else {}), **({"items": items} if items else {}),
                            **({"delimiter": delimiter} if delimiter else {}),
                            **({"redact": _redact_value(redact)} if redact is not None else {}))
    except EmptyDataError as exc:  # nothing usable: every finding first (the report rides on the error), then the error
        if getattr(exc, "report", None) is not None and not as_json:
            _print_check(exc.report)
        raise
    from domainfit.cli.label_cmd import deep_section

    if as_json:
        found = {"label_issues": deep_section(file, task=task, text=text, label=label, encoding=encoding, model=model,
                                              as_json=True)} if deep else {}
        print(json.dumps({**report.to_dict(), **found}, indent=2, ensure_ascii=False, default=str))
    else:
        _print_check(report)
        if deep:
            deep_section(file, task=task, text=text, label=label, encoding=encoding, model=model, as_json=False)
    if strict and report.errors:
        raise typer.Exit(3)
    raise typer.Exit(1 if report.errors and not report.counts.get("rows_kept") else 0)


def _print_check(report) -> None:
    """The files read, the columns, every finding (the file named once when there is one), the row counts."""
    from domainfit.cli.ui import console, issues_table

    for f in report.files:
        console.print("[dim]" + _("{path}: {format}, {rows} rows, encoding {encoding}").format(
            path=f.get("path"), format=f.get("format"), rows=f.get("rows"), encoding=f.get("encoding")) + "[/dim]")
    console.print(_("columns: text = [bold]{text}[/], label = [bold]{label}[/]").format(text=report.columns.get("text"), label=report.columns.get("label")))
    if report.issues:
        shown, issues = _places_in_one_file(report.issues)
        table = issues_table(issues)
        if shown:  # the file named once, in the title; the cells keep the rows and lines
            table.title = _("data check") + f": {shown}"
        console.print(table)
    c = report.counts
    console.print(_("{rows_in} rows in = {kept} usable + {rejected} rejected; {labels} labels; split train {train} / val {val} / test {test}").format(
        rows_in=c.get("rows_in"), kept=c.get("rows_kept"), rejected=c.get("rows_rejected"), labels=len(report.labels),
        train=c.get("train"), val=c.get("val"), test=c.get("test")))


_PLACE = re.compile(r"^(?P<file>.+):(?P<place>(?:row|line|column)s? .+)$")
_DELIMITER_HELP = "CSV delimiter: one character, or tab, comma, semicolon, pipe, space (detected when not given)"


def _places_in_one_file(issues: list) -> tuple[str | None, list]:
    """When every finding is in the same file: (that file, the findings with only "row 4" / "line 9" as places)."""
    from dataclasses import replace

    files = {(m.group("file") if (m := _PLACE.match(loc)) else loc) for i in issues for loc in i.where}
    if len(files) != 1:
        return None, list(issues)
    (shown,) = files
    return shown, [replace(i, where=[m.group("place") for loc in i.where if (m := _PLACE.match(loc))]) for i in issues]


def _redact_value(value: str | None) -> bool | list[str] | None:
    """--redact all | none | phone,email -> the data.redact config value (None: not given)."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("all", "true", "yes"):
        return True
    if text in ("none", "false", "no", ""):
        return False
    return [k.strip() for k in value.split(",") if k.strip()]


_REDACT_HELP = "replace personal data by placeholders: all, or kinds among email,id_card,bank_card,phone,name"


@data_app.command("redact")
def data_redact(
    file: Annotated[Path, typer.Argument(help="table to redact (csv/tsv/jsonl/parquet/xlsx)")],
    output: Annotated[Optional[Path], Opt("-o", "--output", help="where to write (default: <name>.redacted<ext>; csv/tsv/jsonl/parquet/xlsx)")] = None,
    columns: Annotated[Optional[str], Opt("--columns", help="columns to redact, comma-separated (default: the text column)")] = None,
    kinds: Annotated[str, Opt("--kinds", help="all, or kinds among email,id_card,bank_card,phone,name")] = "all",
    normalize: Annotated[bool, Opt("--normalize", help="also normalise the texts as training does (NFKC, whitespace)")] = False,
    encoding: Annotated[Optional[str], Opt("--encoding", help="file encoding (detected when not given)")] = None,
    delimiter: Annotated[Optional[str], Opt("--delimiter", help=_DELIMITER_HELP)] = None,
    as_json: Annotated[bool, Opt("--json", help="print the summary as JSON")] = False,
) -> None:
    """A copy of a table with names, phones, ID cards, bank cards and emails replaced by [NAME], [PHONE], ...
    Every row and column is kept; values found are never printed, only counted with where they are."""
    from domainfit.cli.ui import console, redaction_table
    from domainfit.data.redact import redact_file

    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    redact = _redact_value(kinds)
    summary = redact_file(file, output, columns=chosen, kinds=True if redact is None else redact, encoding=encoding,
                          normalize=normalize, **({"delimiter": delimiter} if delimiter else {}))
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
        return
    console.print(redaction_table(summary))
    console.print(_("{changed} of {rows} rows changed → [bold]{output}[/]").format(changed=summary.rows_changed, rows=summary.rows, output=summary.output))


def _add_issues_command() -> None:
    from domainfit.cli.label_cmd import data_issues

    data_app.command("issues")(data_issues)


_add_issues_command()
