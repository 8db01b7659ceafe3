"""Delimited text into records, each with the lines it spans (Python's csv module), and the delimiter sniffer.

The csv module parses; written here by hand is the walk that keeps every record's first and last line (so a row
can be rejected for a bad line it spans, and named by the line an editor shows), the check for a quote that is
never closed (the lenient parser would silently read it to the end of the file), and the sniffer, which scores
each candidate delimiter by how many rows it splits as wide as the header. Lines are given with their ends, split
at \\n, \\r\\n and a bare \\r, so the csv module never sees a line break outside a quoted cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

__all__ = ["DELIMITERS", "Record", "field_limit", "never_closed", "records", "sniff_delimiter"]

DELIMITERS = (",", "\t", ";", "|")


def sniff_delimiter(sample: str, preferred: str = ",") -> str:
    """The candidate delimiter that splits the header into 2+ fields and most rows into as many fields as the header.

    Uses the csv module, so quoted fields (with delimiters or newlines inside) are handled. Ties go to `preferred`.
    """
    sample = sample[:65536]
    candidates = [preferred] + [d for d in DELIMITERS if d != preferred]
    best, best_score = preferred, 0.0
    with field_limit(len(sample) + 1):
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
def field_limit(size: int) -> Iterator[None]:
    """The csv module refuses cells over 128 KiB; a 2 MB cell is a legitimate text. Raised for one read only."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, min(size, 2**31 - 1)))
    try:
        yield
    finally:
        csv.field_size_limit(old)


class Record(NamedTuple):
    number: int  # the record's row number (header = 1), blank records included
    first: int  # its first and last line (1-based)
    last: int
    cells: list[str]
    error: str | None


def records(lines: list[str], delimiter: str) -> Iterator[Record]:
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
        yield Record(number, start + 1, max(reader.line_num, start + 1), cells, error)


def never_closed(lines: list[str], delimiter: str) -> bool:
    """Whether the record in `lines` (the last of the file) opens a quote that never closes. The lenient parser
    reads such a quote to the end of the file; the strict one says so."""
    try:
        list(csv.reader(iter(lines), delimiter=delimiter, strict=True))
    except csv.Error as e:
        return "unexpected end of data" in str(e)
    return False
