"""Hostile input files: each one reads either as a DomainfitError that names where (the file, and the row or line) and
how to fix it, or as a table where rows in = kept + rejected and every rejected row has its row and reason.
Never another exception, never a traceback on the terminal, never text garbled without a word.

Reproductions of the adversarial review (findings 5 and 6, and the data-check friction of finding 10), kept after
the fix. The same corpus goes through `domainfit data check` at the end.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from domainfit.data import read_table
from domainfit.errors import DataError, DomainfitError

ROOT = Path(__file__).resolve().parents[2]
REASON = re.compile(r"^[a-z_]+: (line|row) \d+ ")  # every reason starts with its code and names the line or row


@dataclass(frozen=True)
class Hostile:
    """A file to write, and its documented outcome: an error (a phrase of it, and the place after the file name in
    `where`), or a read of `rows_in` rows of which those in `rejected` (row -> reason code) are rejected."""

    name: str
    build: Callable[[Path], None]
    error: str | None = None
    place: str = ""  # e.g. "line 3"; "" = the file alone
    rows_in: int = 0
    rejected: dict[int, str] = field(default_factory=dict)


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def _mixed(p: Path) -> None:
    """UTF-8 rows with a GBK row (row 5) and a Latin-1 row (row 8): the review's file."""
    rows = [f"card question {i} café,card\n".encode() for i in range(10)]
    rows[3] = "外卖送得很快,card\n".encode("gbk")
    rows[6] = "crème brûlée,loan\n".encode("latin-1")
    p.write_bytes(b"text,label\n" + b"".join(rows))


def _gb18030(p: Path) -> None:
    p.write_bytes("text,label\n这家店的外卖送得很快𠀀😀,好评\n€ 价格 ¥,差评\n".encode("gb18030"))


def _big_field(p: Path) -> None:
    p.write_text(f'text,label\n"{"长" * 2_000_000}",a\nshort,b\n', encoding="utf-8")


def _big_jsonl(p: Path) -> None:
    p.write_text(json.dumps({"text": "x" * 2_000_000, "label": "a"}) + "\n" + json.dumps({"text": "y", "label": "b"}) + "\n",
                 encoding="utf-8")


def _zip_bomb(p: Path) -> None:
    """60 MB of zeros packed into about 60 KB, as the sheet of an .xlsx."""
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            block = b"\0" * (1 << 20)
            for _ in range(60):
                sheet.write(block)


def _truncated_parquet(p: Path) -> None:
    pd.DataFrame({"text": [f"row {i}" for i in range(500)], "label": ["a"] * 500}).to_parquet(p)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _deep_jsonl(p: Path) -> None:
    deep = '{"text": ' + "[" * 100_000 + "]" * 100_000 + ', "label": "b"}'
    p.write_text('{"text": "a", "label": "x"}\n' + deep + '\n{"text": "c", "label": "y"}\n', encoding="utf-8")


def _folder(p: Path) -> None:
    p.mkdir()
    (p / "train.csv").write_text("text,label\na,b\n", encoding="utf-8")


CORPUS = [
    Hostile("empty.csv", _bytes(b""), error="empty"),
    Hostile("empty.jsonl", _bytes(b"\n\n"), error="no JSON lines"),
    Hostile("header_only.csv", _bytes(b"text,label\n"), rows_in=0),
    Hostile("garbage.csv", _bytes(random.Random(0).randbytes(20_000)), error="binary"),
    Hostile("garbage.jsonl", _bytes(random.Random(1).randbytes(20_000)), error="binary"),
    Hostile("cr_only.csv", _bytes(b"text,label\rhello,a\rworld,b\r"), rows_in=2),
    Hostile("bare_cr_quoted.csv", _bytes(b'text,label\n"one\rtwo",a\n"x\r\r",b\n'), rows_in=2),
    Hostile("mixed.csv", _mixed, rows_in=10, rejected={5: "encoding", 8: "encoding"}),
    Hostile("gb18030.csv", _gb18030, rows_in=2),
    Hostile("big_field.csv", _big_field, rows_in=2),
    Hostile("big_field.jsonl", _big_jsonl, rows_in=2),
    Hostile("fake.xlsx", _bytes(b"text,label\nhello,a\n"), error="not an Excel workbook"),
    Hostile("old.xlsx", _bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), error="old Excel"),
    Hostile("bomb.xlsx", _zip_bomb, error="zip bomb"),
    Hostile("deep.jsonl", _deep_jsonl, rows_in=3, rejected={2: "bad_json"}),
    Hostile("deep.json", _bytes(b"[" * 100_000 + b"]" * 100_000), error="too deeply"),
    Hostile("broken.jsonl", _bytes(b'{"text": "a", "label": "x"}\n{"text": broken\n{"text": "b", "label": "y"}\n'),
            rows_in=3, rejected={2: "bad_json"}),
    Hostile("truncated.parquet", _truncated_parquet, error="Parquet"),
    Hostile("unclosed.csv", _bytes(b'text,label\nok,a\n"never closed,b\nmore,c\nand more,d\n'), error="never closed",
            place="line 3"),
    Hostile("late_nul.csv", _bytes(b"text,label\n" + b"fine,a\n" * 2000 + b"bin\x00ary,b\n"), rows_in=2001,
            rejected={2002: "binary"}),
    Hostile("ragged.csv", _bytes(b"text,label\nfine,a\nhello, world,b\nok,c\n"), rows_in=3, rejected={3: "too_many_fields"}),
    Hostile("utf16_no_bom.csv", _bytes("text,label\n你好,a\nhello,b\n".encode("utf-16-le")), rows_in=2),
    Hostile("exports", _folder, error="is a folder"),
]


def _write(case: Hostile, folder: Path) -> Path:
    path = folder / case.name
    case.build(path)
    return path


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_hostile_file_reads_as_its_documented_outcome(case, tmp_path):
    path = _write(case, tmp_path)
    if case.error:
        with pytest.raises(DomainfitError) as e:  # any other exception fails the test
            read_table(path, bad_rows="reject")
        err = e.value
        assert case.error in err.message, err
        assert err.where == (f"{path}:{case.place}" if case.place else str(path)), err
        assert err.hint, "every error says how to fix it"
        return
    r = read_table(path, bad_rows="reject")
    assert len(r.frame) + len(r.rejects) == case.rows_in, "rows in = kept + rejected"
    assert dict(zip(r.rejects["_row"], r.rejects["_reason"].str.extract(r"^([a-z_]+)", expand=False))) == case.rejected
    assert r.rejects["_reason"].str.match(REASON).all(), r.rejects["_reason"].tolist()
    assert set(r.frame["_row"]).isdisjoint(r.rejects["_row"])
    if case.rejected:  # the default mode refuses the file, naming the first row that cannot be read
        with pytest.raises(DataError) as e:
            read_table(path)
        first = min(case.rejected)
        assert e.value.where == f"{path}:{r.unit} {first}" and e.value.hint
    else:
        assert read_table(path).frame.equals(r.frame)


def test_texts_come_back_exactly(tmp_path):
    """The successful reads are not merely counted: the text is what was written, in every encoding."""
    read = {c.name: read_table(_write(c, tmp_path), bad_rows="reject") for c in CORPUS if c.error is None}
    assert read["cr_only.csv"].frame["text"].tolist() == ["hello", "world"]
    assert read["bare_cr_quoted.csv"].frame["text"].tolist() == ["one\rtwo", "x\r\r"]
    assert read["gb18030.csv"].frame["text"].tolist() == ["这家店的外卖送得很快𠀀😀", "€ 价格 ¥"]
    assert read["big_field.csv"].frame["text"].str.len().tolist() == [2_000_000, 5]
    assert read["big_field.jsonl"].frame["text"].str.len().tolist() == [2_000_000, 1]
    assert read["utf16_no_bom.csv"].frame["text"].tolist() == ["你好", "hello"]
    mixed = read["mixed.csv"]
    assert mixed.encoding == "utf-8"
    assert mixed.frame["text"].tolist() == [f"card question {i} café" for i in (0, 1, 2, 4, 5, 7, 8, 9)]  # no "cafÃ©"
    assert mixed.rejects["text"].tolist() == ["外卖送得很快", "crème brûlée"]
    assert [re.search(r"reads as (\S+):", r).group(1) for r in mixed.rejects["_reason"]] == ["gb18030", "cp1252"]


def test_zip_bomb_is_refused_before_openpyxl_opens_it(tmp_path, monkeypatch):
    path = _write(next(c for c in CORPUS if c.name == "bomb.xlsx"), tmp_path)
    assert path.stat().st_size < 1 << 20  # a small file...

    def opened(*args, **kwargs):
        raise AssertionError("openpyxl was given the zip bomb")

    monkeypatch.setattr(pd, "read_excel", opened)
    with pytest.raises(DataError) as e:
        read_table(path)
    assert "60 MB" in e.value.message and "times its packed size" in e.value.message  # ... that would unpack to 60 MB
    assert "CSV or Parquet" in e.value.hint


def test_a_real_workbook_still_reads(tmp_path):
    path = tmp_path / "ok.xlsx"
    pd.DataFrame({"text": ["第一", "second"], "label": ["a", "b"]}).to_excel(path, index=False)
    assert read_table(path).frame["text"].tolist() == ["第一", "second"]


# ---------------------------------------------------------------------------------------------------- the CLI


def _data_check(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """`domainfit data check ...` through the real entry point (errors printed as the terminal shows them)."""
    from domainfit.cli.main import main

    monkeypatch.setattr(sys, "argv", ["domainfit", "data", "check", *map(str, args)])
    with pytest.raises(SystemExit) as e:  # anything else escaping main() would be a traceback on the terminal
        main()
    out = capsys.readouterr()
    return int(e.value.code or 0), out.out, out.err


def _training_file(path: Path, broken: Callable[[int], bytes | None]) -> Path:
    from tests.conftest import make_rows

    lines = [b"text,label\n"]
    for i, (text, label) in enumerate(make_rows(10, seed=3)):
        lines.append(broken(i) or f"{text},{label}\n".encode())
    path.write_bytes(b"".join(lines))
    return path


def _mixed_training_file(path: Path) -> Path:
    odd = {4: "外卖送得很快,card\n".encode("gbk"), 9: "crème brûlée,loan\n".encode("latin-1"), 1: "my café card,card\n".encode()}
    return _training_file(path, odd.get)


def test_data_check_rejects_the_foreign_lines_names_the_file_once_and_strict_exits_3(tiny_backbone, tmp_path, monkeypatch,
                                                                                     capsys):
    from domainfit.cli import ui

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ui.console, "_width", 160)  # a wide terminal: the cells do not wrap
    path = _mixed_training_file(Path("mixed.csv"))
    code, out, err = _data_check(monkeypatch, capsys, path, "--model", tiny_backbone)
    assert code == 0, err
    assert "30 rows in = 28 usable + 2 rejected" in out
    assert "data check: mixed.csv" in out  # the file in the title ...
    assert "rows 6, 11" in out and "mixed.csv rows" not in out  # ... and only the rows in the cells
    code, _, _ = _data_check(monkeypatch, capsys, path, "--model", tiny_backbone, "--strict")
    assert code == 3
    code, out, _ = _data_check(monkeypatch, capsys, path, "--model", tiny_backbone, "--json")
    report = json.loads(out)
    assert report["counts"]["rows_rejected"] == 2 and report["counts"]["rejected_by_reason"] == {"encoding": 2}


def test_data_check_on_files_it_cannot_read_prints_an_error_not_a_traceback(tiny_backbone, tmp_path, monkeypatch, capsys):
    for name, phrase in (("garbage.csv", "binary"), ("fake.xlsx", "not an Excel workbook"), ("exports", "is a folder"),
                         ("unclosed.csv", "never closed"), ("empty.csv", "empty")):
        path = _write(next(c for c in CORPUS if c.name == name), tmp_path)
        code, out, err = _data_check(monkeypatch, capsys, path, "--model", tiny_backbone)
        assert code == 2, (name, out, err)
        assert err.startswith(f"error: {path}") and phrase in err and "how to fix:" in err, err
        assert "Traceback" not in err + out


def test_data_check_reads_a_broken_jsonl_line_as_one_reject(tiny_backbone, tmp_path, monkeypatch, capsys):
    from tests.conftest import make_rows

    path = tmp_path / "t.jsonl"
    lines = [json.dumps({"text": t, "label": lab}) for t, lab in make_rows(8, seed=2)]
    lines.insert(3, '{"text": "broken, "label": "card"}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = _data_check(monkeypatch, capsys, path, "--model", tiny_backbone, "--strict")
    assert code == 3 and "25 rows in = 24 usable + 1 rejected" in out and "bad_json" in out and "line 4" in out


def test_data_check_and_redact_take_a_delimiter(tiny_backbone, tmp_path, monkeypatch, capsys):
    from typer.testing import CliRunner

    from domainfit.cli.main import app
    from tests.conftest import make_rows

    path = tmp_path / "pipes.txt"
    path.write_text("text|label\n" + "".join(f"{t}, really|{lab}\n" for t, lab in make_rows(8, seed=4)), encoding="utf-8")
    code, out, _ = _data_check(monkeypatch, capsys, path, "--model", tiny_backbone, "--delimiter", "|")
    assert code == 0 and "columns: text = text, label = label" in out
    result = CliRunner().invoke(app, ["data", "redact", str(path), "-o", str(tmp_path / "r.csv"), "--delimiter", "pipe"])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "r.csv", encoding="utf-8-sig").columns.tolist() == ["text", "label"]
    code, _, err = _data_check(monkeypatch, capsys, path, "--model", tiny_backbone, "--delimiter", "||")
    assert code == 2 and "one character" in err


def test_the_installed_command_prints_no_traceback(tiny_backbone, tmp_path):
    """The same, through a fresh interpreter as a user runs it: exit 2 and one message for an unreadable file, exit 3
    under --strict for a file with rows rejected."""
    garbage = _write(next(c for c in CORPUS if c.name == "garbage.csv"), tmp_path)
    mixed = _mixed_training_file(tmp_path / "mixed.csv")
    env = {"PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "domainfit.cli.main", "data", "check", *map(str, args), "--model",
                               str(tiny_backbone)], capture_output=True, text=True, env=env, timeout=300)

    r = run(garbage)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "binary" in r.stderr and "how to fix" in r.stderr
    r = run(mixed, "--strict")
    assert r.returncode == 3 and "Traceback" not in r.stderr and "2 rejected" in r.stdout


def test_rejects_csv_of_training_data_names_row_and_reason(tmp_path):
    """Through prepare_data (what train and data check use): the foreign lines end in rejects.csv, nothing lost."""
    from domainfit.config.schema import DataConfig
    from domainfit.data import prepare_data, write_rejects

    path = _mixed_training_file(tmp_path / "mixed.csv")
    out = prepare_data(DataConfig(train=path))
    counts = out.report.counts
    assert counts["rows_in"] == counts["rows_kept"] + counts["rows_rejected"] == 30
    write_rejects(out.rejects, tmp_path / "rejects.csv")
    rejects = pd.read_csv(tmp_path / "rejects.csv", encoding="utf-8-sig", dtype=str)
    assert rejects[["_row", "text"]].values.tolist() == [["6", "外卖送得很快"], ["11", "crème brûlée"]]
    assert rejects["reason"].str.startswith("encoding: line").all()


def test_data_check_with_no_usable_row_still_shows_every_finding(tiny_backbone, tmp_path, monkeypatch, capsys):
    path = tmp_path / "all_bad.jsonl"
    path.write_text('{"text": "a", "label": ""}\n{"text": broken\n[1]\n', encoding="utf-8")
    code, out, err = _data_check(monkeypatch, capsys, path, "--model", tiny_backbone, "--strict")
    assert code == 2 and "no usable rows" in err and "Traceback" not in err
    assert "bad_json" in out and "not_object" in out and "missing_label" in out  # the table came first
    assert "3 rows in = 0 usable + 3 rejected" in out
