"""Ranking metrics and the no-answer threshold: pure functions on hand-made scores."""

from __future__ import annotations

import numpy as np
import pytest

from domainfit.tasks.retrieval.metrics import calibrate_threshold, retrieval_metrics, true_ranks
from domainfit.tasks import make_task

IDS = ["a", "b", "c"]
SCORES = np.array([
    [0.9, 0.2, 0.1],  # truth a: rank 1
    [0.8, 0.7, 0.1],  # truth b: rank 2
    [0.3, 0.6, 0.5],  # truth c: rank 2
    [0.4, 0.3, 0.2],  # out of scope
])
TRUTH = ["a", "b", "c", "NO_ANSWER"]


def test_ranks_recall_and_mrr():
    assert true_ranks(SCORES, np.array([0, 1, 2, -1])).tolist() == [1, 2, 2, 0]
    m = retrieval_metrics(TRUTH, SCORES, IDS, threshold=None, no_answer="NO_ANSWER", texts=["q1", "q2", "q3", "q4"])
    assert (m["n_with_answer"], m["n_out_of_scope"]) == (3, 1)
    assert m["recall_at_1"] == pytest.approx(1 / 3) and m["recall_at_5"] == 1.0
    assert m["mrr_at_10"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert [c["k"] for c in m["recall_curve"]] == [1, 2, 3] and m["recall_curve"][1]["recall"] == 1.0
    # without a threshold every query is answered: right only where the first answer is right
    assert m["no_answer_accuracy"] == pytest.approx(1 / 4)
    assert [(x["text"], x["answer"], x["rank"], x["predicted"]) for x in m["misses"]] == [("q2", "b", 2, "a"), ("q3", "c", 2, "b")]


def test_the_threshold_decides_what_is_answered():
    m = retrieval_metrics(TRUTH, SCORES, IDS, threshold=0.85, no_answer="NO_ANSWER")
    assert m["no_answer_accuracy"] == 1.0  # answers the right first answer, refuses the two wrong ones and the unanswerable
    assert m["no_answer"]["answered"] == 0.25 and m["no_answer"]["answered_correct"] == 1.0
    assert m["no_answer"]["refused_out_of_scope"] == 1.0


def test_unknown_answer_ids_are_an_error():
    with pytest.raises(ValueError, match="'z'"):
        retrieval_metrics(["z", "a", "b", "c"], SCORES, IDS, threshold=None, no_answer="NO_ANSWER")


def test_calibration_picks_the_cut_with_the_most_right_decisions():
    top = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    should = np.array([True, True, True, False, True, False])
    threshold, accuracy = calibrate_threshold(top, should)
    # answering the first 3 (t=0.75) or the first 5 (t=0.55) both make 5 of 6 right: the lower one answers more
    assert threshold == pytest.approx(0.55) and accuracy == pytest.approx(5 / 6)
    assert calibrate_threshold(np.array([0.9, 0.8]), np.array([True, True]))[0] < 0.8  # all right: answer everything
    assert calibrate_threshold(np.array([0.9, 0.8]), np.array([False, False]))[0] > 0.9  # all wrong: refuse everything
    assert calibrate_threshold(np.array([]), np.array([], dtype=bool)) == (None, None)
    # a cut can only fall between different scores
    assert calibrate_threshold(np.array([0.7, 0.7, 0.3]), np.array([True, False, False]))[0] == pytest.approx(0.5)


def test_task_tunes_by_its_policy_and_formats_with_the_bank():
    task = make_task("retrieval").bind({"a": "Answer A", "b": "Answer B", "c": "Answer C"})
    task.tune(TRUTH, SCORES, IDS)
    assert task.threshold == pytest.approx(0.85) and task.state()["calibration"]["validation_accuracy"] == 1.0
    first, second = task.format(SCORES[:2], IDS, top_k=2)
    assert first == {"label": "a", "answer": "Answer A", "score": 0.9, "no_answer": False,
                     "answers": [{"id": "a", "answer": "Answer A", "score": 0.9}, {"id": "b", "answer": "Answer B", "score": 0.2}]}
    assert second["no_answer"] and second["label"] is None and second["answer"] is None and len(second["answers"]) == 2
    assert task.output_columns(second)["answer_id"] == "" and task.output_columns(first)["answer"] == "Answer A"
    off = make_task("retrieval", {"no_answer": "off"})
    off.tune(TRUTH, SCORES, IDS)
    assert off.threshold is None and not any(p["no_answer"] for p in off.format(SCORES, IDS))
    fixed = make_task("retrieval", {"no_answer": 0.5}, state=None)
    fixed.tune(TRUTH, SCORES, IDS)
    assert fixed.threshold == 0.5
    restored = make_task("retrieval", state=task.state())  # as the Predictor rebuilds it from domainfit.json
    assert restored.threshold == task.threshold


def test_answer_cells_are_read_as_ids_or_texts_of_the_bank():
    task = make_task("retrieval").bind({"card": "Report a lost card", "loan": "Our  loan rates"})
    assert task.parse_target(" card ") == "card" and task.parse_target("Our loan   rates") == "loan"
    assert task.parse_target("NO_ANSWER") == "NO_ANSWER"
    with pytest.raises(ValueError, match="unknown_answer"):
        task.parse_target("cards")
    with pytest.raises(ValueError, match="missing_answer"):
        task.parse_target("  ")


def test_ranking_loss_is_cross_entropy_over_scaled_cosines():
    import torch

    from domainfit.tasks.retrieval.train import ranking_loss

    q = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]), dim=-1)
    a = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [0.1, 1.0]]), dim=-1)
    positive = torch.tensor([0, 0, 1])  # two queries share the first answer: one column, two positives
    expected = -torch.log_softmax(20 * q @ a.T, dim=1)[torch.arange(3), positive].mean()
    assert float(ranking_loss(q, a, positive, 20.0)) == pytest.approx(float(expected), rel=1e-6)
    assert float(ranking_loss(q, a, torch.tensor([1, 1, 0]), 20.0)) > float(expected)  # the wrong answers cost more
