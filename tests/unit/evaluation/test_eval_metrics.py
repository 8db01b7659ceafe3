"""classification_metrics against values computed by hand on a six-row example."""

import json

import numpy as np
import pytest

from domainfit.evaluation import classification_metrics

LABELS = ["a", "b", "c"]
Y_TRUE = ["a", "a", "b", "b", "c", "c"]
# predictions: a (right, .9), b (wrong, .7), b (right, .8), b (right, .6), c (right, .6), a (wrong, .55)
PROBA = np.array([
    [0.90, 0.05, 0.05],
    [0.20, 0.70, 0.10],
    [0.10, 0.80, 0.10],
    [0.10, 0.60, 0.30],
    [0.30, 0.10, 0.60],
    [0.55, 0.15, 0.30],
])
TEXTS = ["t0", "t1", "t2", "t3", "t4", "t5"]


def test_hand_computed_values():
    m = classification_metrics(Y_TRUE, PROBA, LABELS, texts=TEXTS)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["micro_f1"] == pytest.approx(4 / 6)
    # per class: a P=1/2 R=1/2 F1=1/2; b P=2/3 R=1 F1=0.8; c P=1 R=1/2 F1=2/3
    per = {r["label"]: r for r in m["per_class"]}
    assert per["a"]["f1"] == pytest.approx(0.5)
    assert per["b"]["precision"] == pytest.approx(2 / 3) and per["b"]["recall"] == 1.0
    assert per["b"]["f1"] == pytest.approx(0.8)
    assert per["c"]["f1"] == pytest.approx(2 / 3)
    assert per["c"]["support"] == 2
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert m["macro_precision"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert m["macro_recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["weighted_f1"] == pytest.approx(m["macro_f1"])  # equal supports
    cm = m["confusion"]["matrix"]
    assert m["confusion"]["labels"] == LABELS
    assert cm[0][1] == 1 and cm[2][0] == 1 and cm[1][1] == 2  # rows = true, columns = predicted
    # bins: .55 wrong | .6 .6 right | .7 wrong | .8 right | .9 right -> (.55 + 2*.4 + .7 + .2 + .1) / 6
    assert m["calibration"]["ece"] == pytest.approx(2.35 / 6)
    assert len(m["calibration"]["bins"]) == 10
    assert m["most_confused"] == [{"true": "a", "pred": "b", "count": 1}, {"true": "c", "pred": "a", "count": 1}]
    assert [e["text"] for e in m["worst_errors"]] == ["t1", "t5"]  # most confident error first
    assert m["worst_errors"][0] == {"text": "t1", "true": "a", "pred": "b", "confidence": pytest.approx(0.7)}


def _plain(value):
    """True when value holds only JSON's own Python types (no numpy scalars hiding in it)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_json_serialisable_plain_types():
    m = classification_metrics(Y_TRUE, PROBA, LABELS, texts=TEXTS)
    json.dumps(m, allow_nan=False)
    assert _plain(m)


def test_label_order_follows_labels_argument():
    order = [2, 0, 1]
    labels = [LABELS[i] for i in order]
    m1 = classification_metrics(Y_TRUE, PROBA, LABELS)
    m2 = classification_metrics(Y_TRUE, PROBA[:, order], labels)
    assert m2["accuracy"] == m1["accuracy"] and m2["macro_f1"] == pytest.approx(m1["macro_f1"])
    assert [r["label"] for r in m2["per_class"]] == labels
    assert m2["confusion"]["labels"] == labels
    # the (true c, predicted a) cell moves with the labels: c is row 0, a is column 1
    assert m2["confusion"]["matrix"][0][1] == 1


def test_unknown_true_label_is_named():
    with pytest.raises(ValueError, match="'refund'"):
        classification_metrics(["a", "refund"], PROBA[:2], LABELS)


def test_integer_labels_match_string_names():
    m = classification_metrics([0, 1, 1], np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), ["0", "1"])
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_label_absent_from_test_does_not_count_in_macro():
    # "c" never occurs in y_true nor in predictions: macro-F1 is over a and b only (scikit-learn's default)
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])
    m = classification_metrics(["a", "b"], proba, LABELS)
    assert m["macro_f1"] == 1.0
    assert {r["label"]: r["support"] for r in m["per_class"]}["c"] == 0


def test_no_texts_means_no_worst_errors():
    assert classification_metrics(Y_TRUE, PROBA, LABELS)["worst_errors"] == []


def test_n_errors_caps_the_list():
    assert len(classification_metrics(Y_TRUE, PROBA, LABELS, texts=TEXTS, n_errors=1)["worst_errors"]) == 1


@pytest.mark.parametrize("proba, message", [
    (np.ones((6, 2)) / 2, "shape"),
    (PROBA * 5, "logits"),
    (np.full((6, 3), np.nan), "NaN"),
])
def test_bad_proba_is_diagnosed(proba, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(Y_TRUE, proba, LABELS)


def test_bad_lengths_and_empty():
    with pytest.raises(ValueError, match="texts"):
        classification_metrics(Y_TRUE, PROBA, LABELS, texts=TEXTS[:3])
    with pytest.raises(ValueError, match="empty"):
        classification_metrics([], np.zeros((0, 3)), LABELS)
    with pytest.raises(ValueError, match="unique"):
        classification_metrics(Y_TRUE, PROBA, ["a", "b", "a"])
