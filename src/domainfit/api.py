"""The public Python API: `train`, `load`, `evaluate`, `check_data`. The CLI is a thin shell over these."""

# The functions import their work when called: `import domainfit` stays light (no torch or transformers until a model
# is trained or loaded), and each entry point pulls only its own stack.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from domainfit.config.load import load_config
from domainfit.config.schema import DataConfig, TrainConfig

__all__ = ["Model", "bench", "check_data", "compare", "compress", "evaluate", "load", "redact", "redact_file", "retrain", "train"]


class Model:
    """A trained bundle ready to predict. `domainfit.load(path)` or the return value of `domainfit.train(...)`."""

    def __init__(self, path: str | Path, **predictor_kwargs: Any) -> None:
        """`predictor_kwargs`: variant ("auto", "torch", "onnx-int8", ...), threads, batch_size."""
        from domainfit.predict import Predictor

        self._predictor = Predictor.from_bundle(path, **predictor_kwargs)
        self.path = Path(path)

    @property
    def meta(self) -> dict:
        """The bundle's domainfit.json as a plain dict (a fresh copy each time), for users to index and inspect;
        domainfit's own code reads the typed `bundle.BundleMeta` (`Bundle.meta`) instead."""
        return self._predictor.bundle.meta.to_dict()

    @property
    def variant(self) -> str:
        """Which variant runs the predictions ("torch" or a compressed one)."""
        return self._predictor.variant

    @property
    def labels(self) -> list[str]:
        return self._predictor.labels

    @property
    def task(self) -> str:
        return self._predictor.bundle.task

    @property
    def metrics(self) -> dict | None:
        """The test metrics written at training time (metrics.json), model and baselines."""
        return self._predictor.bundle.read_json("metrics.json")

    def predict(self, texts: Sequence[str], *, top_k: int = 1) -> list[dict]:
        """One dict per text: classification {"label", "score", "top_k"}; multilabel {"labels", "scores", "label",
        "score"}; regression {"score"}; retrieval {"label" (answer id), "answer", "score", "no_answer", "answers"}."""
        return self._predictor.predict(texts, top_k=top_k)

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        return self._predictor.predict_scores(texts)

    def evaluate(self, data: str | Path, **kwargs: Any) -> dict:
        return evaluate(self.path, data, **kwargs)

    def __repr__(self) -> str:
        return f"Model({str(self.path)!r}, task={self.task!r}, method={self._predictor.bundle.meta.method!r}, labels={len(self.labels)})"


def train(config: str | Path | Mapping | TrainConfig | None = None, *, resume: bool = False, overwrite: bool = False,
          overrides: Sequence[str] = (), reporter=None, **values: Any) -> Model:
    """Train and return the model. `config`: a YAML path, a dict or a TrainConfig; `values`: dotted keys
    (e.g. `**{"data.train": "tickets.csv", "training.epochs": 3}`); `overrides`: "key=value" strings; `overwrite`:
    replace a bundle already at the output folder (once the new one is complete)."""
    from domainfit.tasks.skeleton import run_training

    cfg = load_config(config, values=values, overrides=overrides)
    return Model(run_training(cfg, resume=resume, overwrite=overwrite, reporter=reporter))


def load(path: str | Path, **predictor_kwargs: Any) -> Model:
    """Open a bundle written by `train`."""
    return Model(path, **predictor_kwargs)


def evaluate(bundle: str | Path, data: str | Path, *, out_dir: str | Path | None = None, text_column: str | None = None,
             label_column: str | None = None, encoding: str | None = None, baselines: Sequence[str] | None = None,
             reporter=None) -> dict:
    """Metrics and report.html of a bundle on a labelled file (default output: <bundle>/evaluations/<file stem>/)."""
    from domainfit.bundle import read_meta
    from domainfit.interfaces import workflow_for

    workflow = workflow_for(read_meta(bundle).task)  # the workflow loads and verifies the bundle itself
    return workflow.evaluate_bundle(bundle, data, out_dir=out_dir, text_column=text_column, label_column=label_column,
                                    encoding=encoding, baseline_names=baselines, reporter=reporter)


def check_data(train: str | Path, *, test: str | Path | None = None, val: str | Path | None = None,
               text_column: str | None = None, label_column: str | None = None, encoding: str | None = None,
               model: str | None = None, max_length: int = 128, task: str | None = None,
               task_options: Mapping | None = None, **data_options: Any):
    """Every problem in the data before any training (a DataReport). The backbone's tokenizer is used for the
    truncation and vocabulary-coverage checks; `task` (with `task_options`) says how the label column is read
    (default: the task the file's extension names, `.conll` entity recognition, else classification)."""
    from transformers import AutoTokenizer

    from domainfit.backbones import resolve_backbone
    from domainfit.interfaces import infer_task, make_task, workflow_for

    task = task or infer_task(train) or "classification"
    cfg = DataConfig(train=train, test=test, val=val, text_column=text_column, label_column=label_column,
                     encoding=encoding, **data_options)
    checked_task = make_task(task, dict(task_options or {}))
    backbone = resolve_backbone(model)
    tokenizer = AutoTokenizer.from_pretrained(backbone.path)
    return workflow_for(task).check_data(cfg, task=checked_task, tokenizer=tokenizer, max_length=max_length, model_name=backbone.name)


def retrain(bundle: str | Path, new_data: str | Path, **kwargs: Any) -> dict:
    """A challenger on the new rows plus a replay of the bundle's training rows, scored against the bundle on old and
    new test rows, promoted in the registry only if it wins (see `domainfit.retraining.run.retrain`)."""
    from domainfit.retraining.run import retrain as _retrain

    return _retrain(bundle, new_data, **kwargs)


def redact(texts: Sequence[str], kinds: bool | str | Sequence[str] = True) -> list[str]:
    """The texts with personal data (names, phones, ID cards, bank cards, emails) replaced by [NAME], [PHONE], ..."""
    from domainfit.data.pii import Redactor

    redactor = Redactor(kinds)
    return [redactor(t) for t in texts]


def redact_file(path: str | Path, output: str | Path | None = None, **kwargs: Any):
    """A redacted copy of a table (see `domainfit.data.redact.redact_file`); returns what was replaced, counted."""
    from domainfit.data.redact import redact_file as _redact_file

    return _redact_file(path, output, **kwargs)


def compare(data: str | Path, *, methods: Sequence[str] = (),
            shots: str | Sequence[int | str] = "8,16,32,all", seeds: int = 3, output: str | Path = "runs/compare",
            test: str | Path | None = None, val: str | Path | None = None, text_column: str | None = None,
            label_column: str | None = None, model: str | None = None, overrides: Sequence[str] = (),
            config: Mapping | None = None, keep_bundles: bool = False, resume: bool = False, reporter=None) -> dict:
    """Train every method at every labelled-data budget and score all on one test split (`methods`: default
    zeroshot, tfidf, head, fewshot, lora, full less what the task cannot do, plus its own baselines; `resume`: reuse the runs
    an interrupted compare into the same `output` finished, when their sampled data and config are the same).
    Returns {"runs", "leaderboard", "recommendation"}; writes leaderboard.json/.csv and report.html to `output`."""
    from domainfit.comparison import parse_shots, run_compare
    from domainfit.config.load import parse_override, set_dotted

    base: dict = {k: v for k, v in dict(config or {}).items()}
    if model:
        set_dotted(base, "model.backbone", model)
    for item in overrides:
        set_dotted(base, *parse_override(item))
    return run_compare(data, methods_=[m.strip() for m in methods if m.strip()], shots=parse_shots(shots), seeds=seeds,
                       output=output, test=test, val=val, text_column=text_column, label_column=label_column, base=base,
                       keep_bundles=keep_bundles, resume=resume, reporter=reporter)


def compress(bundle: str | Path, *, to: str = "onnx", quantize: str = "int8", distill_layers: int | None = None,
             base: str | None = None, tolerance: float = 1.0, force: bool = False, reporter=None, **options: Any) -> dict:
    """Add a compressed variant to the bundle (ONNX, int8/bf16, or a distilled student with `distill_layers`),
    written only if its accuracy is within `tolerance` points of the original on the bundle's test split.
    `base`: compress one of the bundle's variants further (e.g. base="distilled-3l", to="onnx", quantize="int8")."""
    from domainfit.compression import compress_bundle

    return compress_bundle(bundle, to=to, quantize=quantize, distill_layers=distill_layers, base=base, tolerance=tolerance,
                           force=force, reporter=reporter, **options)


def bench(bundle: str | Path, *, threads: int | None = None, reporter=None) -> dict:
    """Speed, size and accuracy of every variant against the machine's measured limit."""
    from domainfit.compression import bench_bundle

    return bench_bundle(bundle, threads=threads, reporter=reporter)


# --- pretrain ---

__all__ += ["pretrain"]


def pretrain(source: str | Path, output: str | Path, *, model: str | None = None, resume: bool = False,
             overwrite: bool = False, reporter=None, **options: Any) -> Path:
    """Domain-adaptive pretraining: extend `model`'s vocabulary for the texts of `source` (a table, a .txt with one
    text per line, or a folder of them) and continue pretraining it on them; returns the output folder, a plain
    Hugging Face model (AutoModel/AutoTokenizer load it) with backbone.json, that `model.backbone` accepts.
    `options`: any `PretrainConfig` field (objective="mlm+simcse", extend_vocab="auto"|"off"|N, words=True, steps=...)."""
    from pydantic import ValidationError

    from domainfit.config.load import validation_problems
    from domainfit.errors import ConfigError
    from domainfit.pretraining import PretrainConfig, run_pretrain

    try:  # every problem at once, before any work
        cfg = PretrainConfig(source=str(source), output=str(output), backbone=model, **options)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, PretrainConfig)) from None
    return run_pretrain(cfg, resume=resume, overwrite=overwrite, reporter=reporter)
