"""Reliability bins and expected calibration error on cases whose answer is known."""

import numpy as np
import pytest

from domainfit.evaluation import expected_calibration_error, reliability_bins


def test_perfectly_calibrated_is_zero():
    # 10 predictions at 0.7 of which 7 are right, 20 at 0.95 of which 19 are right
    conf = [0.7] * 10 + [0.95] * 20
    correct = [True] * 7 + [False] * 3 + [True] * 19 + [False]
    assert expected_calibration_error(conf, correct) == pytest.approx(0.0)


def test_overconfident_known_gap():
    # all predictions at 0.9 confidence, half right: gap 0.4 everywhere
    assert expected_calibration_error([0.9] * 4, [True, False, True, False]) == pytest.approx(0.4)


def test_bins_edges_and_counts():
    bins = reliability_bins([0.0, 0.1, 0.35, 0.999, 1.0], [False, True, True, True, True])
    assert len(bins) == 10
    assert [b["count"] for b in bins] == [1, 1, 0, 1, 0, 0, 0, 0, 0, 2]  # 1.0 belongs to the last bin
    assert bins[0]["lower"] == 0.0 and bins[-1]["upper"] == 1.0
    assert bins[2]["confidence"] is None and bins[2]["accuracy"] is None  # empty bin: null, not a fake 0
    assert bins[9]["accuracy"] == 1.0 and bins[9]["confidence"] == pytest.approx(0.9995)


def test_mismatched_lengths():
    with pytest.raises(ValueError):
        reliability_bins(np.array([0.5, 0.6]), [True])


def test_empty_is_zero():
    assert expected_calibration_error([], []) == 0.0
