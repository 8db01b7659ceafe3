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

import csv
import io
import json
import math
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from domainfit.data.encoding import Decoded, decode, detect_encoding
from domainfit.errors import DataError, EncodingError

__all__ = ["FORMATS", "READ_PROBLEMS", "ReadResult", "detect_encoding", "read_table", "sniff_delimiter"]

META_COLUMNS = ("_file", "_row")
REJECT_COLUMNS = ("_file", "_row", "reason", "_raw")


def _no_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "_row" else object) for c in REJECT_COLUMNS})


@dataclass
class ReadResult:
    """A table read from one file: every column as strings, plus `_file` and `_row`; and the rows that could not be
    read (`rejects`: `_file`, `_row`, `reason`, `_raw` = the record as it stands in the file, and the cells of
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


READ_PROBLEMS: dict[str, tuple[str, str]] = {
    "encoding": (
        "not in the file's encoding (each reason says what the line reads as)",
        "re-save the file in one encoding (UTF-8), or pass --encoding when the whole file is in one",
    ),
    "binary": ("holding NUL bytes (binary data, not text)", "remove the binary data from these lines"),
    "bad_json": ("that are not valid JSON", 'each line must hold one JSON object, e.g. {"text": "...", "label": "..."}'),
    "not_object": ("holding JSON that is not an object", 'each line must hold one JSON object, e.g. {"text": "...", "label": "..."}'),
    "too_many_fields": (
        "with more cells than the header",
        "quote cells that hold the delimiter (\"a, b\"), or pass the delimiter, e.g. --delimiter ';' (data.delimiter in the YAML)",
    ),
    "bad_quote": ("opening a quote that is never closed", 'close the quote, and double a quote that is part of the text ("")'),
    "bad_csv": ("that the CSV parser cannot split into cells", 'check the quoting of these rows: a cell that starts with " must end with "'),
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
        self.rows.append({"_file": self.shown, "_row": row, "reason": reason, "_raw": raw.rstrip("\r\n"), **(cells or {})})

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

_DELIMITERS = (",", "\t", ";", "|")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
_SHOWN_DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}


def sniff_delimiter(sample: str, preferred: str = ",") -> str:
    """The candidate delimiter that splits the header into 2+ fields and most rows into as many fields as the header.

    Uses the csv module, so quoted fields (with delimiters or newlines inside) are handled. Ties go to `preferred`.
    """
    sample = sample[:65536]
    candidates = [preferred] + [d for d in _DELIMITERS if d != preferred]
    best, best_score = preferred, 0.0
    with _field_limit(len(sample) + 1):
        for delim in candidates:
            try:  # newline="": a bare \r ends a line, as it does for the reader
                rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delim) if r]
            except csv.Error:
                continue
            if len(rows) > 2:
                rows = rows[:-1]  # the last record may be cut off by the sample
            rows = rows[:200]
            if not rows or len(rows[0]) < 2:
                continue
            width = len(rows[0])
            score = sum(len(r) == width for r in rows) / len(rows)
            if score > best_score:
                best, best_score = delim, score
    return best


@contextmanager
def _field_limit(size: int) -> Iterator[None]:
    """The csv module refuses cells over 128 KiB; a 2 MB cell is a legitimate text. Raised for one read only."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, min(size, 2**31 - 1)))
    try:
        yield
    finally:
        csv.field_size_limit(old)


class _Record(NamedTuple):
    number: int  # the record's row number (header = 1), blank records included
    first: int  # its first and last line (1-based)
    last: int
    cells: list[str]
    error: str | None


def _records(lines: list[str], delimiter: str) -> Iterator[_Record]:
    """Every record with the lines it spans; a record the csv module refuses carries its error instead of cells."""
    reader = csv.reader(iter(lines), delimiter=delimiter)
    number = 0
    while True:
        start = reader.line_num
        try:
            cells = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as e:
            cells, error = [], str(e)
        number += 1
        yield _Record(number, start + 1, max(reader.line_num, start + 1), cells, error)


def _never_closed(lines: list[str], delimiter: str) -> bool:
    """Whether the record in `lines` (the last of the file) opens a quote that never closes. The lenient parser
    reads such a quote to the end of the file; the strict one says so."""
    try:
        list(csv.reader(iter(lines), delimiter=delimiter, strict=True))
    except csv.Error as e:
        return "unexpected end of data" in str(e)
    return False


def _read_delimited(
    path: Path, shown: str, *, encoding: str | None, delimiter: str | None, fmt: str, preferred: str, **_: Any
) -> ReadResult:
    decoded = _read_text(path, shown, encoding, fmt)
    delimiter = _resolve_delimiter(decoded, delimiter, fmt, preferred)
    fmt = "tsv" if delimiter == "\t" else fmt
    rejects = _Rejects(shown)
    with _field_limit(sum(map(len, decoded.lines)) + 1):
        records = list(_records(decoded.lines, delimiter))
    if records and records[-1].last > records[-1].first and _never_closed(decoded.lines[records[-1].first - 1 :], delimiter):
        r = records[-1]
        raise DataError(
            f"a quote opened in row {r.number} (line {r.first}) is never closed: lines {r.first}-{r.last} would become one cell",
            where=f"{shown}:line {r.first}",
            hint='close the quote, and double a quote that is part of the text ("")',
        )
    header = next((r for r in records if r.error or any(c != "" for c in r.cells)), None)
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
    ragged: list[tuple[_Record, str]] = []
    for r in records[header.number :]:
        raw = "".join(decoded.lines[r.first - 1 : r.last])
        at = f"row {r.number}" + (f" (line {r.first})" if r.first != r.number else "")
        cells = r.cells[:width] + [""] * (width - len(r.cells))
        named = dict(zip(names, cells))
        if problem := _bad(decoded, r):
            rejects.add(r.number, problem, raw, named)
        elif r.error:
            rejects.add(r.number, f"bad_csv: {at} cannot be split into cells ({r.error})", raw)
        elif r is records[-1] and _never_closed(decoded.lines[r.first - 1 : r.last], delimiter):
            rejects.add(r.number, f"bad_quote: {at} opens a quote that is never closed", raw, named)
        elif any(c != "" for c in r.cells[width:]):
            ragged.append((r, raw))
        elif any(c != "" for c in cells):
            kept.append(cells)
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
        at = f"row {r.number}" + (f" (line {r.first})" if r.first != r.number else "")
        rejects.add(r.number, f"too_many_fields: {at} has {len(r.cells)} cells where the header has {width} "
                    f"(a cell holding {_SHOWN_DELIMITERS.get(delimiter, repr(delimiter))} must be quoted)", raw,
                    dict(zip(names, r.cells)))  # fmt: skip
    frame = pd.DataFrame(kept, columns=names, dtype=str) if kept else pd.DataFrame({n: pd.Series(dtype=str) for n in names})
    return ReadResult(_finish(frame, shown, rows), decoded.encoding, delimiter, fmt, _sorted(rejects.frame()))


def _bad(decoded: Decoded, r: _Record) -> str | None:
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

_OBJECT_HINT = 'each line must hold one JSON object, e.g. {"text": "...", "label": "..."}'


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


XLSX_MAX_BYTES = 1 << 30
"""The most a workbook may hold unpacked (1 GiB), and the highest packing ratio of a large part: a zip bomb named
.xlsx (a few KB that unpack to gigabytes) is refused before openpyxl opens it."""
XLSX_MAX_RATIO = 250
_RATIO_FROM = 50 << 20  # the ratio is judged on parts over 50 MB: small parts of real workbooks pack far tighter


def _check_workbook(path: Path, shown: str) -> None:
    """Refuse what is not a real workbook, from the zip's central directory (its declared sizes, which Python's zip
    reader then holds each part to), before anything is unpacked."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head.startswith(b"PK"):
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            what, hint = "an old Excel (.xls) file", "open it in Excel and save it as .xlsx"
        elif head.startswith(b"PAR1"):
            what, hint = "a Parquet file", "rename it to .parquet"
        else:
            what, hint = "not a zip file, as an .xlsx workbook is: it looks like text", "if it is a CSV or TSV export, give it its real extension (.csv, .tsv)"
        raise DataError(f"this is not an Excel workbook; it is {what}", where=shown, hint=hint)
    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise DataError(f"cannot read the Excel file: {e}", where=shown, hint="check that the file is complete; open and re-save it in Excel as .xlsx") from None
    total = sum(p.file_size for p in parts)
    worst = max(parts, key=lambda p: p.file_size / max(p.compress_size, 1), default=None)
    ratio = worst.file_size / max(worst.compress_size, 1) if worst else 0.0
    if total > XLSX_MAX_BYTES or (worst is not None and worst.file_size > _RATIO_FROM and ratio > XLSX_MAX_RATIO):
        raise DataError(
            f"the workbook would unpack to {total / (1 << 20):,.0f} MB ({worst.filename if worst else '?'}: "
            f"{ratio:,.0f} times its packed size); refused as a likely zip bomb",
            where=shown,
            hint=f"a workbook must unpack to at most {XLSX_MAX_BYTES >> 20:,} MB; export large tables as CSV or Parquet",
        )


def _read_excel(path: Path, shown: str, *, sheet: str | int | None = None, **_: Any) -> ReadResult:
    _check_workbook(path, shown)
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
    result = reader(p, shown, encoding=encoding, delimiter=delimiter, sheet=sheet)
    unreadable = len(result.rejects)
    nothing = not [c for c in result.frame.columns if c not in META_COLUMNS]
    if unreadable and (bad_rows == "raise" or nothing):
        first = result.rejects.iloc[0]
        code, _, detail = str(first["reason"]).partition(": ")
        more = f" (and {unreadable - 1} more {result.unit}s that cannot be read)" if unreadable > 1 else ""
        head = f"none of the {unreadable} {result.unit}s can be read; the first: " if nothing else ""
        raise DataError(head + (detail or code) + more, where=f"{shown}:{result.unit} {first['_row']}",
                        hint=READ_PROBLEMS.get(code, ("", "fix or delete that row"))[1])
    return result
