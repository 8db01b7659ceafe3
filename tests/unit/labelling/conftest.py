"""Labelled tables with planted label errors, for the label-issue tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import INTENTS, make_ner_sentences, make_rows, make_task_rows, write_conll, write_csv

NAMES = sorted(INTENTS)


def plant_errors(rows: list[tuple[str, str]], every: int = 10) -> tuple[list[tuple[str, str]], list[int]]:
    """Every `every`-th row gets the next intent's label; returns (rows, planted positions)."""
    rows = list(rows)
    planted = list(range(0, len(rows), every))
    for i in planted:
        text, label = rows[i]
        rows[i] = (text, NAMES[(NAMES.index(label) + 1) % len(NAMES)])
    return rows, planted


@pytest.fixture()
def noisy_csv(tmp_path) -> tuple[Path, list[int]]:
    """noisy.csv: 3 intents x 20 rows, every 10th label wrong; (path, the planted file rows: header = row 1)."""
    rows, planted = plant_errors(make_rows(20, seed=1))
    return write_csv(tmp_path / "noisy.csv", rows), [i + 2 for i in planted]


@pytest.fixture()
def noisy_multilabel(tmp_path) -> tuple[Path, list[int]]:
    """Multi-label rows (one or two intents each), every 8th with one label left out or one added that its words do
    not carry; (path, planted positions)."""
    rows = make_task_rows("multilabel", 40, seed=4)
    planted = list(range(0, len(rows), 8))
    for i in planted:
        text, label = rows[i]
        labels = label.split(";")
        extra = next(n for n in NAMES if n not in labels)
        rows[i] = (text, labels[0] if len(labels) == 2 else ";".join(sorted([*labels, extra])))
    return write_csv(tmp_path / "multi.csv", rows), planted


@pytest.fixture()
def noisy_conll(tmp_path) -> tuple[Path, list[tuple[int, int]]]:
    """Entity sentences where every 10th sentence's first entity has another type; (path, planted (sentence, token))."""
    sentences = make_ner_sentences(100, seed=3)
    planted = []
    for i in range(0, len(sentences), 10):
        s = sentences[i]
        j = next(k for k, (_, tag) in enumerate(s) if tag.startswith("B-"))
        kind = s[j][1][2:]
        other = next(n.upper() for n in NAMES if n.upper() != kind)
        s[j] = (s[j][0], f"B-{other}")
        k = j + 1
        while k < len(s) and s[k][1] == f"I-{kind}":  # the whole entity changes type, so its tags stay valid BIO
            s[k] = (s[k][0], f"I-{other}")
            k += 1
        planted.append((i, j))
    return write_conll(tmp_path / "noisy.conll", sentences), planted

