"""`domainfit compare` on the tiny model: every method x budget on one test split, leaderboard, curve, advice."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from domainfit.cli.main import app
from domainfit.comparison import (aggregate, budget_of, parse_shots, recommend, sample_per_bin, sample_per_class, sample_per_label,
                                  sample_sentences_per_type)
from domainfit.errors import ConfigError
from tests.conftest import make_ner_sentences, make_pairs, make_rows, make_task_rows, write_conll, write_csv


def test_sampling_and_shots():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(30)], "label": ["a"] * 20 + ["b"] * 10})
    s = sample_per_class(frame, 4, seed=1)
    assert s["label"].value_counts().to_dict() == {"a": 4, "b": 4}
    assert s.equals(sample_per_class(frame, 4, seed=1)) and not s.equals(sample_per_class(frame, 4, seed=2))
    assert len(sample_per_class(frame, 15, seed=0)) == 25  # the smaller class gives what it has
    assert parse_shots("16, all,8") == [8, 16, None]
    with pytest.raises(ConfigError, match="--shots"):
        parse_shots("8,lots")


def test_aggregate_and_recommend_prefers_a_cheaper_method_within_a_point():
    runs = [
        {"method": "full", "shots": "8", "seed": 0, "accuracy": 0.70, "macro_f1": 0.7, "train_seconds": 50},
        {"method": "full", "shots": "8", "seed": 1, "accuracy": 0.80, "macro_f1": 0.8, "train_seconds": 50},
        {"method": "head", "shots": "8", "seed": 0, "accuracy": 0.60, "macro_f1": 0.6, "train_seconds": 2},
        {"method": "full", "shots": "all", "seed": 0, "accuracy": 0.930, "macro_f1": 0.93, "train_seconds": 300},
        {"method": "head", "shots": "all", "seed": 0, "accuracy": 0.925, "macro_f1": 0.92, "train_seconds": 30},
        {"method": "lora", "shots": "all", "seed": 0, "error": "boom"},
    ]
    board = aggregate(runs)
    full8 = next(r for r in board if r["method"] == "full" and r["shots"] == "8")
    assert full8["accuracy"] == pytest.approx(0.75) and full8["accuracy_std"] == pytest.approx(0.05) and full8["seeds"] == 2
    rec = recommend(board)
    assert rec["method"] == "head" and "within 1 point" in rec["why"] and "10x faster" in rec["why"]


def test_compare_cli_end_to_end(tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "d.csv", make_rows(20, seed=3))
    out = tmp_path / "cmp"
    r = CliRunner().invoke(app, ["compare", str(data), "--methods", "tfidf,head,zeroshot,full", "--shots", "4,all",
                                 "--seeds", "2", "-o", str(out), "--model", str(tiny_backbone),
                                 "--set", "training.epochs=1", "--set", "model.max_length=32"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    result = json.loads((out / "leaderboard.json").read_text())
    runs = result["runs"]
    assert len(runs) == 4 * (2 + 1) and not [x for x in runs if "error" in x]  # 4 methods x (2 seeds at 4 + 1 at all)
    assert {x["train_rows"] for x in runs if x["shots"] == "4"} == {12}  # 4 per class x 3 classes
    board = {(x["method"], x["shots"]): x for x in result["leaderboard"]}
    assert board[("full", "4")]["seeds"] == 2 and board[("full", "all")]["bundle_mb"] > 0
    assert board[("tfidf", "all")]["trainable_parameters"] is None
    assert result["recommendation"]["method"] in {"tfidf", "head", "zeroshot", "full"}
    html = (out / "report.html").read_text()
    assert "Learning curve" in html and "<svg" in html and "http://" not in html.replace("http://www.w3.org", "")
    assert (out / "leaderboard.csv").is_file() and not (out / "runs").exists() or not any((out / "runs").iterdir())
    assert "recommended" in r.output

    # --resume reuses every finished run: nothing is trained again (a training call would fail here)
    import domainfit.comparison.run as compare_run

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    original = compare_run._train_method
    compare_run._train_method = no_training
    try:
        again = CliRunner().invoke(app, ["compare", str(data), "--methods", "tfidf,head,zeroshot,full", "--shots", "4,all",
                                         "--seeds", "2", "-o", str(out), "--model", str(tiny_backbone), "--resume",
                                         "--set", "training.epochs=1", "--set", "model.max_length=32"])
    finally:
        compare_run._train_method = original
    assert again.exit_code == 0, again.output
    resumed = json.loads((out / "leaderboard.json").read_text())["runs"]
    assert [(x["method"], x["accuracy"]) for x in resumed] == [(x["method"], x["accuracy"]) for x in runs]


# ---- every task: budgets in the task's unit, the task's metrics, the task's own data format

def test_sample_per_label_reaches_k_for_every_label_and_is_seeded():
    from domainfit.tasks import make_task
    from domainfit.tasks.multilabel import label_lists

    task = make_task("multilabel")
    frame = pd.DataFrame(make_task_rows("multilabel", 20, seed=1), columns=["text", "label"])
    frame["label"] = frame["label"].map(task.parse_target)
    s = sample_per_label(frame, 3, seed=1)
    counts = Counter(label for row in label_lists(s["label"]) for label in row)
    assert set(counts) == {"card", "loan", "transfer"} and min(counts.values()) >= 3
    assert len(s) < len(frame) and s.equals(sample_per_label(frame, 3, seed=1))
    assert not s.equals(sample_per_label(frame, 3, seed=2)) and len(sample_per_label(frame, None, seed=0)) == len(frame)


def test_sample_per_bin_takes_k_rows_of_each_target_bin():
    from domainfit.tasks import make_task

    task = make_task("regression")
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(100)], "label": [repr(float(i)) for i in range(100)]})
    s = sample_per_bin(frame, 2, seed=0, task=task)
    bins = (s["label"].astype(float) // 10).value_counts()
    assert len(s) == 20 and set(bins) == {2} and len(bins) == 10  # 2 rows of each of the 10 deciles
    assert s.equals(sample_per_bin(frame, 2, seed=0, task=task)) and not s.equals(sample_per_bin(frame, 2, seed=1, task=task))


def test_queries_per_answer_and_sentences_per_entity_type():
    from domainfit.tasks.ner.io import read_ner
    from domainfit.tasks.ner.tags import spans_from_tags

    pairs = pd.DataFrame(make_pairs(6, seed=1), columns=["text", "label"])
    s = budget_of("retrieval").sample(pairs, 2, 0, None)
    assert budget_of("retrieval").unit == "queries per answer" and set(s["label"].value_counts()) == {2} and len(s) == 12

    path = write_conll(Path(tempfile.mkdtemp()) / "e.conll", make_ner_sentences(40, seed=2))
    sentences = read_ner(path).sentences
    picked = sample_sentences_per_type(sentences, 3, seed=4)
    per_type = Counter(kind for s in picked for kind in {k for _, _, k in spans_from_tags(s.tags)})
    assert set(per_type) == {"CARD", "LOAN", "TRANSFER"} and min(per_type.values()) >= 3 and len(picked) < len(sentences)
    assert picked == sample_sentences_per_type(sentences, 3, seed=4) and picked != sample_sentences_per_type(sentences, 3, seed=5)


def test_every_task_has_a_budget_and_a_pool():
    from domainfit.interfaces import Workflow, workflow_for
    from domainfit.registry import tasks

    for name in tasks.names():  # every member of the protocol, so compare, monitor and the gate serve every task
        workflow = workflow_for(name)
        assert isinstance(workflow, Workflow), name
        assert workflow.budget.unit and callable(workflow.budget.sample) and callable(workflow.open_pool), name


def _task_data(task: str, folder: Path) -> tuple[Path, list[str]]:
    if task == "ner":
        return write_conll(folder / "d.conll", make_ner_sentences(60, seed=3)), []
    return write_csv(folder / "d.csv", make_task_rows(task, 16, seed=3)), ["--set", f"task={task}"]


@pytest.mark.parametrize(("task", "methods", "unit"), [
    ("multilabel", "tfidf_multilabel,head", "examples per label"),
    ("regression", "tfidf_ridge,head", "rows per target bin"),
    ("retrieval", "bm25,full", "queries per answer"),
    ("ner", "dictionary,full", "sentences per entity type"),
])
def test_compare_every_task(task, methods, unit, tiny_backbone, tmp_path):
    from domainfit.registry import tasks

    data, task_args = _task_data(task, tmp_path)
    out = tmp_path / "cmp"
    r = CliRunner().invoke(app, ["compare", str(data), "--methods", methods, "--shots", "2,all", "--seeds", "1", "-o", str(out),
                                 "--model", str(tiny_backbone), *task_args, "--set", "training.epochs=1",
                                 "--set", "model.max_length=32"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    result = json.loads((out / "leaderboard.json").read_text())
    metrics = list(tasks.get(task).summary_metrics[:2])
    assert result["task"] == task and result["metrics"] == metrics and result["unit"] == unit
    runs = result["runs"]
    assert len(runs) == 2 * 2 and not [x for x in runs if "error" in x], runs
    assert max(x["train_rows"] for x in runs if x["shots"] == "2") < min(x["train_rows"] for x in runs if x["shots"] == "all")
    for row in result["leaderboard"]:
        assert all(isinstance(row[m], float) for m in metrics) and "accuracy" not in row
    assert result["recommendation"]["method"] in methods.split(",") and unit in result["recommendation"]["why"]
    html = (out / "report.html").read_text()
    assert "Learning curve" in html and "<svg" in html and unit in html and metrics[0].replace("_", " ") in html
    assert metrics[0] in (out / "leaderboard.csv").read_text().splitlines()[0]


def test_compare_refuses_a_method_the_task_lacks_before_any_work(tmp_path):
    import domainfit

    data = write_csv(tmp_path / "d.csv", make_task_rows("regression", 8, seed=3))
    out = tmp_path / "cmp"
    with pytest.raises(ConfigError) as err:
        domainfit.compare(data, methods=["fewshot", "tfidf", "head"], shots="2", seeds=1, output=out,
                          overrides=["task=regression", "model.backbone=no-such-backbone-is-loaded"])
    text = str(err.value)
    assert "method 'fewshot' does not support task 'regression'" in text and "baseline 'tfidf'" in text
    assert "head, " in text and "tfidf_ridge" in text and "method 'head'" not in text  # head does support regression
    assert not out.exists()  # refused before reading the data or the backbone


def test_default_methods_fit_each_task():
    from domainfit.comparison.run import DEFAULT_METHODS, check_methods, default_methods
    from domainfit.registry import tasks

    assert default_methods("classification") == list(DEFAULT_METHODS)
    assert default_methods("regression")[0] == "tfidf_ridge" and "fewshot" not in default_methods("regression")
    assert "dictionary" in default_methods("ner") and "bm25" in default_methods("retrieval")
    for task in tasks.names():
        check_methods(default_methods(task), task)  # every default is one the task supports
