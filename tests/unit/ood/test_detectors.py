"""The out-of-scope detectors, their fitting, choice and thresholds, on synthetic model outputs (numpy only: fast)."""

from __future__ import annotations

import numpy as np
import pytest

from domainfit.errors import ConfigError
from domainfit.ood import OodScores, OutOfScopeOptions, ood_detectors, resolve_out_of_scope
from domainfit.ood.detectors import make_detector
from domainfit.ood.fit import Outputs, fit_out_of_scope
from domainfit.ood.metrics import flag_out_of_scope, ood_metrics, tradeoff_curve


def clusters(n_per_class: int, k: int, *, seed: int, d: int = 8, spread: float = 0.4, shift: int = 0):
    """Gaussian clusters in `d` dimensions (embeddings) and logits that favour each row's own class."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(100).normal(0, 3, (k + shift, d))[shift:]
    y = np.repeat(np.arange(k), n_per_class)
    emb = centres[y] + rng.normal(0, spread, (len(y), d))
    logits = emb @ centres.T / d
    return Outputs(logits, emb, y)


def far_rows(n: int, k: int, *, seed: int, d: int = 8) -> Outputs:
    rng = np.random.default_rng(seed)
    emb = rng.normal(0, 3, (n, d)) + 9.0
    centres = np.random.default_rng(100).normal(0, 3, (k, d))
    return Outputs(emb @ centres.T / d * 0.05, emb, np.full(n, -1))


@pytest.mark.parametrize("name", ["msp", "energy", "mahalanobis", "knn"])
def test_each_detector_scores_far_rows_higher_and_rebuilds_from_its_arrays(name):
    train, val, far = clusters(40, 5, seed=1), clusters(20, 5, seed=2), far_rows(30, 5, seed=3)
    det = make_detector(name).fit(train.logits, train.embeddings, train.y)
    inside, outside = det.score(val.logits, val.embeddings), det.score(far.logits, far.embeddings)
    gold = np.r_[np.zeros(len(inside), bool), np.ones(len(outside), bool)]
    m = ood_metrics(["a"] * len(gold), ["a"] * len(gold), np.r_[inside, outside], np.zeros(len(gold), bool), gold)
    assert m["auroc"] > 0.9
    again = ood_detectors.get(name).rebuild({k: np.asarray(v) for k, v in det.tensors().items()}, det.params())
    np.testing.assert_allclose(again.score(far.logits, far.embeddings), outside, rtol=1e-4, atol=1e-5)
    assert det.needs_embeddings == (name in ("mahalanobis", "knn"))


def test_without_oos_examples_the_threshold_keeps_the_asked_share_and_auto_compares_every_detector():
    train, val = clusters(40, 6, seed=1), clusters(50, 6, seed=2)
    state, tensors = fit_out_of_scope(OutOfScopeOptions(keep=0.9), [f"c{i}" for i in range(6)], train, val)
    assert set(state["selection_auroc"]) == {"msp", "energy", "mahalanobis", "knn"}
    assert state["detector"] == max(state["selection_auroc"], key=state["selection_auroc"].get)
    assert "held out" in state["chosen_by"]
    assert state["validation"]["refused_in_scope"] == pytest.approx(0.1, abs=0.01)
    assert state["oos_label"] is None and "keeps 90%" in state["threshold_rule"]
    assert (state["file"] is None) == (not tensors)


def test_a_named_detector_is_used_and_too_few_classes_fall_back_to_msp():
    labels = ["a", "b", "c"]
    train, val = clusters(30, 3, seed=1), clusters(20, 3, seed=2)
    assert fit_out_of_scope(OutOfScopeOptions(detector="knn", k=3), labels, train, val)[0]["detector"] == "knn"
    state, _ = fit_out_of_scope(OutOfScopeOptions(), labels, train, val)
    assert state["detector"] == "msp" and "fewer than four" in state["chosen_by"]


def with_oos_class(seed: int) -> Outputs:
    """Four intents plus an 'oos' class (index 4) whose rows lie far from them."""
    base = clusters(30, 4, seed=seed)
    far = far_rows(40, 4, seed=seed + 10)
    logits = np.c_[np.r_[base.logits, far.logits], np.r_[np.full(len(base.y), -2.0), np.full(len(far.y), -0.5)]]
    return Outputs(logits, np.r_[base.embeddings, far.embeddings], np.r_[base.y, np.full(len(far.y), 4)])


@pytest.mark.parametrize("objective, floor", [("accuracy", 0.9), ("recall", 0.8)])
def test_with_oos_examples_the_threshold_meets_the_floor_of_the_objective(objective, floor):
    labels = ["a", "b", "c", "d", "oos"]
    opts = OutOfScopeOptions(objective=objective, floor=floor)
    state, _ = fit_out_of_scope(opts, labels, with_oos_class(1), with_oos_class(2))
    v = state["validation"]
    assert state["oos_label"] == "oos" and "AUROC on the validation split's out-of-scope" in state["chosen_by"]
    assert v["oos_n"] == 40 and v["auroc"] is not None
    if objective == "accuracy":
        assert v["oos_recall"] >= floor and "subject to OOS recall" in state["threshold_rule"]
    else:
        assert v["in_scope_accuracy"] >= floor and "subject to in-scope accuracy" in state["threshold_rule"]


def test_the_oos_label_is_found_by_its_usual_names_and_a_named_one_must_exist():
    from domainfit.ood.options import find_oos_label

    assert find_oos_label("auto", ["card", "其他"]) == "其他"
    assert find_oos_label("auto", ["card", "Other"]) == "Other"
    assert find_oos_label(None, ["card", "oos"]) is None
    with pytest.raises(ConfigError) as e:
        fit_out_of_scope(OutOfScopeOptions(oos_label="unknown"), ["a", "b"], clusters(5, 2, seed=1), clusters(5, 2, seed=2))
    assert "task_options.out_of_scope.oos_label" in str(e.value)


def test_options_read_mode_words_and_refuse_unknown_detectors():
    assert resolve_out_of_scope("refuse").mode == "refuse"
    assert resolve_out_of_scope("auto").mode == "flag"
    with pytest.raises(ValueError, match="Did you mean 'knn'"):
        OutOfScopeOptions(detector="knm")


def test_ood_scores_follow_their_rows_through_slices():
    s = OodScores(np.eye(4, 3), np.arange(4.0))
    assert s[1:3].ood.tolist() == [1.0, 2.0]
    assert s[np.array([3, 0])].ood.tolist() == [3.0, 0.0]
    assert type(np.asarray(s)) is np.ndarray and not hasattr(s[0], "ood") and float(s[2, 2]) == 1.0


def test_metrics_count_a_refusal_as_an_error_and_fpr_at_95():
    y = ["a", "a", "b", "b", "x", "x"]
    pred = ["a", "b", "b", "b", "a", "b"]
    gold = np.array([0, 0, 0, 0, 1, 1], bool)
    ood = np.array([0.1, 0.2, 0.9, 0.3, 0.8, 0.25])
    flags = flag_out_of_scope(ood, 0.5)
    m = ood_metrics(y, pred, ood, flags, gold)
    assert m["in_scope_accuracy_plain"] == 0.75 and m["in_scope_accuracy"] == 0.5  # row 2 right but refused
    assert m["oos_recall"] == 0.5 and m["oos_precision"] == 0.5 and m["refused_in_scope"] == 0.25
    assert m["fpr_at_95"] == 1.0 and 0 < m["auroc"] < 1  # keeping 95% of in-scope (t ≈ 0.81) accepts both
    curve = tradeoff_curve(y, pred, ood, gold)
    assert curve[0]["in_scope_kept"] <= curve[-1]["in_scope_kept"] == 1.0


def test_a_budget_threshold_refuses_as_much_as_the_accuracy_budget_allows():
    train, val = clusters(40, 6, seed=1), clusters(50, 6, seed=2, spread=1.2)  # a spread that makes errors
    labels = [f"c{i}" for i in range(6)]
    state, _ = fit_out_of_scope(OutOfScopeOptions(detector="msp", budget=0.02), labels, train, val)
    v = state["validation"]
    assert v["in_scope_accuracy_plain"] - v["in_scope_accuracy"] <= 0.02 + 1e-9
    assert "2 points" in state["threshold_rule"]
    score = make_detector("msp").score(val.logits, None)
    right = val.logits.argmax(1) == val.y
    lower = score[score < state["threshold"]]  # one step further refuses the next message, and breaks the budget
    if len(lower):
        nxt = lower.max()
        assert (right & (score <= nxt)).mean() < right.mean() - 0.02
    with pytest.raises(ValueError):
        OutOfScopeOptions(budget=1.5)
