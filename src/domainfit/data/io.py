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
from domainfit.i18n import _

__all__ = ["FORMATS", "ReadResult", "detect_encoding", "read_problems", "read_table", "sniff_delimiter"]

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


def _object_hint() -> str:
    return _('each line must hold one JSON object, e.g. {"text": "...", "label": "..."}')


def _close_quote_hint() -> str:
    return _('close the quote, and double a quote that is part of the text ("")')


def read_problems() -> dict[str, tuple[str, str]]:
    """Why a row cannot be read (the first word of its reason) -> (what such rows are, how to fix them), in the
    current language."""
    return {
        "encoding": (
            _("a line in another encoding than the rest of the file"),
            _("re-save the file in one encoding (UTF-8), or pass --encoding when the whole file is in one"),
        ),
        "binary": (_("NUL bytes: binary data, not text"), _("remove the binary data from these lines")),
        "bad_json": (_("not valid JSON"), _object_hint()),
        "not_object": (_("JSON that is not an object"), _object_hint()),
        "too_many_fields": (
            _("more cells than the header"),
            _("quote cells that hold the delimiter (\"a, b\"), or pass the delimiter, e.g. --delimiter ';' "
              "(data.delimiter in the YAML)"),
        ),
        "bad_quote": (_("a quote never closed"), _close_quote_hint()),
        "bad_csv": (_("cells the CSV parser cannot split"),
                    _('check the quoting of these rows: a cell that starts with " must end with "')),
    }


# ---------------------------------------------------------------------------------------------------- text files

def _magic() -> tuple[tuple[bytes, str], ...]:
    return (
        (b"PK\x03\x04", _("an Excel (.xlsx) or other zip file")),
        (b"PAR1", _("a Parquet file")),
        (b"\xd0\xcf\x11\xe0", _("an old Excel (.xls) file")),
        (b"\x1f\x8b", _("a gzip-compressed file")),
    )


def _read_text(path: Path, shown: str, encoding: str | None, fmt: str) -> Decoded:
    raw = path.read_bytes()
    for magic, what in _magic():
        if raw.startswith(magic):
            raise DataError(
                _("this looks like {what}, not a {format} text file").format(what=what, format=fmt),
                where=shown,
                hint=_("give the file its real extension (.xlsx, .parquet); .xls files must be re-saved as .xlsx; "
                       "unpack a .gz first"),
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
            raise DataError(_("the file has a column named {name}, a name domainfit keeps for itself").format(name=repr(name)),
                            where=shown, hint=_("rename the column {name}").format(name=repr(name)))
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
    path: Path, shown: str, *, encoding: str | None, delimiter: str | None, fmt: str, preferred: str, **_kwargs: Any
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
            _("a quote opened in row {row} (line {first}) is never closed: lines {first}-{last} would become one cell").format(
                row=r.number, first=r.first, last=r.last),
            where=f"{shown}:line {r.first}",
            hint=_close_quote_hint(),
        )
    header = next((r for r in found if r.error or any(c != "" for c in r.cells)), None)
    if header is None:
        raise DataError(_("the file is empty (no header row)"), where=shown,
                        hint=_("the first line must name the columns, e.g. text,label"))
    problem = _bad(decoded, header) or header.error
    if problem:
        fix = _("fix the first line: it must name the columns, e.g. text,label")
        raise DataError(_("the header row cannot be read: {problem}").format(problem=problem.partition(": ")[2] or problem),
                        where=f"{shown}:line {header.first}",
                        hint=read_problems().get(problem.partition(":")[0], ("", fix))[1])
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
            rejects.add(r.number, "bad_csv: " + _("{at} cannot be split into cells ({error})").format(at=_at(r), error=r.error),
                        _raw(decoded, r))
        elif r is last and never_closed(decoded.lines[r.first - 1 : r.last], delimiter):
            rejects.add(r.number, "bad_quote: " + _("{at} opens a quote that is never closed").format(at=_at(r)),
                        _raw(decoded, r), dict(zip(names, r.cells)))
        elif len(r.cells) > width and any(r.cells[width:]):
            ragged.append((r, _raw(decoded, r)))
        elif any(r.cells):  # else blank: skipped, but its row number counted
            kept.append(r.cells[:width] if len(r.cells) >= width else r.cells + [""] * (width - len(r.cells)))
            rows.append(r.number)
    if ragged and len(ragged) * 2 > len(ragged) + len(kept):  # most rows: the delimiter or the quoting is wrong
        r = ragged[0][0]
        raise DataError(
            _("cannot parse the file with delimiter {delimiter}: row {row} (line {line}) has {cells} cells where the "
              "header has {width}").format(delimiter=_SHOWN_DELIMITERS.get(delimiter, repr(delimiter)), row=r.number,
                                           line=r.first, cells=len(r.cells), width=width)
            + (_(", and so do {n} more rows").format(n=len(ragged) - 1) if len(ragged) > 1 else ""),
            where=shown,
            hint=_("check that cells holding the delimiter or line breaks are quoted (\"...\"), "
                   "or pass the delimiter, e.g. --delimiter ';' (data.delimiter in the YAML)"),
        )
    for r, raw in ragged:
        rejects.add(r.number, "too_many_fields: " + _("{at} has {cells} cells where the header has {width} (a cell holding "
                    "{delimiter} must be quoted)").format(at=_at(r), cells=len(r.cells), width=width,
                                                          delimiter=_SHOWN_DELIMITERS.get(delimiter, repr(delimiter))),
                    raw, dict(zip(names, r.cells)))  # fmt: skip
    frame = pd.DataFrame(kept, columns=names, dtype=str) if kept else pd.DataFrame({n: pd.Series(dtype=str) for n in names})
    return ReadResult(_finish(frame, shown, rows), decoded.encoding, delimiter, fmt, _sorted(rejects.frame()))


def _at(r: Record) -> str:
    """"row 4", and the line where it is not the same: "row 4 (line 6)"."""
    return _("row {number}").format(number=r.number) + (_(" (line {line})").format(line=r.first) if r.first != r.number else "")


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
                _("the delimiter must be one character, not {delimiter}").format(delimiter=repr(delimiter)),
                where="--delimiter (data.delimiter)",
                hint=_("pass one character, or a name: tab, comma, semicolon, pipe, space"),
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
        return None, "bad_json: " + _("line {number} is not valid JSON ({error}, column {column}): {line}").format(
            number=number, error=e.msg, column=e.colno, line=repr(line[:80]))
    except RecursionError:
        return None, "bad_json: " + _("line {number} nests JSON too deeply to read (thousands of levels): {line}").format(
            number=number, line=repr(line[:40]))
    if not isinstance(rec, dict):
        return None, "not_object: " + _("line {number} holds a JSON {kind}, not an object: {line}").format(
            number=number, kind=type(rec).__name__, line=repr(line[:80]))
    try:
        return _cells(rec), None
    except (RecursionError, ValueError):
        return None, "bad_json: " + _("line {number} nests JSON too deeply to read: {line}").format(
            number=number, line=repr(line[:40]))


def _read_jsonl(path: Path, shown: str, *, encoding: str | None, **_kwargs: Any) -> ReadResult:
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
        raise DataError(_("the file holds no JSON lines (only blank ones)"), where=shown, hint=_object_hint())
    return ReadResult(_records_frame(records, shown, rows), decoded.encoding, None, "jsonl", _sorted(rejects.frame()))


def _read_json(path: Path, shown: str, *, encoding: str | None, **_kwargs: Any) -> ReadResult:
    decoded = _read_text(path, shown, encoding, "json")
    hint = _("a .json file must hold a list of objects; for one object per line name the file .jsonl")
    if decoded.bad:
        i = min(decoded.bad)
        raise DataError(decoded.bad[i].partition(": ")[2], where=f"{shown}:line {i + 1}", hint=read_problems()["encoding"][1])
    try:
        data = json.loads(decoded.text)
    except json.JSONDecodeError as e:
        raise DataError(_("not valid JSON ({error}, line {line}, column {column})").format(error=e.msg, line=e.lineno,
                                                                                          column=e.colno),
                        where=f"{shown}:line {e.lineno}", hint=hint) from None
    except RecursionError:
        raise DataError(_("the JSON nests too deeply to read (thousands of levels)"), where=shown, hint=hint) from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(
            _("a .json file must hold a list of objects, like [{\"text\": \"...\", \"label\": \"...\"}, ...]"),
            where=shown,
            hint=_("convert it to that shape, or to JSON Lines (.jsonl, one object per line)"),
        )
    try:
        records = [_cells(r) for r in data]
    except (RecursionError, ValueError):
        raise DataError(_("the JSON nests too deeply to read"), where=shown, hint=hint) from None
    return ReadResult(_records_frame(records, shown, list(range(1, len(data) + 1))), decoded.encoding, None, "json")


# ---------------------------------------------------------------------------------------------------- binary


def _read_parquet(path: Path, shown: str, **_kwargs: Any) -> ReadResult:
    try:
        frame = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several unrelated types for a damaged file
        raise DataError(_("cannot read the Parquet file: {error}").format(error=e), where=shown,
                        hint=_("check that the file is complete and really Parquet")) from None
    frame = frame.reset_index(drop=True)
    frame = pd.DataFrame({str(c): frame[c].map(_to_str).astype(str) for c in frame.columns}, index=frame.index)
    return ReadResult(_finish(frame, shown, frame.index + 1), None, None, "parquet")


def _read_excel(path: Path, shown: str, *, sheet: str | int | None = None, **_kwargs: Any) -> ReadResult:
    check_workbook(path, shown)
    try:
        frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=str, keep_default_na=False, na_filter=False, engine="openpyxl")
    except (ValueError, IndexError, KeyError) as e:
        if sheet is None:
            raise DataError(_("cannot read the Excel file: {error}").format(error=e), where=shown,
                            hint=_("open and re-save it in Excel as .xlsx")) from None
        names = _sheet_names(path)
        raise DataError(
            _("no sheet {sheet}; the workbook has {names}").format(sheet=repr(sheet), names=names),
            where=shown,
            hint=_("pass --sheet NAME or a 0-based index (data.sheet in the YAML)"),
        ) from None
    except Exception as e:  # openpyxl/zipfile errors for a damaged or non-xlsx file
        raise DataError(_("cannot read the Excel file: {error}").format(error=e), where=shown,
                        hint=_("open and re-save it in Excel as .xlsx")) from None
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
    if inside:
        held = ", ".join(inside[:5]) + (" ..." if len(inside) > 5 else "")
        hint = _("pass one of its files, e.g. {file}").format(file=p / inside[0]) + (
            _(" (it holds {files})").format(files=held) if len(inside) > 1 else "")
    else:
        hint = _("pass the path of a file ({extensions}), not a folder").format(extensions=", ".join(extensions))
    return DataError(_("{path} is a folder, not a file").format(path=shown), where=shown, hint=hint)


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
            _("unsupported file type {suffix}").format(suffix=repr(p.suffix or "(no extension)")),
            where=shown,
            hint=_("use one of {formats}; .xls files must be re-saved as .xlsx").format(formats=", ".join(FORMATS)),
        )
    if not p.exists():
        raise DataError(_("file not found: {path}").format(path=p.resolve()), where=shown,
                        hint=_("check the path; relative paths start from {cwd}").format(cwd=Path.cwd()))
    if not p.is_file():
        raise DataError(_("not a regular file: {path}").format(path=p.resolve()), where=shown,
                        hint=_("pass the path of a table file"))
    if p.stat().st_size == 0:
        raise DataError(_("the file is empty (0 bytes)"), where=shown,
                        hint=_("export the table again; a text table's first line must name the columns, e.g. text,label"))
    result = reader(p, shown, encoding=encoding, delimiter=delimiter, sheet=sheet)
    unreadable = len(result.rejects)
    nothing = not [c for c in result.frame.columns if c not in META_COLUMNS]
    if unreadable and (bad_rows == "raise" or nothing):
        first = result.rejects.iloc[0]
        code, _sep, detail = str(first["_reason"]).partition(": ")
        lines = result.unit == "line"
        more = ((_(" (and {n} more lines that cannot be read)") if lines else _(" (and {n} more rows that cannot be read)"))
                .format(n=unreadable - 1) if unreadable > 1 else "")
        head = ((_("none of the {n} lines can be read; the first: ") if lines else _("none of the {n} rows can be read; the first: "))
                .format(n=unreadable) if nothing else "")
        raise DataError(head + (detail or code) + more, where=f"{shown}:{result.unit} {first['_row']}",
                        hint=read_problems().get(code, ("", _("fix or delete that row")))[1])
    return result
