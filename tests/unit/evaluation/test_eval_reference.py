"""reference_stats: shares and histograms that add up, fixed edges for binning live traffic later."""

import json

import numpy as np
import pytest

from domainfit.evaluation import confidence_histogram, length_histogram, reference_stats


def test_reference_stats_sums():
    texts = ["short", "a bit longer text here", "x" * 5000, "mid length sentence of words"]
    proba = np.array([[0.9, 0.1, 0.0], [0.3, 0.7, 0.0], [0.5, 0.5, 0.0], [0.2, 0.0, 0.8]])
    stats = reference_stats(texts, proba, ["a", "b", "c"])
    json.dumps(stats, allow_nan=False)
    assert stats["n"] == 4
    assert stats["label_distribution"] == {"a": 0.5, "b": 0.25, "c": 0.25}  # ties go to the first column
    assert sum(stats["label_distribution"].values()) == pytest.approx(1.0)
    conf = stats["confidence_histogram"]
    assert len(conf["edges"]) == 21 and len(conf["counts"]) == 20 and sum(conf["counts"]) == 4
    length = stats["length_histogram"]
    assert len(length["counts"]) == len(length["edges"]) - 1 and sum(length["counts"]) == 4
    assert length["counts"][-1] == 1  # 5000 characters: past the last edge, counted in the open last bin
    assert stats["mean_confidence"] == pytest.approx((0.9 + 0.7 + 0.5 + 0.8) / 4)
    assert stats["mean_length"] == pytest.approx(np.mean([len(t) for t in texts]))


def test_edges_are_fixed_so_live_traffic_bins_the_same():
    assert length_histogram(["a"])["edges"] == length_histogram(["b" * 900])["edges"]
    counts = confidence_histogram([0.0, 0.15, 1.0])["counts"]
    assert counts[0] == 1 and counts[3] == 1 and counts[19] == 1


def test_empty_raises():
    with pytest.raises(ValueError):
        reference_stats([], np.zeros((0, 2)), ["a", "b"])
