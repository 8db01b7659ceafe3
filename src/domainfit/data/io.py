"""Reading a table file (csv/tsv/txt/jsonl/json/parquet/xlsx) into strings, keeping where every row came from.

Parsing is done by pandas, pyarrow and openpyxl. Written here by hand: the encoding detection (a byte-order
mark, else strict UTF-8, else GB18030 when the result reads as Chinese, else charset-normalizer's guess), the
delimiter sniffing and the JSON Lines reader, because their errors must name the file, the line and the fix.

Every cell comes back as a string (`""` for an empty cell; "NA" stays "NA"), plus two columns:
`_file` (the path as given) and `_row` (the row a person sees: header = row 1, so the first data row is 2,
as in Excel; for JSON Lines the line number; for .json and Parquet the 1-based record number).
Fully blank rows are skipped, but `_row` still counts them, so it matches what the user's editor shows.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from domainfit.errors import DataError, EncodingError

__all__ = ["FORMATS", "ReadResult", "detect_encoding", "read_table", "sniff_delimiter"]

META_COLUMNS = ("_file", "_row")


@dataclass
class ReadResult:
    """A table read from one file: every column as strings, plus `_file` and `_row`."""

    frame: pd.DataFrame
    encoding: str | None  # None for parquet/xlsx
    delimiter: str | None  # csv/tsv/txt only
    format: str  # "csv" | "tsv" | "jsonl" | "json" | "parquet" | "xlsx"


# ---------------------------------------------------------------------------------------------------- encoding

_BOMS = (  # longest first: the UTF-32-LE BOM starts with the UTF-16-LE one
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _bad_byte(raw: bytes, err: UnicodeDecodeError) -> str:
    line = raw.count(b"\n", 0, err.start) + 1
    return f"byte 0x{raw[err.start]:02x} at byte offset {err.start} (line {line})"


# The 100 most frequent Chinese characters: about 40% of the characters of ordinary Chinese prose.
_FREQUENT_HAN = frozenset(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行"
    "所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实"
)


def _reads_as_chinese(text: str) -> bool:
    """GB18030 decodes many byte strings. Real Chinese decodes to characters that are almost all in GB2312, and
    with many of the most frequent ones: Korean EUC-KR bytes, for instance, decode to valid but rare characters."""
    counts: dict[str, int] = {}
    for ch in text[:200_000]:
        if ord(ch) > 127:
            counts[ch] = counts.get(ch, 0) + 1
    total = sum(counts.values())
    if total == 0:
        return False
    in_gb2312 = han = frequent = 0
    for ch, n in counts.items():
        try:
            ch.encode("gb2312")
            in_gb2312 += n
        except UnicodeEncodeError:
            pass
        if "\u4e00" <= ch <= "\u9fff":
            han += n
            frequent += n if ch in _FREQUENT_HAN else 0
    if han >= 50 and frequent / han < 0.02:
        return False
    return in_gb2312 / total >= 0.8


def detect_encoding(raw: bytes) -> tuple[str, str]:
    """Return (encoding, decoded text). Raises EncodingError (without `where`; the caller adds it)."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            try:
                return name, raw.decode(name)
            except UnicodeDecodeError as e:
                raise EncodingError(f"the file starts with a {name} byte-order mark but {_bad_byte(raw, e)} is not valid {name}") from None
    try:
        return "utf-8", raw.decode("utf-8")
    except UnicodeDecodeError as e:
        utf8_error = _bad_byte(raw, e)
    try:
        text = raw.decode("gb18030")
        if _reads_as_chinese(text):
            return "gb18030", text
    except UnicodeDecodeError:
        pass
    tried = ["utf-8", "gb18030"]
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(raw[:1_000_000]).best()
    except Exception:  # pragma: no cover - a detector failure must not hide the real problem
        best = None
    if best is not None and best.encoding:
        tried.append(f"{best.encoding} (charset-normalizer's guess)")
        try:
            return best.encoding, raw.decode(best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    raise EncodingError(
        f"cannot tell the file's encoding: it is not utf-8 ({utf8_error}); tried {', '.join(tried)}",
        hint="pass the encoding, e.g. --encoding gb18030 or --encoding latin-1 (data.encoding in the YAML), "
        "or re-save the file as UTF-8",
    )


def _decode(raw: bytes, path: str, encoding: str | None) -> tuple[str, str]:
    if encoding is None:
        try:
            return detect_encoding(raw)
        except EncodingError as e:
            raise EncodingError(e.message, where=path, hint=e.hint) from None
    try:
        return encoding, raw.decode(encoding)
    except LookupError:
        raise EncodingError(
            f"unknown encoding {encoding!r}", where=path, hint="use a Python codec name such as utf-8, gb18030, gbk, big5, latin-1, or leave --encoding out to detect it"
        ) from None
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise EncodingError(
            f"the file is not valid {encoding}: {_bad_byte(raw, e)}",
            where=f"{path}:line {line}",
            hint="leave --encoding out to detect it, or try another one (utf-8-sig, gb18030, big5, latin-1)",
        ) from None


_MAGIC = ((b"PK\x03\x04", "an Excel (.xlsx) or other zip file"), (b"PAR1", "a Parquet file"), (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) file"))


def _read_text(path: Path, shown: str, encoding: str | None, fmt: str) -> tuple[str, str]:
    raw = path.read_bytes()
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise DataError(
                f"this looks like {what}, not a {fmt} text file",
                where=shown,
                hint="give the file its real extension (.xlsx, .parquet); .xls files must be re-saved as .xlsx",
            )
    return _decode(raw, shown, encoding)


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
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def sniff_delimiter(sample: str, preferred: str = ",") -> str:
    """The candidate delimiter that splits the header into 2+ fields and most rows into as many fields as the header.

    Uses the csv module, so quoted fields (with delimiters or newlines inside) are handled. Ties go to `preferred`.
    """
    sample = sample[:65536]
    candidates = [preferred] + [d for d in _DELIMITERS if d != preferred]
    best, best_score = preferred, 0.0
    for delim in candidates:
        rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delim) if r]
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


def _read_delimited(
    path: Path, shown: str, *, encoding: str | None, delimiter: str | None, fmt: str, preferred: str, **_: Any
) -> ReadResult:
    used_encoding, text = _read_text(path, shown, encoding, fmt)
    if delimiter is not None:
        delimiter = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
    elif fmt == "tsv":
        delimiter = "\t"
    else:
        delimiter = sniff_delimiter(text, preferred)
    fmt = "tsv" if delimiter == "\t" else fmt
    try:
        # header=None, so a row with one field too many is an error rather than silently becoming the index
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c"
        )
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty (no header row)", where=shown, hint="the first line must name the columns, e.g. text,label") from None
    except (pd.errors.ParserError, ValueError) as e:
        shown_delim = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(delimiter, repr(delimiter))
        raise DataError(
            f"cannot parse the file with delimiter {shown_delim}: {e}",
            where=shown,
            hint="check that cells holding the delimiter or line breaks are quoted (\"...\"), "
            "or pass the delimiter, e.g. --delimiter ';' (data.delimiter in the YAML)",
        ) from None
    header, frame = frame.iloc[0].tolist(), frame.iloc[1:]
    frame.columns = _column_names(header)
    frame = _drop_blank(frame)
    return ReadResult(_finish(frame, shown, frame.index + 1), used_encoding, delimiter, fmt)


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


# ---------------------------------------------------------------------------------------------------- JSON


def _records_frame(records: list[dict], shown: str, rows: list[int]) -> pd.DataFrame:
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(map(str, rec)))
    data = {c: [_to_str(rec.get(c)) for rec in records] for c in columns}
    frame = pd.DataFrame(data, columns=list(columns), dtype=str) if records else pd.DataFrame(columns=list(columns), dtype=str)
    return _finish(frame, shown, rows)


def _read_jsonl(path: Path, shown: str, *, encoding: str | None, **_: Any) -> ReadResult:
    used_encoding, text = _read_text(path, shown, encoding, "jsonl")
    records, rows = [], []
    # split on "\n" only: str.splitlines would also split at U+2028 and friends, which JSON strings may hold raw.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(
                f"line {number} is not valid JSON ({e.msg}, column {e.colno}): {line[:80]!r}",
                where=f"{shown}:line {number}",
                hint='each line must hold one JSON object, e.g. {"text": "...", "label": "..."}',
            ) from None
        if not isinstance(rec, dict):
            raise DataError(
                f"line {number} holds a JSON {type(rec).__name__}, not an object: {line[:80]!r}",
                where=f"{shown}:line {number}",
                hint='each line must hold one JSON object, e.g. {"text": "...", "label": "..."}',
            )
        records.append(rec)
        rows.append(number)
    return ReadResult(_records_frame(records, shown, rows), used_encoding, None, "jsonl")


def _read_json(path: Path, shown: str, *, encoding: str | None, **_: Any) -> ReadResult:
    used_encoding, text = _read_text(path, shown, encoding, "json")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        hint = "a .json file must hold a list of objects; for one object per line name the file .jsonl"
        raise DataError(f"not valid JSON ({e.msg}, line {e.lineno}, column {e.colno})", where=f"{shown}:line {e.lineno}", hint=hint) from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(
            "a .json file must hold a list of objects, like [{\"text\": \"...\", \"label\": \"...\"}, ...]",
            where=shown,
            hint="convert it to that shape, or to JSON Lines (.jsonl, one object per line)",
        )
    return ReadResult(_records_frame(data, shown, list(range(1, len(data) + 1))), used_encoding, None, "json")


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


def read_table(path: str | os.PathLike, *, encoding: str | None = None, delimiter: str | None = None, sheet: str | int | None = None) -> ReadResult:
    """Read one table file; the format comes from the extension. Raises DataError naming the file and the fix."""
    shown = str(path)
    p = Path(path)
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
        raise DataError(f"not a file: {p.resolve()}", where=shown, hint="pass the path of a table file, not a folder")
    return reader(p, shown, encoding=encoding, delimiter=delimiter, sheet=sheet)
