"""Input records from files and requests: `time` (ISO 8601 or epoch seconds), `text`, optional `source`, `id`, `url`.

A bad time or an empty text is a DataError naming the file, row and column (or the request item) and the fix.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

from domainfit.data.io import read_table
from domainfit.errors import DataError
from domainfit.i18n import _

__all__ = ["parse_time", "read_records"]

OPTIONAL = ("source", "id", "url")


def parse_time(value, where: str) -> float:
    """ISO 8601 (a time without a zone is UTC) or epoch seconds -> epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                stamp = _dt.datetime.fromisoformat(text)
            except ValueError:
                raise DataError(_("time {text} is neither ISO 8601 nor epoch seconds").format(text=repr(text)),
                                where=where, hint=_("write e.g. 2026-12-01T09:30:00Z or 1796117400")) from None
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=_dt.UTC)
            seconds = stamp.timestamp()
    if not math.isfinite(seconds):
        raise DataError(_("time {value} is not a finite number").format(value=repr(value)), where=where,
                        hint=_("give epoch seconds or ISO 8601"))
    return seconds


def check_record(record: dict, where: str) -> dict:
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DataError(_("text is empty"), where=f"{where}, column text",
                        hint=_("every record needs a non-empty text"))
    out = {"time": parse_time(record.get("time"), f"{where}, column time"), "text": text}
    for name in OPTIONAL:
        value = record.get(name)
        if value not in (None, "") and not (isinstance(value, float) and math.isnan(value)):
            out[name] = str(value)
    return out


def read_records(path: str | Path) -> list[dict]:
    """Every record of a csv/tsv/jsonl/parquet/xlsx file, checked (DataError at the first bad one)."""
    frame = read_table(path).frame
    missing = [c for c in ("time", "text") if c not in frame.columns]
    if missing:
        raise DataError(_("no column {names} (columns: {columns})").format(
                            names=" or ".join(map(repr, missing)),
                            columns=", ".join(c for c in frame.columns if not c.startswith("_"))),
                        where=str(path), hint=_("a stream file has columns time, text and optionally source, id, url"))
    keep = ["time", "text", *[c for c in OPTIONAL if c in frame.columns], "_row"]
    return [check_record(rec, f"{path}:{rec['_row']}") for rec in frame[keep].to_dict("records")]
