"""Reading a table file (csv/tsv/txt/jsonl/json/parquet/xlsx) into strings, keeping where every row came from.

Parsing is done by Python's csv module, json, pyarrow and openpyxl; the encoding by `domainfit.data.encoding`
(charset-normalizer plus the per-line glue). Written here by hand: the delimiter sniffing, the walk over the records
that keeps each one's line numbers, and the checks before a library is trusted with a file (a zip bomb named .xlsx,
binary bytes named .csv), because their errors must name the file, the row and the fix.

Every cell comes back as a string (`""` for an empty cell; "NA" stays "NA"), plus two columns:
`_file` (the path as given) and `_row` (the row a person sees: header = row 1, so the first data row is 2,
as in Excel; for JSON Lines the line number; for .json and Parquet the 1-based record number).
Fully blank rows are skipped, but `_row` still counts them, so it matches what the user's editor shows.

A row that cannot be read (a line in another encoding, a broken JSON line, more cells than the header, a quote
never closed on the last line) is not dropped: it goes to `ReadResult.rejects` with its row and reason. By default
`read_table` raises DataError on the first of them; `bad_rows="reject"` returns them (what `prepare_data` uses, so
they reach rejects.csv: rows in = kept + rejected). A file that cannot be read at all raises DataError.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from domainfit.data.encoding import Decoded, decode, detect_encoding
from domainfit.data.records import Record, field_limit, never_closed, sniff_delimiter
from domainfit.data.records import records as csv_records
from domainfit.data.workbook import check_workbook
from domainfit.errors import DataError, EncodingError

__all__ = ["FORMATS", "READ_PROBLEMS", "ReadResult", "detect_encoding", "read_table", "sniff_delimiter"]

META_COLUMNS = ("_file", "_row")
REJECT_COLUMNS = ("_file", "_row", "_reason", "_raw")


def _no_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "_row" else object) for c in REJECT_COLUMNS})


@dataclass
class ReadResult:
    """A table read from one file: every column as strings, plus `_file` and `_row`; and the rows that could not be
    read (`rejects`: `_file`, `_row`, `_reason`, `_raw` = the record as it stands in the file, and the cells of
    the file's columns where the record could be split into cells, else "")."""

    frame: pd.DataFrame
    encoding: str | None  # None for parquet/xlsx
    delimiter: str | None  # csv/tsv/txt only
    format: str  # "csv" | "tsv" | "jsonl" | "json" | "parquet" | "xlsx"
    rejects: pd.DataFrame = field(default_factory=_no_rejects)

    @property
    def unit(self) -> str:
        """What `_row` counts: "line" for JSON Lines, else "row"."""
        return "line" if self.format == "jsonl" else "row"


_OBJECT_HINT = 'each line must hold one JSON object, e.g. {"text": "...", "label": "..."}'

READ_PROBLEMS: dict[str, tuple[str, str]] = {
    "encoding": (
        "a line in another encoding than the rest of the file",
        "re-save the file in one encoding (UTF-8), or pass --encoding when the whole file is in one",
    ),
    "binary": ("NUL bytes: binary data, not text", "remove the binary data from these lines"),
    "bad_json": ("not valid JSON", _OBJECT_HINT),
    "not_object": ("JSON that is not an object", _OBJECT_HINT),
    "too_many_fields": (
        "more cells than the header",
        "quote cells that hold the delimiter (\"a, b\"), or pass the delimiter, e.g. --delimiter ';' (data.delimiter in the YAML)",
    ),
    "bad_quote": ("a quote never closed", 'close the quote, and double a quote that is part of the text ("")'),
    "bad_csv": ("cells the CSV parser cannot split", 'check the quoting of these rows: a cell that starts with " must end with "'),
}
"""Why a row cannot be read (the first word of its reason) -> (what such rows are, how to fix them)."""


# ---------------------------------------------------------------------------------------------------- text files

_MAGIC = (
    (b"PK\x03\x04", "an Excel (.xlsx) or other zip file"),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) file"),
    (b"\x1f\x8b", "a gzip-compressed file"),
)


def _read_text(path: Path, shown: str, encoding: str | None, fmt: str) -> Decoded:
    raw = path.read_bytes()
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise DataError(
                f"this looks like {what}, not a {fmt} text file",
                where=shown,
                hint="give the file its real extension (.xlsx, .parquet); .xls files must be re-saved as .xlsx; unpack a .gz first",
            )
    try:
        return decode(raw, encoding)
    except EncodingError as e:
        line = getattr(e, "line", None)
        raise EncodingError(e.message, where=f"{shown}:line {line}" if line else shown, hint=e.hint) from None
    except DataError as e:
        raise DataError(e.message, where=shown, hint=e.hint) from None


class _Rejects:
    """The rows of one file that cannot be read, collected as the reader walks it."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.rows: list[dict] = []

    def add(self, row: int, reason: str, raw: str, cells: dict[str, str] | None = None) -> None:
        # the file's own cells first: a column may be called "reason"; the underscored names are domainfit's
        self.rows.append({**(cells or {}), "_file": self.shown, "_row": row, "_reason": reason, "_raw": raw.rstrip("\r\n")})

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            return _no_rejects()
        frame = pd.DataFrame(self.rows).fillna("")
        return frame.astype({"_row": "int64"})


# ---------------------------------------------------------------------------------------------------- helpers


def _to_str(value: Any) -> str:
    """A cell as the string a person would type: None/NaN -> "", 3.0 -> "3", nested JSON -> JSON text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if hasattr(value, "item") and not hasattr(value, "__len__"):  # numpy scalar
        return _to_str(value.item())
    return str(value)


def _finish(frame: pd.DataFrame, shown: str, rows: list[int] | pd.Index) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    for name in META_COLUMNS:
        if name in frame.columns:
            raise DataError(f"the file has a column named {name!r}, a name domainfit keeps for itself", where=shown, hint=f"rename the column {name!r}")
    frame["_file"] = shown
    frame["_row"] = pd.Series(list(rows), index=frame.index, dtype="int64")
    return frame.reset_index(drop=True)


def _drop_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows whose every cell is empty (blank lines); the index keeps the original positions."""
    if frame.empty or len(frame.columns) == 0:
        return frame
    blank = (frame == "").all(axis=1)
    return frame[~blank]


# ---------------------------------------------------------------------------------------------------- delimited

_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
_SHOWN_DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}


def _read_delimited(
    path: Path, shown: str, *, encoding: str | None, delimiter: str | None, fmt: str, preferred: str, **_: Any
) -> ReadResult:
    decoded = _read_text(path, shown, encoding, fmt)
    delimiter = _resolve_delimiter(decoded, delimiter, fmt, preferred)
    fmt = "tsv" if delimiter == "\t" else fmt
    rejects = _Rejects(shown)
    with field_limit(sum(map(len, decoded.lines)) + 1):
        found = list(csv_records(decoded.lines, delimiter))
    if found and found[-1].last > found[-1].first and never_closed(decoded.lines[found[-1].first - 1 :], delimiter):
        r = found[-1]
        raise DataError(
            f"a quote opened in row {r.number} (line {r.first}) is never closed: lines {r.first}-{r.last} would become one cell",
            where=f"{shown}:line {r.first}",
            hint='close the quote, and double a quote that is part of the text ("")',
        )
    header = next((r for r in found if r.error or any(c != "" for c in r.cells)), None)
    if header is None:
        raise DataError("the file is empty (no header row)", where=shown, hint="the first line must name the columns, e.g. text,label")
    problem = _bad(decoded, header) or header.error
    if problem:
        raise DataError(f"the header row cannot be read: {problem.partition(': ')[2] or problem}", where=f"{shown}:line {header.first}",
                        hint=READ_PROBLEMS.get(problem.partition(":")[0], ("", "fix the first line: it must name the columns, e.g. text,label"))[1])
    names = _column_names(header.cells)
    width = len(names)
    kept: list[list[str]] = []
    rows: list[int] = []
    ragged: list[tuple[Record, str]] = []
    last, any_bad = found[-1], bool(decoded.bad)
    for r in found[header.number :]:
        if any_bad and (problem := _bad(decoded, r)):
            rejects.add(r.number, problem, _raw(decoded, r), dict(zip(names, r.cells)))
        elif r.error:
            rejects.add(r.number, f"bad_csv: {_at(r)} cannot be split into cells ({r.error})", _raw(decoded, r))
        elif r is last and never_closed(decoded.lines[r.first - 1 : r.last], delimiter):
            rejects.add(r.number, f"bad_quote: {_at(r)} opens a quote that is never closed", _raw(decoded, r),
                        dict(zip(names, r.cells)))
        elif len(r.cells) > width and any(r.cells[width:]):
            ragged.append((r, _raw(decoded, r)))
        elif any(r.cells):  # else blank: skipped, but its row number counted
            kept.append(r.cells[:width] if len(r.cells) >= width else r.cells + [""] * (width - len(r.cells)))
            rows.append(r.number)
    if ragged and len(ragged) * 2 > len(ragged) + len(kept):  # most rows: the delimiter or the quoting is wrong
        r = ragged[0][0]
        raise DataError(
            f"cannot parse the file with delimiter {_SHOWN_DELIMITERS.get(delimiter, repr(delimiter))}: row {r.number} "
            f"(line {r.first}) has {len(r.cells)} cells where the header has {width}"
            + (f", and so do {len(ragged) - 1} more rows" if len(ragged) > 1 else ""),
            where=shown,
            hint="check that cells holding the delimiter or line breaks are quoted (\"...\"), "
            "or pass the delimiter, e.g. --delimiter ';' (data.delimiter in the YAML)",
        )
    for r, raw in ragged:
        rejects.add(r.number, f"too_many_fields: {_at(r)} has {len(r.cells)} cells where the header has {width} "
                    f"(a cell holding {_SHOWN_DELIMITERS.get(delimiter, repr(delimiter))} must be quoted)", raw,
                    dict(zip(names, r.cells)))  # fmt: skip
    frame = pd.DataFrame(kept, columns=names, dtype=str) if kept else pd.DataFrame({n: pd.Series(dtype=str) for n in names})
    return ReadResult(_finish(frame, shown, rows), decoded.encoding, delimiter, fmt, _sorted(rejects.frame()))


def _at(r: Record) -> str:
    """"row 4", and the line where it is not the same: "row 4 (line 6)"."""
    return f"row {r.number}" + (f" (line {r.first})" if r.first != r.number else "")


def _raw(decoded: Decoded, r: Record) -> str:
    return "".join(decoded.lines[r.first - 1 : r.last])


def _bad(decoded: Decoded, r: Record) -> str | None:
    """The reason of the first bad line (encoding, NUL bytes) the record spans."""
    return next((decoded.bad[i] for i in range(r.first - 1, r.last) if i in decoded.bad), None)


def _resolve_delimiter(decoded: Decoded, delimiter: str | None, fmt: str, preferred: str) -> str:
    if delimiter is not None:
        chosen = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
        if len(chosen) != 1 or chosen in "\r\n\"":
            raise DataError(
                f"the delimiter must be one character, not {delimiter!r}",
                where="--delimiter (data.delimiter)",
                hint="pass one character, or a name: tab, comma, semicolon, pipe, space",
            )
        return chosen
    if fmt == "tsv":
        return "\t"
    return sniff_delimiter("".join(decoded.lines[:2000]), preferred)


def _column_names(header: list[str]) -> list[str]:
    """Header cells as unique names: an empty cell becomes "Unnamed: i", a repeat "name.1" (as pandas does)."""
    names: list[str] = []
    for i, cell in enumerate(header):
        name = str(cell).strip() if str(cell).strip() else f"Unnamed: {i}"
        base, k = name, 0
        while name in names:
            k += 1
            name = f"{base}.{k}"
        names.append(name)
    return names


def _sorted(rejects: pd.DataFrame) -> pd.DataFrame:
    return rejects.sort_values("_row", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------- JSON


def _records_frame(records: list[dict[str, str]], shown: str, rows: list[int]) -> pd.DataFrame:
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    data = {c: [rec.get(c, "") for rec in records] for c in columns}
    frame = pd.DataFrame(data, columns=list(columns), dtype=str) if records else pd.DataFrame(columns=list(columns), dtype=str)
    return _finish(frame, shown, rows)


def _cells(rec: dict) -> dict[str, str]:
    """A JSON object's values as strings (a nested value as JSON text)."""
    return {str(k): _to_str(v) for k, v in rec.items()}


def _parse_line(line: str, number: int) -> tuple[dict[str, str] | None, str | None]:
    """(cells, None) for a JSON object, else (None, the reason)."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"bad_json: line {number} is not valid JSON ({e.msg}, column {e.colno}): {line[:80]!r}"
    except RecursionError:
        return None, f"bad_json: line {number} nests JSON too deeply to read (thousands of levels): {line[:40]!r}"
    if not isinstance(rec, dict):
        return None, f"not_object: line {number} holds a JSON {type(rec).__name__}, not an object: {line[:80]!r}"
    try:
        return _cells(rec), None
    except (RecursionError, ValueError):
        return None, f"bad_json: line {number} nests JSON too deeply to read: {line[:40]!r}"


def _read_jsonl(path: Path, shown: str, *, encoding: str | None, **_: Any) -> ReadResult:
    decoded = _read_text(path, shown, encoding, "jsonl")
    records, rows = [], []
    rejects = _Rejects(shown)
    for i, line in enumerate(decoded.lines):
        number, line = i + 1, line.strip()
        if not line:
            continue
        cells, problem = _parse_line(line, number)
        if i in decoded.bad:  # cells as the line seems to be encoded, to show in rejects.csv
            rejects.add(number, decoded.bad[i], line, cells)
        elif problem:
            rejects.add(number, problem, line)
        else:
            records.append(cells)
            rows.append(number)
    if not records and not rejects.rows:
        raise DataError("the file holds no JSON lines (only blank ones)", where=shown, hint=_OBJECT_HINT)
    return ReadResult(_records_frame(records, shown, rows), decoded.encoding, None, "jsonl", _sorted(rejects.frame()))


def _read_json(path: Path, shown: str, *, encoding: str | None, **_: Any) -> ReadResult:
    decoded = _read_text(path, shown, encoding, "json")
    hint = "a .json file must hold a list of objects; for one object per line name the file .jsonl"
    if decoded.bad:
        i = min(decoded.bad)
        raise DataError(decoded.bad[i].partition(": ")[2], where=f"{shown}:line {i + 1}", hint=READ_PROBLEMS["encoding"][1])
    try:
        data = json.loads(decoded.text)
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg}, line {e.lineno}, column {e.colno})", where=f"{shown}:line {e.lineno}", hint=hint) from None
    except RecursionError:
        raise DataError("the JSON nests too deeply to read (thousands of levels)", where=shown, hint=hint) from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(
            "a .json file must hold a list of objects, like [{\"text\": \"...\", \"label\": \"...\"}, ...]",
            where=shown,
            hint="convert it to that shape, or to JSON Lines (.jsonl, one object per line)",
        )
    try:
        records = [_cells(r) for r in data]
    except (RecursionError, ValueError):
        raise DataError("the JSON nests too deeply to read", where=shown, hint=hint) from None
    return ReadResult(_records_frame(records, shown, list(range(1, len(data) + 1))), decoded.encoding, None, "json")


# ---------------------------------------------------------------------------------------------------- binary


def _read_parquet(path: Path, shown: str, **_: Any) -> ReadResult:
    try:
        frame = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several unrelated types for a damaged file
        raise DataError(f"cannot read the Parquet file: {e}", where=shown, hint="check that the file is complete and really Parquet") from None
    frame = frame.reset_index(drop=True)
    frame = pd.DataFrame({str(c): frame[c].map(_to_str).astype(str) for c in frame.columns}, index=frame.index)
    return ReadResult(_finish(frame, shown, frame.index + 1), None, None, "parquet")


def _read_excel(path: Path, shown: str, *, sheet: str | int | None = None, **_: Any) -> ReadResult:
    check_workbook(path, shown)
    try:
        frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=str, keep_default_na=False, na_filter=False, engine="openpyxl")
    except (ValueError, IndexError, KeyError) as e:
        if sheet is None:
            raise DataError(f"cannot read the Excel file: {e}", where=shown, hint="open and re-save it in Excel as .xlsx") from None
        names = _sheet_names(path)
        raise DataError(
            f"no sheet {sheet!r}; the workbook has {names}",
            where=shown,
            hint="pass --sheet NAME or a 0-based index (data.sheet in the YAML)",
        ) from None
    except Exception as e:  # openpyxl/zipfile errors for a damaged or non-xlsx file
        raise DataError(f"cannot read the Excel file: {e}", where=shown, hint="open and re-save it in Excel as .xlsx") from None
    frame = _drop_blank(frame.astype(str))
    return ReadResult(_finish(frame, shown, frame.index + 2), None, None, "xlsx")


def _sheet_names(path: Path) -> list[str]:
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        try:
            return list(wb.sheetnames)
        finally:
            wb.close()
    except Exception:  # pragma: no cover
        return []


# ---------------------------------------------------------------------------------------------------- registry

Reader = Callable[..., ReadResult]

FORMATS: dict[str, Reader] = {
    ".csv": partial(_read_delimited, fmt="csv", preferred=","),
    ".tsv": partial(_read_delimited, fmt="tsv", preferred="\t"),
    ".tab": partial(_read_delimited, fmt="tsv", preferred="\t"),
    ".txt": partial(_read_delimited, fmt="csv", preferred="\t"),  # sniffed; a tab-separated .txt is the usual case
    ".jsonl": _read_jsonl,
    ".ndjson": _read_jsonl,
    ".json": _read_json,
    ".parquet": _read_parquet,
    ".pq": _read_parquet,
    ".xlsx": _read_excel,
    ".xlsm": _read_excel,
}
"""File extension -> reader. A new format is one entry here."""


def folder_error(p: Path, shown: str, extensions: Any = FORMATS) -> DataError:
    """The error for a folder given where a file is expected, naming some of its files that could be read."""
    try:
        inside = sorted(f.name for f in p.iterdir() if f.is_file() and f.suffix.lower() in extensions)
    except OSError:
        inside = []
    hint = (f"pass one of its files, e.g. {p / inside[0]}" + (f" (it holds {', '.join(inside[:5])}{' ...' if len(inside) > 5 else ''})" if len(inside) > 1 else "")
            if inside else f"pass the path of a file ({', '.join(extensions)}), not a folder")
    return DataError(f"{shown} is a folder, not a file", where=shown, hint=hint)


def read_table(path: str | os.PathLike, *, encoding: str | None = None, delimiter: str | None = None, sheet: str | int | None = None,
               bad_rows: str = "raise") -> ReadResult:
    """Read one table file; the format comes from the extension. Raises DataError naming the file and the fix.

    `bad_rows`: "raise" (DataError naming the first row that cannot be read) or "reject" (such rows come back in
    `ReadResult.rejects` with their reason; a file with no readable row at all still raises).
    """
    if bad_rows not in ("raise", "reject"):
        raise ValueError(f"bad_rows must be 'raise' or 'reject', not {bad_rows!r}")
    shown = str(path)
    p = Path(path)
    if p.is_dir():
        raise folder_error(p, shown)
    reader = FORMATS.get(p.suffix.lower())
    if reader is None:
        raise DataError(
            f"unsupported file type {p.suffix or '(no extension)'!r}",
            where=shown,
            hint=f"use one of {', '.join(FORMATS)}; .xls files must be re-saved as .xlsx",
        )
    if not p.exists():
        raise DataError(f"file not found: {p.resolve()}", where=shown, hint=f"check the path; relative paths start from {Path.cwd()}")
    if not p.is_file():
        raise DataError(f"not a regular file: {p.resolve()}", where=shown, hint="pass the path of a table file")
    if p.stat().st_size == 0:
        raise DataError("the file is empty (0 bytes)", where=shown,
                        hint="export the table again; a text table's first line must name the columns, e.g. text,label")
    result = reader(p, shown, encoding=encoding, delimiter=delimiter, sheet=sheet)
    unreadable = len(result.rejects)
    nothing = not [c for c in result.frame.columns if c not in META_COLUMNS]
    if unreadable and (bad_rows == "raise" or nothing):
        first = result.rejects.iloc[0]
        code, _, detail = str(first["_reason"]).partition(": ")
        more = f" (and {unreadable - 1} more {result.unit}s that cannot be read)" if unreadable > 1 else ""
        head = f"none of the {unreadable} {result.unit}s can be read; the first: " if nothing else ""
        raise DataError(head + (detail or code) + more, where=f"{shown}:{result.unit} {first['_row']}",
                        hint=READ_PROBLEMS.get(code, ("", "fix or delete that row"))[1])
    return result
