"""`domainfit data redact`: a copy of a table with the personal data of chosen columns replaced by placeholders.

For data that leaves the building (to a vendor, a colleague, a ticket) or feeds a tool that does not redact. Every
row and column is kept in order; only the chosen text columns change. Values found are never written anywhere:
the summary counts them per kind and column, and names the first rows where each kind was found.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from domainfit.data.clean import normalize_text
from domainfit.data.columns import resolve_columns
from domainfit.data.io import META_COLUMNS, read_table
from domainfit.data.pii import Redactor
from domainfit.errors import ColumnError, DataError
from domainfit.i18n import _

__all__ = ["RedactionSummary", "redact_frame", "redact_file", "WRITERS"]


@dataclass
class RedactionSummary:
    """What was replaced: {column: {kind: count}}, rows changed, and up to 5 locations per kind (file:row)."""

    input: str
    output: str
    rows: int
    columns: list[str]
    kinds: list[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    rows_changed: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def redact_frame(frame: pd.DataFrame, columns: Sequence[str], redactor: Redactor, *, normalize: bool = False
                 ) -> tuple[pd.DataFrame, dict[str, dict[str, int]], list[bool], dict[str, list[str]]]:
    """(the frame with `columns` redacted, counts per column and kind, whether each row changed, up to 5 row
    locations per kind). Pure: the input frame is not modified. `normalize` also applies `normalize_text` to
    the cells (the form training uses); full-width digits and letters are found either way."""
    out = frame.copy()
    counts: dict[str, dict[str, int]] = {}
    changed = [False] * len(frame)
    examples: dict[str, list[str]] = {}
    locations = (frame["_file"].astype(str) + ":row " + frame["_row"].astype(str)).tolist() if "_row" in frame else \
        [f"row {i + 1}" for i in range(len(frame))]
    for column in columns:
        found: Counter = Counter()
        cells = []
        for i, cell in enumerate(frame[column].astype(str).tolist()):
            text = normalize_text(cell) if normalize else cell
            findings = redactor.find(text)
            new = redactor(text) if findings else text
            for f in findings:
                found[f.kind] += 1
                seen = examples.setdefault(f.kind, [])
                if len(seen) < 5 and locations[i] not in seen:
                    seen.append(locations[i])
            changed[i] = changed[i] or new != cell
            cells.append(new)
        out[column] = cells
        counts[column] = dict(sorted(found.items()))
    return out, counts, changed, examples


def _write_csv(frame: pd.DataFrame, path: Path, sep: str = ",") -> None:
    frame.to_csv(path, index=False, sep=sep, encoding="utf-8-sig")


def _write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in frame.to_dict(orient="records"):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": _write_csv,
    ".tsv": lambda frame, path: _write_csv(frame, path, "\t"),
    ".jsonl": _write_jsonl,
    ".parquet": lambda frame, path: frame.to_parquet(path, index=False),
    ".xlsx": lambda frame, path: frame.to_excel(path, index=False),
}
"""Output extension -> writer. Cells are written as the strings they were read as."""


def redact_file(path: str | os.PathLike, output: str | os.PathLike | None = None, *, columns: Sequence[str] | None = None,
                kinds: bool | str | Sequence[str] = True, encoding: str | None = None, sheet: str | int | None = None,
                normalize: bool = False, delimiter: str | None = None) -> RedactionSummary:
    """Write a redacted copy of a table (default output: `<name>.redacted<ext>` beside it). `columns`: the columns to
    redact (default: the text column, inferred as training infers it); `kinds`: true for every kind or a list."""
    source = Path(path)
    out = Path(output) if output else source.with_name(f"{source.stem}.redacted{source.suffix}")
    writer = WRITERS.get(out.suffix.lower())
    if writer is None:
        raise DataError(_("cannot write a table as {suffix}").format(suffix=repr(out.suffix or "(no extension)")),
                        where=str(out), hint=_("use one of {names}").format(names=", ".join(WRITERS)))
    if out.resolve() == source.resolve():
        raise DataError(_("the output would overwrite the input"), where=str(out), hint=_("give another --output path"))
    read = read_table(source, encoding=encoding, delimiter=delimiter, sheet=sheet)
    frame = read.frame
    data_columns = [c for c in frame.columns if c not in META_COLUMNS]
    if columns:
        missing = [c for c in columns if c not in data_columns]
        if missing:
            raise ColumnError(_("no column {columns}").format(columns=", ".join(map(repr, missing))), where=str(source),
                              hint=_("the columns are: {columns}").format(columns=", ".join(data_columns)))
        chosen = list(columns)
    else:
        chosen = [resolve_columns(frame, None, None, path=str(source), require_label=False)[0]]
    redactor = Redactor(kinds)
    redacted, counts, changed, examples = redact_frame(frame, chosen, redactor, normalize=normalize)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer(redacted[data_columns], out)
    return RedactionSummary(input=str(source), output=str(out), rows=len(frame), columns=chosen, kinds=list(redactor.kinds),
                            counts=counts, rows_changed=sum(changed), examples=examples)
