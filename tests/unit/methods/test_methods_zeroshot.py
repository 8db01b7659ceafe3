"""Zero-shot: label descriptions alone (no training file), and prototypes from a few examples."""

from __future__ import annotations

import json

import domainfit
from tests.conftest import make_rows, write_csv


def test_zeroshot_without_training_data_uses_label_descriptions(tiny_backbone, tmp_path):
    test = write_csv(tmp_path / "test.csv", make_rows(4, seed=3) + [("something unrelated", "weather")])
    out = tmp_path / "zs"
    model = domainfit.train({
        "method": "zeroshot",
        "method_options": {"labels": {"card": "card lost stolen blocked pin", "loan": "loan mortgage rate borrow repay",
                                      "transfer": "transfer payment sent arrived account"}},
        "data": {"test": str(test)},
        "model": {"backbone": str(tiny_backbone)},
        "output": str(out),
    })
    meta = json.loads((out / "domainfit.json").read_text())
    assert model.labels == ["card", "loan", "transfer"] and meta["model"]["trainable_parameters"] == 0
    metrics = model.metrics
    assert metrics["n"] == 12  # the unknown label "weather" is rejected, not lost:
    rejects = (out / "rejects.csv").read_text(encoding="utf-8-sig")
    assert "something unrelated" in rejects and "unknown_label" in rejects
    assert meta["data"]["counts"]["rows_in"] == 13
    assert set(metrics["baselines"]) == {"zeroshot"}  # tfidf needs training rows: skipped


def test_zeroshot_prototypes_use_the_examples(tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "d.csv", make_rows(10, seed=5))
    model = domainfit.train({"method": "zeroshot", "data": {"train": str(data)}, "model": {"backbone": str(tiny_backbone)},
                             "baselines": [], "output": str(tmp_path / "p")})
    meta = json.loads((tmp_path / "p" / "domainfit.json").read_text())
    assert meta["training"]["prototypes"] is True
    assert model.metrics["model"]["accuracy"] >= 0.0  # evaluated on the split-off test rows
