"""Figures are inline SVG, small, deterministic, and drop per-cell numbers on big confusion matrices."""

import numpy as np

from domainfit.evaluation import plots


def test_confusion_small_has_counts_big_does_not():
    small = plots.confusion_svg([[5, 1], [2, 7]], ["a", "b"])
    assert small.startswith("<svg") and ">7<" in small
    k = 80
    labels = [f"label_number_{i}_with_a_rather_long_name" for i in range(k)]
    matrix = np.diag(np.full(k, 40)) + np.random.default_rng(0).integers(0, 2, (k, k))
    big = plots.confusion_svg(matrix, labels)
    assert ">40<" not in big  # no per-cell numbers past 20 classes
    assert len(big) < 150_000  # cells are one embedded bitmap, not 6,400 vector squares


def test_svg_is_inline_ready_and_deterministic():
    svg = plots.reliability_svg([{"lower": 0.8, "upper": 0.9, "confidence": 0.85, "accuracy": 0.8, "count": 3}], 0.05)
    assert svg.startswith("<svg") and "<?xml" not in svg and "DOCTYPE" not in svg and "<metadata" not in svg
    assert svg == plots.reliability_svg([{"lower": 0.8, "upper": 0.9, "confidence": 0.85, "accuracy": 0.8,
                                          "count": 3}], 0.05)


def test_labels_are_escaped_and_not_mathtext():
    svg = plots.per_class_svg([{"label": "<b>$5_fee$</b>", "f1": 0.5}, {"label": "ok", "f1": 0.9}])
    assert "<b>" not in svg and "&lt;b&gt;$5_fee$&lt;/b&gt;" in svg


def test_nothing_to_draw_gives_empty_string():
    assert plots.confusion_svg([], []) == ""
    assert plots.per_class_svg([]) == ""
    assert plots.reliability_svg([{"lower": 0, "upper": 0.1, "confidence": None, "accuracy": None, "count": 0}]) == ""
    assert plots.comparison_svg([{"name": "x", "accuracy": None, "macro_f1": None}]) == ""
    assert plots.training_svg([{"step": 1, "lr": 0.1}]) == ""


def test_training_curve_with_partial_validation():
    history = [{"step": s, "train_loss": 1 / (s + 1)} for s in range(10)]
    history[5]["val_macro_f1"] = 0.7
    svg = plots.training_svg(history, best_step=5)
    assert "validation macro-F1" in svg and "best step (5)" in svg
