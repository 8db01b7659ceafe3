"""Train the two towers with the shared loop, then build the item index.

One training row per (history, next item) of the training interactions: the loop batches the next item's text (the
item tower embeds it), and the row's target holds the item's catalogue row and its last N history rows; the loss
(`towers.two_tower_loss`) embeds the batch's distinct history items, pools them with the user tower and contrasts
each user with the batch's next items. Every method with `adapt` (full, lora, adalora, ia3, adapter, freeze) prepares
the encoder as for every task; zeroshot trains nothing (the untouched backbone indexes the catalogue).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from domainfit.backbones.encoder import collate, tokenize
from domainfit.config.schema import TrainConfig
from domainfit.i18n import _
from domainfit.inference import run_model
from domainfit.methods.base import FitResult, Reporter
from domainfit.methods.full import examples_per_second, finish_adaptation
from domainfit.modeling import TextModel
from domainfit.tasks.recommend.index import ItemIndex
from domainfit.tasks.recommend.metrics import exclude, ranking_metrics
from domainfit.tasks.recommend.towers import TwoTower, make_pooler, pool_numpy, two_tower_loss
from domainfit.training.loop import LoopState, count_steps, train_loop

__all__ = ["embed_items", "fit_two_tower", "training_rows"]

MAX_VAL_CASES = 2000  # validation during training: at most this many cases (seeded), the full catalogue


def embed_items(encoder: nn.Module, tokenizer, texts: list[str], *, pooling: str, max_length: int) -> np.ndarray:
    """(len(texts), d) unit embeddings by `encoder` (the item tower)."""
    if not texts:
        return np.zeros((0, encoder.config.hidden_size), dtype=np.float32)
    model = TextModel(encoder, nn.Identity(), pooling=pooling, normalize=True, dropout=0.0)
    device = next(encoder.parameters()).device
    ids = tokenize(tokenizer, texts, max_length)
    return run_model(model, ids, pad_id=tokenizer.pad_token_id or 0, batch_size=128, device=device).float().numpy()


def training_rows(train: pd.DataFrame, row: dict[str, int], n: int, per_user: int | None) -> np.ndarray:
    """(rows, 1 + n) int64: [target row, history rows right-aligned, -1 padded], one per next item of each training
    sequence (the most recent `per_user` of each user's, if set)."""
    out = []
    for _user, items in train.groupby("user", sort=True)["item"]:
        seq = [row[i] for i in items if i in row]
        cases = list(range(1, len(seq)))
        if per_user:
            cases = cases[-per_user:]
        for p in cases:
            hist = seq[max(0, p - n):p]
            out.append([seq[p]] + [-1] * (n - len(hist)) + hist)
    return np.asarray(out, dtype=np.int64).reshape(-1, 1 + n)


def fit_two_tower(cfg: TrainConfig, *, method, task, encoder: nn.Module, tokenizer, pooling: str, data,
                  popularity: np.ndarray, backbone_sha256: str, output, resume: bool, reporter: Reporter
                  ) -> tuple[FitResult, nn.Module, ItemIndex]:
    """(fit with the bundle's TextModel = encoder + identity head, the trained user tower, the index)."""
    from accelerate.utils import set_seed

    started = time.perf_counter()
    opts, max_length = task.options, cfg.model.max_length
    ids, texts = data.items["id"].tolist(), data.items["text"].tolist()
    row = {item: i for i, item in enumerate(ids)}
    n = opts.history_length
    rows = training_rows(data.train, row, n, opts.max_cases_per_user)
    pooler = make_pooler(opts.user_tower, encoder.config.hidden_size, n, opts.recency_decay)
    adapt = getattr(method, "adapt", None)
    result = FitResult(model=None, seconds=0.0, info={"trained": adapt is not None and len(rows) > 0,  # type: ignore[arg-type]
                                                        "training_cases": len(rows)})
    val = data.val
    if len(val) > MAX_VAL_CASES:
        pick = np.random.default_rng(cfg.training.seed).choice(len(val), MAX_VAL_CASES, replace=False)
        val = [val[i] for i in sorted(pick)]
    if result.info["trained"]:
        set_seed(cfg.training.seed)
        adapted = adapt(encoder, cfg.method_options, training=cfg.training, total_steps=count_steps(len(rows), cfg.training))
        model = TwoTower(adapted.encoder, pooler, pooling=pooling)
        item_ids = tokenize(tokenizer, texts, max_length)
        pad = tokenizer.pad_token_id or 0
        sample_p = torch.as_tensor((popularity + 1.0) / (popularity + 1.0).sum(), dtype=torch.float32)

        def loss_fn(item_vecs: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            hist = t[:, 1:]
            distinct, inverse = torch.unique(hist.clamp(min=0), return_inverse=True)
            feats = {k: v.to(item_vecs.device) for k, v in collate([item_ids[i] for i in distinct.tolist()], pad).items()}
            vecs = model(**feats)[inverse]  # (B, n, d)
            users = model.head(vecs, (hist >= 0).to(vecs.dtype))
            extra = None
            if opts.extra_negatives:
                drawn = torch.multinomial(sample_p, opts.extra_negatives, replacement=False)
                ef = {k: v.to(item_vecs.device) for k, v in collate([item_ids[i] for i in drawn.tolist()], pad).items()}
                extra = model(**ef)
            return two_tower_loss(users, item_vecs, t[:, 0], opts.scale, extra)

        def evaluate(m: nn.Module) -> dict:
            vectors = embed_items(m.encoder, tokenizer, texts, pooling=pooling, max_length=max_length)
            return {k: v for k, v in case_metrics(m.head, vectors, val, row, n, popularity, opts.exclude_seen).items()
                    if k in task.summary_metrics[:4] and v is not None}

        state = LoopState()
        loop = train_loop(
            model, input_ids=[item_ids[i] for i in rows[:, 0]], targets=torch.as_tensor(rows), loss_fn=loss_fn,
            evaluate=evaluate if val and opts.eval_during_training else None, primary_metric=task.primary_metric, cfg=cfg.training,
            param_lr=adapted.param_lr, pad_id=pad, on_step=adapted.on_step, checkpoint_dir=output / "checkpoints",
            resume=resume, state=state,
            fingerprint_extra={"task": task.name, "method": cfg.method, "items": len(ids), "backbone": backbone_sha256,
                               "task_options": opts.model_dump(), "method_options": cfg.method_options},
        )
        for event in loop:
            reporter.event(event)
        text_model = TextModel(model.encoder, nn.Identity(), pooling=pooling, normalize=True, dropout=0.0)
        finish_adaptation(text_model, adapted, result)
        encoder, pooler = text_model.encoder, model.head
        result.history = state.history
        result.info.update({"best_step": state.best_step, "best_val": state.best_score, "steps": state.step,
                            "stopped_early": state.stopped_early, "eval_seconds": round(state.eval_seconds, 2),
                            "train_examples_per_s": examples_per_second(state, len(rows), cfg.training)})
    else:
        reporter.log(_("no training: the untouched backbone indexes the catalogue"))
    reporter.log(_("indexing {n} items").format(n=len(ids)))
    model = TextModel(encoder, nn.Identity(), pooling=pooling, normalize=True, dropout=0.0).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    pooler.eval()
    vectors = embed_items(encoder, tokenizer, texts, pooling=pooling, max_length=max_length)
    items = data.items
    index = ItemIndex(ids=ids, texts=texts, vectors=vectors, popularity=popularity.astype(np.float64),
                      category=items["category"].tolist() if "category" in items else [],
                      created=items["created"].tolist() if "created" in items else [],
                      numeric={c: items[c].astype(float).tolist() for c in data.numeric})
    result.model = model
    result.seconds = time.perf_counter() - started
    return result, pooler, index


def case_scores(pooler: nn.Module, vectors: np.ndarray, cases, row: dict[str, int], n: int) -> np.ndarray:
    """(cases, items) cosine of each case's pooled history to every item."""
    histories = [[row[i] for i in c.history if i in row] for c in cases]
    return pool_numpy(pooler, vectors, histories, n) @ vectors.T


def case_metrics(pooler: nn.Module, vectors: np.ndarray, cases, row: dict[str, int], n: int, popularity: np.ndarray,
                 exclude_seen: bool) -> dict:
    if not cases:
        return {}
    scores = case_scores(pooler, vectors, cases, row, n)
    truth = [row[c.target] for c in cases]
    if exclude_seen:
        scores = exclude(scores, [[row[i] for i in c.history if i in row] for c in cases], keep=truth)
    return ranking_metrics(scores, truth, popularity=popularity)
