"""The training loop: it learns, stops early, restores the best weights, and resumes to the same result."""

from __future__ import annotations

import torch

from domainfit.backbones import load_backbone, tokenize
from domainfit.config import TrainingConfig
from domainfit.modeling import TextModel
from domainfit.training import length_grouped_batches, train_loop
from domainfit.training.loop import LoopState

from tests.conftest import INTENTS, make_rows


def _setup(tiny_backbone, seed=0):
    torch.manual_seed(seed)
    encoder, tok = load_backbone(tiny_backbone)
    labels = sorted(INTENTS)
    rows = make_rows(20, seed=3)
    ids = tokenize(tok, [t for t, _ in rows], 32)
    targets = torch.tensor([labels.index(y) for _, y in rows])
    model = TextModel(encoder, torch.nn.Linear(16, len(labels)), pooling="mean", normalize=False, dropout=0.1)
    return model, ids, targets, tok.pad_token_id


def _loss(logits, y):
    return torch.nn.functional.cross_entropy(logits, y)


def _run(model, ids, targets, pad, cfg, ckpt, resume=False, stop_after=None, evaluate=None):
    state = LoopState()
    events = []
    for ev in train_loop(model, input_ids=ids, targets=targets, loss_fn=_loss, evaluate=evaluate, primary_metric="acc",
                         cfg=cfg, param_lr=lambda n: cfg.lr * 5 if n.startswith("head.") else cfg.lr, pad_id=pad, checkpoint_dir=ckpt, resume=resume, state=state):
        events.append(ev)
        if stop_after is not None and ev.kind == "step" and ev.step == stop_after:
            break  # the generator is abandoned mid-run, as a killed process would be
    return state, events


def test_length_grouped_batches_cover_everything_once_and_are_deterministic():
    lengths = [((i * 7919) % 50) + 1 for i in range(1000)]
    a = length_grouped_batches(lengths, 16, seed=5)
    b = length_grouped_batches(lengths, 16, seed=5)
    assert a == b
    assert sorted(i for batch in a for i in batch) == list(range(1000))
    # padding waste: tokens padded / tokens real, far below what random batches give
    def waste(batches):
        return sum(len(bt) * max(lengths[i] for i in bt) - sum(lengths[i] for i in bt) for bt in batches) / sum(lengths)
    assert waste(a) < 0.1
    rnd = [list(range(i, min(i + 16, 1000))) for i in range(0, 1000, 16)]
    assert waste(rnd) > 0.5


def test_loop_learns_and_reports(tiny_backbone, tmp_path):
    model, ids, targets, pad = _setup(tiny_backbone)
    cfg = TrainingConfig(epochs=8, batch_size=8, lr=5e-3, patience=None, checkpoint_every=1000, precision="fp32")
    state, events = _run(model, ids, targets, pad, cfg, tmp_path / "ck")
    steps = [e for e in events if e.kind == "step"]
    assert steps[-1].step == state.step == 8 * 8  # 60 rows / batch 8 = 8 batches per epoch
    assert steps[-1].loss < steps[0].loss * 0.7
    assert events[-1].kind == "done"
    assert (tmp_path / "ck" / "checkpoint.safetensors").is_file()  # the final checkpoint


def test_early_stopping_restores_best_weights(tiny_backbone, tmp_path):
    model, ids, targets, pad = _setup(tiny_backbone)
    scores = iter([0.5, 0.9, 0.6, 0.4, 0.3, 0.2, 0.1, 0.0])
    snapshots = []

    def evaluate(m):
        snapshots.append(m.head.weight.detach().clone())
        return {"acc": next(scores)}

    cfg = TrainingConfig(epochs=8, batch_size=8, lr=1e-3, patience=2, checkpoint_every=1000, precision="fp32")
    state, events = _run(model, ids, targets, pad, cfg, tmp_path / "ck", evaluate=evaluate)
    assert state.stopped_early and state.best_step == 16 and len(snapshots) == 4
    assert [e.kind for e in events].count("stop") == 1
    assert torch.equal(model.head.weight, snapshots[1])  # the weights of the best evaluation, not the last


def test_resume_after_interruption_matches_uninterrupted_run(tiny_backbone, tmp_path):
    cfg = TrainingConfig(epochs=3, batch_size=8, lr=2e-3, patience=None, checkpoint_every=5, precision="fp32", grad_accum=2)
    model_a, ids, targets, pad = _setup(tiny_backbone)
    _run(model_a, ids, targets, pad, cfg, tmp_path / "a")

    model_b, *_ = _setup(tiny_backbone)
    _run(model_b, ids, targets, pad, cfg, tmp_path / "b", stop_after=7)  # last checkpoint at step 5
    model_c, *_ = _setup(tiny_backbone, seed=123)  # a fresh process would start from other random weights
    state_c, events = _run(model_c, ids, targets, pad, cfg, tmp_path / "b", resume=True)
    assert [e.step for e in events if e.kind == "step"][0] == 6
    for (name, a), (_, c) in zip(model_a.state_dict().items(), model_c.state_dict().items()):
        assert torch.allclose(a, c, atol=1e-6), name


def test_resume_refuses_a_different_config(tiny_backbone, tmp_path):
    import pytest

    from domainfit.errors import DomainfitError

    cfg = TrainingConfig(epochs=1, batch_size=8, lr=2e-3, patience=None, checkpoint_every=2, precision="fp32")
    model, ids, targets, pad = _setup(tiny_backbone)
    _run(model, ids, targets, pad, cfg, tmp_path / "ck", stop_after=3)
    other = cfg.model_copy(update={"lr": 1e-2})
    with pytest.raises(DomainfitError, match="different configuration"):
        _run(model, ids, targets, pad, other, tmp_path / "ck", resume=True)
    with pytest.raises(DomainfitError, match="nothing to resume"):
        _run(model, ids, targets, pad, cfg, tmp_path / "none", resume=True)
