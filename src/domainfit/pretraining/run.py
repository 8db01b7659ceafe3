"""`domainfit pretrain`: domain-adaptive pretraining of a backbone on the user's own unlabelled text.

resolve the backbone → read + clean + de-duplicate the corpus → extend the vocabulary (WordPiece, BPE, Unigram) and start the new
embeddings → warm up the new embeddings alone (higher learning rate) → train the chosen objectives on the shared loop
(checkpoints, --resume, early stopping on the held-out loss) → save a plain Hugging Face folder + backbone.json.
"""

from __future__ import annotations

import math
import resource
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from domainfit.backbones.encoder import collate, quiet_transformers
from domainfit.backbones.resolve import ResolvedBackbone, default_pooling, resolve_backbone
from domainfit.bundle_meta import library_versions, now_iso, write_json
from domainfit.config.schema import TrainingConfig
from domainfit.errors import DomainfitError
from domainfit.i18n import _
from domainfit.interfaces import Reporter, SilentReporter, StepEvent
from domainfit.pretraining.config import PretrainConfig
from domainfit.pretraining.corpus import Corpus, read_corpus
from domainfit.pretraining.objectives import Core, PretrainModel, parse_objectives
from domainfit.pretraining.vocab import (
    VocabPlan,
    check_extendable,
    coverage,
    extend_tokenizer,
    init_new_embeddings,
    new_rows,
    plan_extension,
)
from domainfit.pretraining.words import pack, tokenize_words
from domainfit.training.checkpoint import CHECKPOINT_FILE
from domainfit.training.loop import LoopState, train_loop

__all__ = ["BACKBONE_FILE", "run_pretrain"]

BACKBONE_FILE = "backbone.json"
_WORK, _CHECKPOINTS = ".work", "checkpoints"
# what a sentence-transformers folder holds besides the model and tokenizer: the pooling the backbone was trained for
_ST_FILES = ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json")


def _load(folder: str) -> tuple[Any, Any, Any]:
    """(tokenizer, base AutoModel, masked-LM model whose base model *is* that AutoModel)."""
    import logging

    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

    quiet_transformers()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    base = AutoModel.from_pretrained(folder)
    try:
        mlm = AutoModelForMaskedLM.from_pretrained(folder)  # a sentence encoder has no MLM head: it starts random
    except ValueError as e:
        raise DomainfitError(_("the backbone in {folder} has no masked-language-model form ({error})").format(folder=folder, error=e),
                             where="--model", hint=_("pretrain an encoder (BERT, MiniLM, RoBERTa, ...)")) from None
    setattr(mlm, mlm.base_model_prefix, base)
    mlm.tie_weights()
    return tokenizer, base, mlm


def _extend(cfg: PretrainConfig, tokenizer: Any, base: Any, mlm: Any, texts: list[str]) -> tuple[Any, VocabPlan]:
    if cfg.extend_vocab == "off":
        return tokenizer, VocabPlan()
    check_extendable(tokenizer)  # refuses a tokenizer it cannot extend before any work
    plan = plan_extension(tokenizer, texts, budget=cfg.extend_vocab, words=cfg.words, min_count=cfg.min_count)
    if not plan.tokens:
        return tokenizer, plan
    old_rows = base.get_input_embeddings().weight.shape[0]
    new = extend_tokenizer(tokenizer, plan)
    ids, pieces = new_rows(tokenizer, new, plan)
    mlm.resize_token_embeddings(max(len(new), old_rows), mean_resizing=False)
    base.config.vocab_size = base.get_input_embeddings().weight.shape[0]
    init_new_embeddings(base.get_input_embeddings(), ids, pieces, old_size=old_rows, strategy=cfg.init, seed=cfg.seed)
    mlm.tie_weights()
    return new, plan


def _training_cfg(cfg: PretrainConfig, n: int, steps: int, *, lr: float, evaluate: bool) -> TrainingConfig:
    per_epoch = math.ceil(n / cfg.batch_size)
    return TrainingConfig(
        epochs=steps / per_epoch, batch_size=cfg.batch_size, lr=lr, weight_decay=0.01 if evaluate else 0.0,
        warmup_ratio=0.06 if evaluate else 0.0, patience=cfg.patience if evaluate else None,
        evals_per_epoch=max(1, per_epoch // cfg.eval_every), checkpoint_every=cfg.checkpoint_every,
        precision=cfg.precision, seed=cfg.seed,
    )


def _measure(model: PretrainModel, batches: list[dict], seed: int) -> dict[str, float]:
    """Mean held-out losses with masking/noise drawn from a fixed seed (the same masks every time), the training RNG
    left untouched so that --resume still continues to the same result."""
    if not batches:
        return {}
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for feats in batches:
            for k, v in model.measure(**feats).items():
                sums[k] = sums.get(k, 0.0) + v
    model.train(was_training)
    return {k: v / len(batches) for k, v in sums.items()}


def _freeze_to_new_rows(model: PretrainModel, embeddings: torch.nn.Embedding, first_new: int) -> Callable[[], None]:
    """Train only the new embedding rows (and the masked-LM head); returns the function that undoes it."""
    saved = {n: p.requires_grad for n, p in model.named_parameters()}
    for n, p in model.named_parameters():
        p.requires_grad = n.startswith("mlm.cls.") or p is embeddings.weight
    keep = torch.zeros(embeddings.weight.shape[0], 1)
    keep[first_new:] = 1.0
    handle = embeddings.weight.register_hook(lambda g: g * keep.to(g.device, g.dtype))

    def undo() -> None:
        handle.remove()
        for n, p in model.named_parameters():
            p.requires_grad = saved[n]

    return undo


def _phase(events: Iterator[StepEvent], reporter: Reporter, model: PretrainModel, curve: list[dict], phase: str) -> None:
    for event in events:
        if event.kind == "step":
            curve.append({"phase": phase, "step": event.step, "loss": round(event.loss or 0.0, 5), **model.last})
        elif event.kind == "eval" and curve:
            curve[-1].update({f"heldout_{k}": v for k, v in (event.metrics or {}).items() if k != "score"})
        reporter.event(event)


def _save(out: Path, base: Any, tokenizer: Any, source: Path) -> None:
    base.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    for name in _ST_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    for sub in source.glob("[0-9]_*"):  # 1_Pooling/, 2_Normalize/: the pooling, no weights of the encoder
        if sub.is_dir() and not (out / sub.name).exists():
            shutil.copytree(sub, out / sub.name)


def _check_output(out: Path, resume: bool, overwrite: bool) -> None:
    if resume:
        if not (out / _CHECKPOINTS).is_dir():
            raise DomainfitError(_("nothing to resume in {out}: no {folder}/ folder").format(out=out, folder=_CHECKPOINTS), where="--resume",
                                 hint=_("run without --resume to start, or point -o at the folder of the interrupted run"))
        return
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise DomainfitError(_("{out} already exists and is not empty").format(out=out), where="-o",
                                 hint=_("pass --overwrite to replace it, --resume to continue an interrupted run, or another -o"))
        shutil.rmtree(out)


def _peak_memory_mib() -> float:
    if torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def run_pretrain(cfg: PretrainConfig, *, resume: bool = False, overwrite: bool = False,
                 reporter: Reporter | None = None) -> Path:
    """Pretrain `cfg.backbone` on `cfg.source`; returns the output folder (AutoModel/AutoTokenizer load it)."""
    reporter = reporter or SilentReporter()
    started = time.perf_counter()
    names = parse_objectives(cfg.objective)
    out = Path(cfg.output)
    resolved: ResolvedBackbone = resolve_backbone(cfg.backbone)
    corpus: Corpus = read_corpus(cfg.source, text_column=cfg.text_column, encoding=cfg.encoding, delimiter=cfg.delimiter,
                                 normalize=cfg.normalize, redact=cfg.redact, heldout=cfg.heldout, seed=cfg.seed,
                                 max_texts=cfg.max_texts)
    _check_output(out, resume, overwrite)
    c = corpus.counts
    reporter.log(_("corpus: {kept} texts kept of {read} read ({empty} empty, {duplicates} duplicates dropped); "
                   "{train} for training, {heldout} held out").format(
        kept=c["kept"], read=c["read"], empty=c["empty"], duplicates=c["duplicates"], train=c["train"], heldout=c["heldout"]))

    torch.manual_seed(cfg.seed)  # a sentence encoder's MLM head starts random: the same seed, the same start (--resume)
    tokenizer, base, mlm = _load(resolved.path)
    measured_on = corpus.heldout or corpus.train
    cov_before = coverage(tokenizer, measured_on)
    old_rows = base.get_input_embeddings().weight.shape[0]
    tokenizer, plan = _extend(cfg, tokenizer, base, mlm, corpus.train)
    cov_after = coverage(tokenizer, measured_on)
    reporter.log(_("vocabulary: {chars} characters and {words} words added; [UNK] {unk_before} → {unk_after}, "
                   "tokens per character {tpc_before} → {tpc_after}").format(
        chars=len(plan.chars), words=len(plan.words), unk_before=f"{cov_before['unk_share']:.1%}",
        unk_after=f"{cov_after['unk_share']:.1%}", tpc_before=f"{cov_before['tokens_per_char']:.2f}",
        tpc_after=f"{cov_after['tokens_per_char']:.2f}"))

    work = out / _WORK  # the extended backbone before training: the sentence objectives load their config from it
    work.mkdir(parents=True, exist_ok=True)
    base.save_pretrained(str(work), safe_serialization=True)
    tokenizer.save_pretrained(str(work))
    pooling, _normalize = default_pooling(resolved.path)
    core = Core(mlm=mlm, base=base, tokenizer=tokenizer, folder=work, pooling=pooling)
    model = PretrainModel(core, names)

    ids, conts = tokenize_words(tokenizer, corpus.train, cfg.max_length)
    train_ids = pack(ids, conts)
    h_ids, h_conts = tokenize_words(tokenizer, corpus.heldout, cfg.max_length)
    held = pack(h_ids, h_conts)
    pad = tokenizer.pad_token_id * 2
    held_batches = [collate(held[i : i + cfg.batch_size], pad) for i in range(0, len(held), cfg.batch_size)]
    total = cfg.steps or max(1, round(cfg.epochs * math.ceil(len(train_ids) / cfg.batch_size)))
    warm = (cfg.warmup_steps if cfg.warmup_steps is not None else min(200, total // 10)) if plan.tokens else 0
    primary = "mlm" if "mlm" in names else names[0]
    before = _measure(model, held_batches, cfg.seed)
    targets = torch.zeros(len(train_ids))
    curve: list[dict] = []
    extra = {"corpus": corpus.fingerprint, "backbone": resolved.sha256, "objective": names, "tokens": plan.tokens[:50],
             "added": len(plan.tokens)}

    def loss_fn(out_: torch.Tensor, _targets: torch.Tensor) -> torch.Tensor:
        return out_

    common = {"input_ids": train_ids, "targets": targets, "loss_fn": loss_fn, "pad_id": pad, "fingerprint_extra": extra}

    def resumes(phase: str) -> dict:  # a kill during warm-up leaves no checkpoint of the main phase yet
        folder = out / _CHECKPOINTS / phase
        return {"checkpoint_dir": folder, "resume": resume and (folder / CHECKPOINT_FILE).is_file()}

    after_warmup = None
    if warm:
        reporter.log(_("warm-up: {steps} steps training only the {n} new embeddings (learning rate {lr})").format(
            steps=warm, n=len(plan.tokens), lr=f"{cfg.lr * cfg.warmup_lr_scale:.1e}"))
        undo = _freeze_to_new_rows(model, base.get_input_embeddings(), old_rows)
        wcfg = _training_cfg(cfg, len(train_ids), warm, lr=cfg.lr * cfg.warmup_lr_scale, evaluate=False)
        _phase(train_loop(model, evaluate=None, primary_metric="none", cfg=wcfg, param_lr=lambda _n: wcfg.lr,
                          **resumes("warmup"), **common), reporter, model, curve, "warmup")
        undo()
        after_warmup = _measure(model, held_batches, cfg.seed)

    def evaluate(m: PretrainModel) -> dict:
        losses = _measure(m, held_batches, cfg.seed)
        return {"score": -losses.get(primary, 0.0), **{f"{k}_loss": round(v, 5) for k, v in losses.items()}}

    mcfg = _training_cfg(cfg, len(train_ids), total, lr=cfg.lr, evaluate=True)
    state = LoopState()
    _phase(train_loop(model, evaluate=evaluate if held_batches else None, primary_metric="score", cfg=mcfg,
                      param_lr=lambda _n: cfg.lr, state=state, **resumes("main"), **common),
           reporter, model, curve, "main")
    after = _measure(model, held_batches, cfg.seed)

    _save(out, base, tokenizer, Path(resolved.path))
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(out / _CHECKPOINTS, ignore_errors=True)
    seconds = time.perf_counter() - started
    mean_len = sum(len(x) for x in train_ids) / len(train_ids)
    steps_done = state.step + (warm if warm else 0)
    train_seconds = max(state.seconds - state.eval_seconds, 1e-9)

    def ppl(losses: dict | None) -> dict | None:
        if not losses:
            return None
        return {**{f"{k}_loss": round(v, 5) for k, v in losses.items()},
                "mlm_perplexity": round(math.exp(min(losses["mlm"], 50)), 3)}

    meta = {
        "format": "domainfit-backbone", "format_version": 1, "created": now_iso(),
        "base": resolved.to_dict(),
        "corpus": corpus.to_dict(),
        "tokens_added": {**plan.summary(), "init": cfg.init if plan.tokens else None},
        "objective": "+".join(names),
        "steps": {"warmup": warm, "main": state.step, "total": steps_done, "stopped_early": state.stopped_early,
                  "best_step": state.best_step},
        "heldout": {"texts": len(corpus.heldout), "before": ppl(before), "after_warmup": ppl(after_warmup),
                    "after": ppl(after)},
        "coverage": {"before": cov_before, "after": cov_after},
        "speed": {"seconds": round(seconds, 1), "train_seconds": round(state.seconds, 1),
                  "tokens_per_second": round(mean_len * cfg.batch_size * state.step / train_seconds, 1),
                  "peak_memory_mib": _peak_memory_mib(), "device": "cuda" if torch.cuda.is_available() else "cpu"},
        "config": cfg.model_dump(mode="json"),
        "curve": curve,
        "versions": library_versions(),
    }
    write_json(out / BACKBONE_FILE, meta)
    return out
