"""Hostile entity files (CoNLL, JSON Lines): the same bugs as the table readers had, the same outcomes now. A line in
another encoding leaves its sentence out with an error on that line (never mojibake tokens), deep JSON is a
problem on its line (never a RecursionError), a folder is called a folder.
"""

from __future__ import annotations

import json

import pytest

from domainfit.errors import DataError
from domainfit.tasks.ner.data import kept_sentences
from domainfit.tasks.ner.io import read_ner


def test_a_gbk_line_in_a_utf8_conll_file_leaves_its_sentence_out(tmp_path):
    path = tmp_path / "t.conll"
    path.write_bytes("Zoë\tB-PER\nlives\tO\n\n".encode() + "北\tB-LOC\n".encode("gbk") + "京\tI-LOC\n\n".encode()
                     + "Paris\tB-LOC\nrocks\tO\n".encode())
    data = read_ner(path)
    assert data.encoding == "utf-8"
    assert [s.tokens for s in data.sentences] == [["Zoë", "lives"], ["Paris", "rocks"]]  # "Zoë", not "ZoÃ«"
    [problem] = data.errors
    assert (problem.line, problem.kind) == (4, "encoding")
    assert "line 4 is not valid utf-8" in problem.message and "left out" in problem.message
    kept, rejects = kept_sentences(data)
    assert len(kept) == 2 and [(r["_line"], r["kind"]) for r in rejects] == [(4, "encoding")]


def test_a_latin1_record_in_a_utf8_jsonl_entity_file(tmp_path):
    path = tmp_path / "t.jsonl"
    good = [json.dumps({"tokens": [w, "ok"], "tags": ["B-PER", "O"]}, ensure_ascii=False) for w in ("Zoë", "Ana", "José")]
    path.write_bytes((good[0] + "\n").encode() + (good[1].replace("Ana", "Anaïs") + "\n").encode("latin-1")
                     + (good[2] + "\n").encode())
    data = read_ner(path)
    assert [s.tokens[0] for s in data.sentences] == ["Zoë", "José"]
    assert [(p.line, p.kind) for p in data.errors] == [(2, "encoding")]


def test_deep_json_in_an_entity_file_is_a_problem_on_its_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"tokens": ["a"], "tags": ["O"]}) + "\n" + '{"tokens": ' + "[" * 100_000 + "]" * 100_000
                    + "}\n", encoding="utf-8")
    data = read_ner(path)
    assert len(data.sentences) == 1 and [(p.line, p.kind) for p in data.errors] == [(2, "bad_json")]
    array = tmp_path / "t.json"
    array.write_text("[" + "[" * 100_000 + "]" * 100_000 + "]", encoding="utf-8")
    assert [p.kind for p in read_ner(array).errors] == ["bad_json", "no_sentences"]


def test_a_folder_is_named_as_a_folder(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "train.conll").write_text("a\tO\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_ner(folder)
    assert "is a folder, not a file" in e.value.message and str(folder / "train.conll") in e.value.hint


def test_binary_bytes_named_conll(tmp_path):
    path = tmp_path / "t.conll"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(DataError, match="binary") as e:
        read_ner(path)
    assert e.value.where == str(path) and e.value.hint
