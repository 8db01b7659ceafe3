"""Retrieval data: both input shapes, and every bad input rejected or refused with its file, row and reason."""

from __future__ import annotations

import pytest

import domainfit
from domainfit.config import load_config
from domainfit.config.schema import DataConfig
from domainfit.errors import ColumnError, ConfigError
from domainfit.tasks.retrieval.data import prepare_pairs
from domainfit.tasks import make_task
from tests.conftest import make_pairs, write_csv


def test_answer_texts_become_the_bank(tmp_path):
    pairs = write_csv(tmp_path / "faq.csv", make_pairs(10, seed=1), header=("question", "answer"))
    data = prepare_pairs(DataConfig(train=pairs), task=make_task("retrieval"))
    assert data.labels == [f"a{i}" for i in range(1, 7)]
    assert sorted(data.bank["answer"]) == sorted({a for _, a in make_pairs(10, seed=1)})
    first = data.bank.iloc[0]
    assert (first["_file"], first["_row"]) == (str(pairs), 2)  # ids follow the order answers first appear in
    for split in (data.train, data.val, data.test):
        assert set(split["label"]) <= set(data.labels)
    assert data.report.columns == {"text": "question", "label": "answer"} and data.report.counts["answers"] == 6


def test_bad_pairs_and_bank_rows_are_rejected_with_file_row_and_reason(tmp_path):
    bank = write_csv(tmp_path / "bank.csv", [("card", "Report a lost card in the app"), ("loan", "Our loan rates"),
                                             ("loan", "a second loan answer"), ("", "an answer without id"),
                                             ("fees", ""), ("transfer", "Transfers take a day")], header=("id", "answer"))
    rows = [(f"my card is lost {i}", "card") for i in range(6)] + [(f"loan rate {i}", "loan") for i in range(6)]
    rows += [(f"where is my transfer {i}", "Transfers take a day") for i in range(6)]
    rows += [("", "card"), ("my card is lost 1", "card"), ("what fees", "fees"), ("pin", ""), ("the weather", "NO_ANSWER")]
    pairs = write_csv(tmp_path / "pairs.csv", rows, header=("query", "faq_id"))
    data = prepare_pairs(DataConfig(train=pairs, answers=bank), task=make_task("retrieval"))
    assert data.labels == ["card", "loan", "transfer"]
    reasons = {(r["_file"], int(r["_row"])): r["reason"] for _, r in data.rejects.iterrows()}
    assert reasons[(str(pairs), 20)] == "empty_text"
    assert reasons[(str(pairs), 21)].startswith("duplicate of") and str(pairs) + ":row 3" in reasons[(str(pairs), 21)]
    assert reasons[(str(pairs), 22)].startswith("unknown_answer")  # 'fees' was rejected from the bank (empty answer)
    assert reasons[(str(pairs), 23)] == "missing_label"
    assert reasons[(str(bank), 4)] == f"duplicate_id: the id is already used at {bank}:row 3"
    assert reasons[(str(bank), 5)] == "missing_id" and reasons[(str(bank), 6)] == "empty_answer"
    codes = {i.code: i for i in data.report.issues}
    assert codes["duplicate_id"].where == [f"{bank}:row 4"] and codes["missing_id"].severity == "error"
    kept = set(data.train["text"]) | set(data.val["text"]) | set(data.test["text"])
    assert "the weather" in kept  # out of scope: kept to calibrate and measure the no-answer decision
    assert set(data.train["label"]) | set(data.val["label"]) | set(data.test["label"]) <= {"card", "loan", "transfer", "NO_ANSWER"}


def test_missing_columns_name_the_file_and_the_fix(tmp_path):
    pairs = write_csv(tmp_path / "pairs.csv", make_pairs(5, seed=1), header=("query", "faq_id"))
    bank = write_csv(tmp_path / "bank.csv", [("x", "y")], header=("code", "words"))
    with pytest.raises(ColumnError) as exc:
        prepare_pairs(DataConfig(train=pairs, answers=bank), task=make_task("retrieval"))
    assert exc.value.where == str(bank) and "answers_id_column" in exc.value.hint
    odd = write_csv(tmp_path / "odd.csv", make_pairs(5, seed=1), header=("query", "thing"))
    with pytest.raises(ColumnError) as exc:
        prepare_pairs(DataConfig(train=odd), task=make_task("retrieval"))
    assert exc.value.where == str(odd) and "--label" in exc.value.hint and "'thing'" in exc.value.message
    with pytest.raises(ColumnError, match="Did you mean 'faq_id'"):
        prepare_pairs(DataConfig(train=pairs, label_column="faq_ids"), task=make_task("retrieval"))


def test_check_data_api_reads_pairs(tmp_path, tiny_backbone):
    pairs = write_csv(tmp_path / "faq.csv", make_pairs(10, seed=2), header=("question", "answer"))
    report = domainfit.check_data(pairs, task="retrieval", model=str(tiny_backbone))
    assert report.counts["answers"] == 6 and len(report.labels) == 6 and not report.errors


def test_bad_options_and_methods_are_refused_before_any_work():
    with pytest.raises(ConfigError) as exc:
        load_config({"task": "retrieval", "task_options": {"no_answer": "sometimes"}, "data": {"train": "x.csv"}})
    assert "task_options.no_answer" in str(exc.value)
    with pytest.raises(ConfigError, match="does not support task 'retrieval'"):
        load_config({"task": "retrieval", "method": "head", "data": {"train": "x.csv"}})


def test_data_check_command_with_an_answer_bank(tmp_path, tiny_backbone):
    import json

    from typer.testing import CliRunner

    from domainfit.cli.main import app

    bank = write_csv(tmp_path / "bank.csv", [("lost", "help with card lost"), ("rate", "help with loan rate")], header=("id", "answer"))
    rows = [(f"card lost {w}", "lost") for w in ("my", "the", "please", "help", "i")]
    rows += [(f"loan rate {w}", "rate") for w in ("my", "the", "please", "help", "i")] + [("card pin", "pin")]
    pairs = write_csv(tmp_path / "pairs.csv", rows, header=("query", "faq_id"))
    result = CliRunner().invoke(app, ["data", "check", str(pairs), "--task", "retrieval", "--answers", str(bank),
                                      "--model", str(tiny_backbone), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["labels"] == ["lost", "rate"] and report["counts"]["rejected_by_reason"] == {"unknown_answer": 1}
    unknown = next(i for i in report["issues"] if i["code"] == "unknown_answer")
    assert unknown["where"] == [f"{pairs}:row 12"] and "'pin'" in unknown["message"]
