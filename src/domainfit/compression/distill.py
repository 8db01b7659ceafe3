"""Distillation: a student with fewer layers, initialised from the teacher's, trained on the teacher's soft labels.

Loss = alpha * T² * KL(student/T ‖ teacher/T) + (1 - alpha) * cross-entropy on the labelled rows. The texts are the
bundle's training split plus, when given, unlabelled in-domain texts (`--unlabelled file.csv`), which only carry the
teacher's soft labels — the cheap way to use the unlabelled text industries have. Trained with the shared loop.
A bundle whose out-of-scope detector reads embeddings gets it refitted on the student's (`refit_detector`), stored in
the variant's folder.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from domainfit.backbones.encoder import tokenize
from domainfit.bundle import Bundle, EncoderMeta, save_model
from domainfit.config.schema import TrainingConfig
from domainfit.data import read_table, resolve_columns
from domainfit.data.clean import cleaner_for
from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.inference import run_model
from domainfit.inference.runners import TorchRunner
from domainfit.inference.variants import own_detector, plain_model, variant_kinds
from domainfit.modeling import TextModel
from domainfit.tasks.out_of_scope import refit_detector
from domainfit.training.loop import train_loop

__all__ = ["DistilledKind", "make_student", "teacher_layers"]


def teacher_layers(n_teacher: int, n_student: int) -> list[int]:
    """Evenly spaced teacher layers ending with the top one: 6 → 3 takes layers 1, 3, 5 (as DistilBERT-style inits)."""
    if not 1 <= n_student <= n_teacher:
        why = _("the student needs between 1 and {n_teacher} layers (the teacher has {n_teacher}); "
                "got {n_student}").format(n_teacher=n_teacher, n_student=n_student)
        raise ConfigError([("--layers", why)])
    return [int((i + 1) * n_teacher / n_student) - 1 for i in range(n_student)]


def make_student(teacher_encoder: nn.Module, n_layers: int) -> nn.Module:
    """A copy of the teacher with only the chosen layers (embeddings and pooler kept)."""
    student = copy.deepcopy(teacher_encoder)
    keep = teacher_layers(student.config.num_hidden_layers, n_layers)
    layers = student.encoder.layer
    student.encoder.layer = nn.ModuleList([layers[i] for i in keep])
    student.config.num_hidden_layers = n_layers
    return student


@variant_kinds.register("distilled")
class DistilledKind:
    quantizations = ("none",)

    @staticmethod
    def build(bundle: Bundle, folder: Path, *, layers: int = 3, unlabelled: str | None = None, epochs: float = 4,
              temperature: float = 2.0, alpha: float = 0.5, lr: float = 1e-4, batch_size: int = 32, reporter=None) -> dict:
        teacher, tokenizer = plain_model(bundle)
        max_len = bundle.meta.model.max_length
        pad = tokenizer.pad_token_id or 0
        train = pd.read_csv(bundle.path / "data" / "train.csv", dtype=str, keep_default_na=False)
        val = pd.read_csv(bundle.path / "data" / "val.csv", dtype=str, keep_default_na=False)
        texts, hard = train["text"].tolist(), [bundle.labels.index(y) for y in train["label"]]
        n_unlabelled = 0
        if unlabelled:
            extra = _read_texts(unlabelled, cleaner_for(bundle.meta.config["data"]))
            texts += extra
            hard += [-1] * len(extra)
            n_unlabelled = len(extra)
        ids = tokenize(tokenizer, texts, max_len)
        teacher_logits = run_model(teacher, ids, pad_id=pad, batch_size=128)
        k = len(bundle.labels)
        targets = torch.cat([torch.softmax(teacher_logits / temperature, -1), torch.tensor(hard, dtype=torch.float32)[:, None]], 1)

        torch.manual_seed(0)
        student = TextModel(make_student(teacher.encoder, layers), copy.deepcopy(teacher.head), pooling=teacher.pooling,
                            normalize=teacher.normalize, dropout=0.1)

        def loss_fn(logits: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            soft, y = t[:, :k], t[:, k].long()
            kd = nn.functional.kl_div(nn.functional.log_softmax(logits / temperature, -1), soft, reduction="batchmean")
            loss = alpha * temperature**2 * kd
            labelled = y >= 0
            if labelled.any():
                loss = loss + (1 - alpha) * nn.functional.cross_entropy(logits[labelled], y[labelled])
            return loss

        val_ids = tokenize(tokenizer, val["text"].tolist(), max_len)

        def evaluate(m: nn.Module) -> dict:
            pred = run_model(m, val_ids, pad_id=pad, batch_size=128).argmax(1).tolist()
            return {"accuracy": sum(bundle.labels[p] == y for p, y in zip(pred, val["label"])) / max(1, len(val))}

        cfg = TrainingConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=2, checkpoint_every=10**9, precision="auto")
        for event in train_loop(student, input_ids=ids, targets=targets, loss_fn=loss_fn, evaluate=evaluate if len(val) else None,
                                primary_metric="accuracy", cfg=cfg, param_lr=lambda n: lr, pad_id=pad):
            if reporter:
                reporter.event(event)
        student.eval()
        save_model(folder, student, tokenizer)
        ood = refit_detector(bundle, student, tokenizer, folder)  # the student's embeddings are not the teacher's
        return {**({"ood": ood} if ood else {}), "layers": layers, "teacher_layers": teacher_layers(teacher.encoder.config.num_hidden_layers, layers),
                "temperature": temperature, "alpha": alpha, "epochs": epochs, "texts": len(texts), "unlabelled_texts": n_unlabelled,
                "parameters": sum(p.numel() for p in student.parameters())}

    @staticmethod
    def load(bundle: Bundle, folder: Path, meta: dict, *, threads: int | None = None):
        student = bundle.meta.model.model_copy(update={"encoder": EncoderMeta(format="transformers")})  # a whole encoder
        student_meta = bundle.meta.model_copy(update={"model": student})
        model, tokenizer = Bundle(path=folder, meta=student_meta).load_model()
        return own_detector(TorchRunner(model, tokenizer.pad_token_id or 0, name=meta["name"]), folder, meta)


def _read_texts(path: str, clean) -> list[str]:
    """The texts of an unlabelled file, cleaned as the teacher's training data was (normalised, redacted)."""
    read = read_table(path)
    col, _unused = resolve_columns(read.frame, None, None, path=str(path), require_label=False)
    texts = [clean(t) for t in read.frame[col].astype(str)]
    return [t for t in texts if t]
