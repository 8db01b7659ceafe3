"""Drift checks: the PSI, the significance gate that keeps sampling noise from alerting, the texts' domain classifier."""

from __future__ import annotations

import numpy as np
import pytest

from domainfit.monitor.drift import DriftThresholds, compare_stats, input_drift, overall_status, psi


def _stats(shares: dict[str, float], n: int, confidence=None) -> dict:
    counts = np.bincount(np.floor(np.clip(confidence, 0, 0.999) * 20).astype(int), minlength=20).tolist() if confidence is not None else None
    stats = {"n": n, "label_distribution": shares}
    if counts is not None:
        stats["confidence_histogram"] = {"edges": [i / 20 for i in range(21)], "counts": counts}
        stats["mean_confidence"] = float(np.mean(confidence))
    return stats


def _sampled(shares: dict[str, float], n: int, rng) -> dict[str, float]:
    labels = list(shares)
    drawn = rng.choice(len(labels), n, p=np.array(list(shares.values())) / sum(shares.values()))
    return {lab: float(np.mean(drawn == i)) for i, lab in enumerate(labels)}


def test_psi_is_zero_for_equal_and_grows_with_the_shift():
    assert psi([10, 20, 30], [20, 40, 60]) == pytest.approx(0.0, abs=1e-4)  # smoothing: not exactly 0
    small, large = psi([50, 50], [55, 45]), psi([50, 50], [90, 10])
    assert 0 < small < 0.1 < 0.25 < large


def test_sampling_noise_over_many_labels_does_not_alert():
    """77 labels, 500 live texts: the PSI of pure noise is near 0.15, above the warn level; the test keeps it ok."""
    rng = np.random.default_rng(0)
    shares = {f"intent_{i}": 1 / 77 for i in range(77)}
    statuses = []
    for _ in range(20):
        live = _stats(_sampled(shares, 500, rng), 500)
        (check,) = compare_stats(_stats(shares, 3080), live)
        statuses.append(check.status)
        assert check.value > 0.05  # the effect size alone would have warned often
    assert statuses.count("ok") >= 19


def test_a_real_shift_alerts_and_names_the_labels_that_moved():
    rng = np.random.default_rng(1)
    shares = {f"intent_{i}": 1 / 20 for i in range(20)}
    shifted = dict(shares, intent_3=0.4)
    live = _stats(_sampled(shifted, 800, rng), 800)
    (check,) = compare_stats(_stats(shares, 3000), live)
    assert check.status == "alert" and check.p_value < 1e-6
    assert check.detail["largest_changes"][0]["label"] == "intent_3"


def test_confidence_drop_is_found_and_too_few_rows_are_not_judged():
    rng = np.random.default_rng(2)
    reference = _stats({"a": 0.5, "b": 0.5}, 2000, rng.beta(8, 1, 2000))
    live = _stats({"a": 0.5, "b": 0.5}, 600, rng.beta(3, 2, 600))  # the model is far less sure
    checks = {c.name: c for c in compare_stats(reference, live)}
    assert checks["labels"].status == "ok" and checks["confidence"].status == "alert"
    assert checks["confidence"].detail["mean"]["live"] < checks["confidence"].detail["mean"]["reference"]
    (few,) = compare_stats(reference, _stats({"a": 1.0}, 50, rng.beta(3, 2, 50)))
    assert few.status == "insufficient" and overall_status([few]) == "insufficient"
    assert overall_status(list(checks.values())) == "alert"


BANKING = ["my card was stolen yesterday", "how do i activate my new card", "the atm kept my card", "transfer has not arrived",
           "why was i charged a fee for the transfer", "i want to change my pin", "exchange rate for euros",
           "top up by bank transfer failed", "my payment was declined", "how long does a transfer take"]
TRAVEL = ["flight delayed by three hours", "hotel booking cancelled without notice", "lost luggage at the airport",
          "refund for the cancelled flight", "visa requirements for the trip", "the train to the airport was late"]


def _texts(pool, n, rng):
    return [f"{pool[rng.integers(len(pool))]} {w}" for w in rng.choice(["please", "today", "help", "thanks", "now"], n)]


def test_texts_from_the_same_world_cannot_be_told_apart_new_topics_can():
    rng = np.random.default_rng(3)
    t = DriftThresholds(min_rows=50)
    same = input_drift(_texts(BANKING, 400, rng), _texts(BANKING, 400, rng), t)
    assert same.status == "ok" and 0.4 < same.value < 0.6
    mixed = _texts(BANKING, 250, rng) + _texts(TRAVEL, 150, rng)
    moved = input_drift(_texts(BANKING, 400, rng), mixed, t)
    assert moved.status in ("warn", "alert") and moved.value > 0.65 and moved.p_value < 0.01
    terms = [x["term"] for x in moved.detail["live_terms"]]
    assert {"flight", "airport", "hotel", "luggage"} & set(terms)
    assert any(word in moved.detail["least_like_reference"][0]["text"] for word in ("flight", "hotel", "luggage", "visa", "train", "airport", "refund"))
