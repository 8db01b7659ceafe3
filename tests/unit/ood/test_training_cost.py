"""The out-of-scope step at training time reuses what the method computed: head's cached embeddings of both splits,
the training loop's best validation evaluation; the detector it fits is the one a fresh pass through the saved model
gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import domainfit
from domainfit.bundle import load_bundle
from domainfit.ood import OutOfScopeOptions
from domainfit.ood.fit import fit_out_of_scope
from domainfit.tasks.out_of_scope import model_outputs_of
from tests.conftest import make_rows, write_csv


def _fresh_state(bundle_path):
    """The detector refitted from fresh passes of the saved model over the bundle's own splits."""
    bundle = load_bundle(bundle_path)
    state = bundle.meta.task_state["out_of_scope"]
    model, tokenizer = bundle.load_model()
    read = {s: pd.read_csv(bundle_path / "data" / f"{s}.csv", dtype=str, keep_default_na=False) for s in ("train", "val")}
    outs = {s: model_outputs_of(model, tokenizer, f, bundle.labels, bundle.meta.model.max_length) for s, f in read.items()}
    opts = OutOfScopeOptions.model_validate(bundle.meta.task_options["out_of_scope"])
    fresh, _ = fit_out_of_scope(opts, bundle.labels, outs["train"], outs["val"], seed=bundle.meta.training.get("seed", 0))
    return state, fresh


def test_full_reads_the_best_validation_evaluation_instead_of_a_second_pass(refuse_bundle):
    state, fresh = _fresh_state(refuse_bundle)
    assert state["reused"] == ["val"]  # the training split still takes its pass: training ran it with dropout
    assert state["seconds"] >= 0
    assert state["threshold"] == pytest.approx(fresh["threshold"], rel=1e-3)
    assert state["validation"]["in_scope_accuracy"] == pytest.approx(fresh["validation"]["in_scope_accuracy"])


def test_head_reads_both_splits_from_its_embedding_cache(tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "rows.csv", make_rows(30, seed=4))
    out = tmp_path / "head"
    domainfit.train({"method": "head", "data": {"train": str(data)}, "model": {"backbone": str(tiny_backbone), "max_length": 32},
                     "training": {"seed": 4}, "baselines": [],
                     "task_options": {"out_of_scope": {"detector": "mahalanobis", "keep": 0.9}}, "output": str(out)})
    state, fresh = _fresh_state(out)
    assert state["reused"] == ["train", "val"]
    assert state["threshold"] == pytest.approx(fresh["threshold"], rel=1e-3)
    assert np.isfinite(state["threshold"])
