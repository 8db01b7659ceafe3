"""Fuzzing the file readers: random bytes, and CSV or JSON Lines text with each row in a random encoding, read as every
format. The outcome is always a DomainfitError or a table where kept + rejected = rows in; never another exception.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domainfit.data import read_table
from domainfit.errors import DomainfitError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXTENSIONS = (".csv", ".tsv", ".txt", ".jsonl", ".json", ".xlsx", ".parquet")

# Characters each encoding can write, beside ASCII: what a row exported from that system holds.
ALPHABETS = {
    "utf-8": "éèàçüößñ€“”—外卖送得很快这家店😀𠀀\u2028\u00a0",
    "gbk": "外卖送得很快这家店的服务态度，。！",
    "gb18030": "外卖送得很快𠀀😀€",
    "big5": "這家店的外賣送得很快",
    "latin-1": "éèàçüößñ£°«»",
    "cp1252": "éèàçüößñ€“”—",
    "shift_jis": "配達がとても遅かった",
}
ASCII = "abc XYZ 019,;|\t\"'\r\n\\{}[]:"


def _read(path: Path) -> tuple[int, int] | None:
    """(kept, rejected) of a read that keeps the rows it cannot read, or None for a DomainfitError. Both modes are
    read: the default one must refuse exactly what the other rejects."""
    try:
        r = read_table(path, bad_rows="reject")
    except DomainfitError as e:
        assert e.where and str(path) in e.where and e.hint, e
        return None
    assert r.frame["_row"].is_unique and r.rejects["_row"].is_unique
    assert set(r.frame["_row"]).isdisjoint(r.rejects["_row"])
    assert r.frame["_row"].is_monotonic_increasing
    assert all(isinstance(v, str) for c in r.frame.columns if c != "_row" for v in r.frame[c])
    assert r.rejects["_reason"].str.match(r"^[a-z_]+: ").all()
    try:
        strict = read_table(path)
    except DomainfitError:
        assert len(r.rejects), "the default mode refused a file without a row that cannot be read"
    else:
        assert not len(r.rejects) and strict.frame.equals(r.frame)
    return len(r.frame), len(r.rejects)


def _in(folder: str, name: str, data: bytes) -> Path:
    path = Path(folder) / name
    path.write_bytes(data)
    return path


@FUZZ
@given(data=st.one_of(st.binary(max_size=3000),
                      st.binary(max_size=2000).map(lambda b: b"PK\x03\x04" + b),
                      st.binary(max_size=2000).map(lambda b: b"PAR1" + b + b"PAR1"),
                      st.binary(max_size=2000).map(lambda b: b"\xef\xbb\xbftext,label\n" + b),
                      st.binary(max_size=2000).map(lambda b: b"\xff\xfe" + b)),
       ext=st.sampled_from(EXTENSIONS))
def test_random_bytes_are_an_error_or_a_table(data, ext):
    with tempfile.TemporaryDirectory() as folder:
        _read(_in(folder, "f" + ext, data))


def _row_text(draw, encoding: str) -> str:
    return draw(st.text(alphabet=ASCII + ALPHABETS[encoding], max_size=30))


@st.composite
def csv_files(draw):
    """(the bytes of a CSV whose rows are each in one encoding, the number of its data rows that are not blank)."""
    file_encoding = draw(st.sampled_from(sorted(ALPHABETS)))
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    out = io.BytesIO()
    out.write(f"text,label{line_end}".encode())
    rows_in = 0
    for _ in range(draw(st.integers(0, 25))):
        encoding = draw(st.sampled_from(sorted(ALPHABETS))) if draw(st.integers(0, 4)) == 0 else file_encoding
        cells = [_row_text(draw, encoding), _row_text(draw, encoding)]
        if draw(st.integers(0, 30)) == 0:
            cells[0] += "\x00"
        text = io.StringIO()
        # the csv module quotes a cell holding a line end only if it is the writer's own line end: quote them all
        breaks = any("\r" in c or "\n" in c for c in cells)
        csv.writer(text, lineterminator=line_end, quoting=csv.QUOTE_ALL if breaks else csv.QUOTE_MINIMAL).writerow(cells)
        out.write(text.getvalue().encode(encoding))
        rows_in += any(c != "" for c in cells)
    return out.getvalue(), rows_in


@FUZZ
@given(csv_files(), st.sampled_from([".csv", ".txt", ".tsv"]))
def test_csv_rows_in_random_encodings_are_kept_or_rejected_never_lost(made, ext):
    data, rows_in = made
    with tempfile.TemporaryDirectory() as folder:
        counts = _read(_in(folder, "f" + ext, data))
    if counts is not None and ext == ".csv":  # .tsv and a sniffed .txt may split the rows otherwise: counts only
        assert sum(counts) == rows_in, (counts, rows_in)


@st.composite
def jsonl_files(draw):
    """(the bytes of a JSON Lines file with lines of every shape, the number of its lines that are not blank)."""
    file_encoding = draw(st.sampled_from(sorted(ALPHABETS)))
    lines, rows_in = [], 0
    for _ in range(draw(st.integers(0, 25))):
        encoding = draw(st.sampled_from(sorted(ALPHABETS))) if draw(st.integers(0, 4)) == 0 else file_encoding
        text = _row_text(draw, encoding).replace("\r", "").replace("\n", "")
        shape = draw(st.sampled_from(["object", "object", "object", "broken", "array", "deep", "blank"]))
        if shape == "object":
            line = json.dumps({"text": text, "label": draw(st.sampled_from(["a", "b", 3, None, [1, {"x": text}]]))},
                              ensure_ascii=draw(st.booleans()))
        elif shape == "broken":
            line = "x" + text  # never blank, never JSON
        elif shape == "array":
            line = json.dumps([text])
        elif shape == "deep":
            depth = draw(st.sampled_from([10, 500, 50_000]))
            line = '{"text": ' + "[" * depth + "]" * depth + "}"
        else:
            line = draw(st.sampled_from(["", "  ", "\t"]))
        rows_in += bool(line.strip())
        lines.append(line.encode(encoding))
    return b"\n".join(lines) + b"\n", rows_in


@FUZZ
@given(jsonl_files())
def test_jsonl_lines_of_every_shape_and_encoding_are_kept_or_rejected_never_lost(made):
    data, rows_in = made
    with tempfile.TemporaryDirectory() as folder:
        counts = _read(_in(folder, "f.jsonl", data))
    if counts is not None:
        assert sum(counts) == rows_in, (counts, rows_in)
