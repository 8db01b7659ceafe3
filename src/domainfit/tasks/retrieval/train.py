"""Train the bi-encoder with the shared loop, then index the answer bank into the model's head.

Every method with `adapt` (full, lora, adalora, ia3, adapter, freeze) prepares the encoder as it does for the other
tasks; the loop (`training/loop.py`: checkpoints, --resume, early stopping on validation recall@1, progress events)
trains it on the queries, one row per pair. A method without `adapt` (zeroshot) trains nothing: the untouched
backbone indexes the bank.

The loss is the multiple-negatives ranking loss of sentence-transformers (softmax over scaled cosine similarities,
the query's own answer the positive, the batch's other answers the negatives), written here in a few lines because
the shared loop batches one text per row: the loss embeds the distinct answers of the batch itself, so an answer
that several queries of a batch share is one column with several positives, never a false negative of its own
queries (what sentence-transformers' NoDuplicatesBatchSampler avoids by keeping such rows apart). With
`task_options.negatives: bank`, every answer of the bank is a negative at every step.
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
from domainfit.interfaces import make_task
from domainfit.methods.base import FitResult, Reporter
from domainfit.methods.full import examples_per_second, finish_adaptation
from domainfit.modeling import TextModel
from domainfit.training.loop import LoopState, count_steps, train_loop

__all__ = ["embed_texts", "fit_bi_encoder", "index_model", "ranking_loss"]


def embed_texts(encoder: nn.Module, tokenizer, texts: list[str], *, pooling: str, max_length: int,
                batch_size: int = 128) -> np.ndarray:
    """(len(texts), d) unit-length embeddings of `texts` by `encoder`, in batches of similar length."""
    if not texts:
        return np.zeros((0, encoder.config.hidden_size), dtype=np.float32)
    model = TextModel(encoder, nn.Identity(), pooling=pooling, normalize=True, dropout=0.0)
    device = next(encoder.parameters()).device
    ids = tokenize(tokenizer, texts, max_length)
    return run_model(model, ids, pad_id=tokenizer.pad_token_id or 0, batch_size=batch_size, device=device).numpy()


def index_model(encoder: nn.Module, tokenizer, answers: list[str], task, *, pooling: str, max_length: int) -> TextModel:
    """The bundle's model: `encoder` under a head whose rows are the answers' unit embeddings (the index), so its
    output for a query is the cosine to every answer."""
    vectors = embed_texts(encoder, tokenizer, answers, pooling=pooling, max_length=max_length)
    head = task.build_head(vectors.shape[1], answers)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(vectors))
    model = TextModel(encoder, head, pooling=pooling, normalize=True, dropout=0.0)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def ranking_loss(queries: torch.Tensor, answers: torch.Tensor, positive: torch.Tensor, scale: float) -> torch.Tensor:
    """Multiple-negatives ranking loss: cross-entropy of scale x cosine(query, answer) over the answers given, the
    positive of query i being answers[positive[i]]. Inputs are unit vectors."""
    return nn.functional.cross_entropy(scale * queries.float() @ answers.float().T, positive)


def fit_bi_encoder(cfg: TrainConfig, *, method, task, encoder: nn.Module, tokenizer, pooling: str, train: pd.DataFrame,
                   val: pd.DataFrame, bank: pd.DataFrame, backbone_sha256: str, output, resume: bool,
                   reporter: Reporter) -> FitResult:
    """Adapt and train the encoder on train's (query, answer id) pairs, then index `bank` (id, answer) with it."""
    from accelerate.utils import set_seed

    started = time.perf_counter()
    max_length, opts = cfg.model.max_length, task.options
    ids, texts = bank["id"].tolist(), bank["answer"].tolist()
    pairs = train[train["label"] != opts.no_answer_marker]
    adapt = getattr(method, "adapt", None)
    result = FitResult(model=None, seconds=0.0, info={"trained": adapt is not None and len(pairs) > 0})  # type: ignore[arg-type]
    if result.info["trained"]:
        set_seed(cfg.training.seed)  # adapters draw their initial weights
        adapted = adapt(encoder, cfg.method_options, training=cfg.training, total_steps=count_steps(len(pairs), cfg.training))
        model = TextModel(adapted.encoder, nn.Identity(), pooling=pooling, normalize=True, dropout=0.0)
        row_of = {answer_id: i for i, answer_id in enumerate(ids)}
        answer_ids = tokenize(tokenizer, texts, max_length)
        pad = tokenizer.pad_token_id or 0
        every_answer = torch.arange(len(ids))

        def loss_fn(queries: torch.Tensor, answer_rows: torch.Tensor) -> torch.Tensor:
            shown, positive = (every_answer.to(answer_rows.device), answer_rows) if opts.negatives == "bank" else \
                torch.unique(answer_rows, return_inverse=True)
            feats = {k: v.to(queries.device) for k, v in collate([answer_ids[i] for i in shown.tolist()], pad).items()}
            return ranking_loss(queries, model.embed(**feats), positive, opts.scale)

        plain = make_task(task.name, opts.model_dump())  # validation recall without a no-answer threshold

        def evaluate(m: nn.Module) -> dict:
            scores = embed_texts(m.encoder, tokenizer, val["text"].tolist(), pooling=pooling, max_length=max_length) @ \
                embed_texts(m.encoder, tokenizer, texts, pooling=pooling, max_length=max_length).T
            metrics = plain.metrics(val["label"].tolist(), scores, ids)
            return {k: metrics[k] for k in task.summary_metrics[:4] if metrics.get(k) is not None}

        state = LoopState()
        loop = train_loop(
            model, input_ids=tokenize(tokenizer, pairs["text"].tolist(), max_length),
            targets=torch.tensor([row_of[y] for y in pairs["label"]], dtype=torch.long), loss_fn=loss_fn,
            evaluate=evaluate if (val["label"] != opts.no_answer_marker).any() else None, primary_metric=task.primary_metric,
            cfg=cfg.training, param_lr=adapted.param_lr, pad_id=pad, on_step=adapted.on_step,
            checkpoint_dir=output / "checkpoints", resume=resume, state=state,
            fingerprint_extra={"task": task.name, "method": cfg.method, "answers": ids, "backbone": backbone_sha256,
                               "task_options": opts.model_dump(), "method_options": cfg.method_options},
        )
        for event in loop:
            reporter.event(event)
        finish_adaptation(model, adapted, result)
        encoder = model.encoder
        result.history = state.history
        result.info.update({"best_step": state.best_step, "best_val": state.best_score, "steps": state.step,
                            "stopped_early": state.stopped_early, "pairs": len(pairs), "eval_seconds": round(state.eval_seconds, 2),
                            "train_examples_per_s": examples_per_second(state, len(pairs), cfg.training)})
    else:
        reporter.log(_("no training: the untouched backbone indexes the answer bank"))
    reporter.log(_("indexing {n} answers").format(n=len(ids)))
    result.model = index_model(encoder, tokenizer, texts, task, pooling=pooling, max_length=max_length)
    result.seconds = time.perf_counter() - started
    return result
