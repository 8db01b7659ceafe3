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
from domainfit.errors import DomainfitError
from domainfit.i18n import _

__all__ = ["Model", "assistant_app", "bench", "check_data", "compare", "compress", "evaluate", "evaluate_assistant",
           "export_for_labelling", "find_label_issues", "import_labels", "label_next", "load", "pretrain", "recommend", "redact",
           "redact_file", "retrain", "train", "tune", "watch_dashboard", "watch_replay", "watch_report", "watch_run"]


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

    def predict(self, texts: Sequence[str], *, top_k: int = 1, explain: bool | str = False) -> list[dict]:
        """One dict per text: classification {"label", "score", "top_k"}; multilabel {"labels", "scores", "label",
        "score"}; regression {"score"}; retrieval {"label" (answer id), "answer", "score", "no_answer", "answers"}.
        `explain`: True (or an explainer's name, "occlusion", "integrated_gradients") adds "explanation": the words
        that made the prediction, weighted (`domainfit.evaluation.explain`)."""
        predictions = self._predictor.predict(texts, top_k=top_k)
        if explain:
            for p, e in zip(predictions, self.explain(texts, method="auto" if explain is True else str(explain))):
                p["explanation"] = e
        return predictions

    def explain(self, texts: Sequence[str], *, method: str = "auto", targets: Sequence[str | None] | None = None,
                chinese: str = "char") -> list[dict]:
        """Why: per text {"method", "target", "score", "text", "words": [{"word", "start", "end", "weight"}]}."""
        from domainfit.evaluation.explain import explain as _explain

        return _explain(self._predictor, texts, method=method, targets=targets, chinese=chinese)

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
            config: Mapping | None = None, keep_bundles: bool = False, resume: bool = False, reporter=None,
            tune_trials: int | None = None, tune_timeout: float | None = None) -> dict:
    """Train every method at every labelled-data budget and score all on one test split (`methods`: default
    zeroshot, tfidf, head, fewshot, lora, full less what the task cannot do, plus its own baselines; `resume`: reuse the runs
    an interrupted compare into the same `output` finished, when their sampled data and config are the same).
    `tune_trials`: tune each method that has a search space first (`tune`, that many trials, each study at most
    `tune_timeout` seconds) on the run's own training and validation rows; the report shows tuned against defaults.
    Returns {"runs", "leaderboard", "recommendation"}; writes leaderboard.json/.csv and report.html to `output`."""
    from domainfit.comparison import parse_shots, run_compare
    from domainfit.config.load import parse_override, set_dotted

    base: dict = {k: v for k, v in dict(config or {}).items()}
    if model:
        set_dotted(base, "model.backbone", model)
    for item in overrides:
        set_dotted(base, *parse_override(item))
    tuner = None
    if tune_trials is not None:
        from domainfit.tuning import compare_tuner

        tuner = compare_tuner(tune_trials, tune_timeout, reporter)
    return run_compare(data, methods_=[m.strip() for m in methods if m.strip()], shots=parse_shots(shots), seeds=seeds,
                       output=output, test=test, val=val, text_column=text_column, label_column=label_column, base=base,
                       keep_bundles=keep_bundles, resume=resume, reporter=reporter, tuner=tuner,
                       tune_settings={"trials": tune_trials, "timeout": tune_timeout} if tuner else None)


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


# --- label issues, active learning, labelling-tool round trip (issue 18) ---

def find_label_issues(data: str | Path, out_dir: str | Path | None = None, **kwargs: Any):
    """Likely wrong labels, confused class pairs, near-duplicates with different labels and outliers of a labelled
    file, by cleanlab on out-of-fold probabilities (see `domainfit.labelling.issues.issues_in_file`); with `out_dir`
    the tables and report.html are written there, and with `fix="drop"|"relabel"` a cleaned copy (never the input)."""
    from domainfit.labelling.issues import issues_in_file

    return issues_in_file(data, out_dir, **kwargs)


def label_next(pool: str | Path, **kwargs: Any):
    """The pool rows most worth labelling now, each with the reason (see `domainfit.labelling.next.next_batch`)."""
    from domainfit.labelling.next import next_batch

    return next_batch(pool, **kwargs)


def export_for_labelling(pool: str | Path, output: str | Path, **kwargs: Any) -> dict:
    """The pool with a bundle's predictions in Label Studio, Argilla, doccano or CSV form (see
    `domainfit.labelling.roundtrip.export_pool`)."""
    from domainfit.labelling.roundtrip import export_pool

    return export_pool(pool, output, **kwargs)


def import_labels(files: Sequence[str | Path] | str | Path, output: str | Path, **kwargs: Any) -> dict:
    """A labelling tool's export back to a training table, majority vote over annotators with the disagreement kept
    (see `domainfit.labelling.roundtrip.import_annotations`)."""
    from domainfit.labelling.roundtrip import import_annotations

    return import_annotations([files] if isinstance(files, (str, Path)) else list(files), output, **kwargs)


# --- recommend ---

def recommend(bundle: str | Path, *, user_id: str | None = None, history: Sequence[str] | None = None, k: int = 10,
              exclude_seen: bool = True, **predictor_kwargs: Any) -> dict:
    """The top-k items of a recommend bundle for a known user and/or a history (item ids or texts, oldest first); an
    empty history gives the popular items. {"items": [{"id", "text", "score"}], "why", "history"}."""
    from domainfit.predict import Predictor

    predictor = Predictor.from_bundle(bundle, **predictor_kwargs)
    if not hasattr(predictor, "recommend"):
        raise DomainfitError(_("{bundle} is a {task} bundle, not a recommend one").format(
                                 bundle=bundle, task=predictor.bundle.task), where=str(bundle),
                             hint=_("train one with --task recommend"))
    return predictor.recommend(user=user_id, history=history, k=k, exclude_seen=exclude_seen)


# --- watch (news and opinion monitor) ---

def watch_replay(config: str | Path | dict, stream: str | Path, out: str | Path, *, send: bool = False, reporter=None) -> dict:
    """Run a file of past texts (time, text, source?, id?, url?) through the monitor into `out`: alerts.jsonl,
    series.parquet, report.html and the replay's store. `send`: deliver the alerts to the config's sinks too."""
    from domainfit.apps.watch.config import load_watch_config
    from domainfit.apps.watch.replay import replay

    return replay(load_watch_config(config), stream, out, send=send, reporter=reporter)


def watch_run(config: str | Path | dict, *, reporter=None) -> None:
    """Ingest (HTTP, folder, Redis) → classify → store → detect → alert, until stopped; the dashboard alongside."""
    from domainfit.apps.watch.config import load_watch_config
    from domainfit.apps.watch.service import run_watch

    run_watch(load_watch_config(config), reporter=reporter)


def watch_dashboard(config: str | Path | dict, *, host: str = "127.0.0.1", port: int = 8700) -> None:
    """Serve the dashboard over the config's store only (no ingest, no models loaded)."""
    import uvicorn

    from domainfit.apps.watch.config import load_watch_config
    from domainfit.apps.watch.server import watch_app
    from domainfit.serving import ServeSettings
    from domainfit.serving.run import server_config

    cfg = load_watch_config(config, check=False)
    uvicorn.Server(server_config(watch_app(cfg), ServeSettings(host=host, port=port))).run()


def watch_report(out: str | Path) -> Path:
    """Write a replay's report.html again, with the false alarms marked on the dashboard since."""
    from domainfit.apps.watch.replay import refresh_report

    return refresh_report(out)


# --- assistant ---

def assistant_app(config: str | Path | dict, **settings: Any):
    """The support assistant's FastAPI app over `assistant.yaml` (checked, with its bundles, before it is built):
    POST /v1/assist, GET /v1/handoffs, the chat page at /chat/, beside the model service's routes. `settings`:
    domainfit.serving.ServeSettings keys replacing the config's `serve:` section."""
    from domainfit.apps.assistant.config import load_assistant_config
    from domainfit.apps.assistant.service import create_assist_app
    from domainfit.serving.settings import ServeSettings

    loaded = load_assistant_config(config)
    return create_assist_app(loaded, ServeSettings(**{**loaded.serve.model_dump(), **settings}) if settings else None)


def evaluate_assistant(config: str | Path | dict, data: str | Path, **options: Any) -> dict:
    """Replay labelled messages through the assistant: automation rate, answer accuracy, wrong-answer rate, hand-off
    precision, overall and per intent (`domainfit assist eval`)."""
    from domainfit.apps.assistant.evaluate import evaluate_assistant as run

    return run(config, data, **options)


# --- scale: hyperparameter search ---

def tune(config: str | Path | Mapping | None = None, *, trials: int = 20, timeout: float | None = None,
         space: str | Path | None = None, storage: str | None = None, study_name: str | None = None,
         overrides: Sequence[str] = (), reporter=None) -> dict:
    """Search a training config's hyperparameters with Optuna (the defaults are trial 0); the best trial's bundle is
    written at the config's `output`, the report beside it (`<output>-tuning/`). `storage`: an RDB URL
    (sqlite:///study.db, postgresql+psycopg://…) that several processes share. See `domainfit.tuning.study.tune`."""
    from domainfit.tuning import tune as _tune

    return _tune(config, trials=trials, timeout=timeout, space=space, storage=storage, study_name=study_name,
                 overrides=overrides, reporter=reporter)


# --- pretrain ---

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


# --- studio: monitoring and corrections (issue 17) ---

def monitor(bundle: str | Path, log: str | Path, **kwargs: Any) -> dict:
    """One window of a prediction log against the bundle's reference: drift checks, drift.json/.html, alerts (see
    `domainfit.monitor.run.monitor`; what `domainfit monitor` runs)."""
    from domainfit.monitor.run import monitor as _monitor

    return _monitor(bundle, log, **kwargs)


def prediction_log(log: str | Path):
    """A reader of a prediction log (a SQLite file or a SQLAlchemy URL): `predictions()`, `corrections()`, `counts()`."""
    from domainfit.monitor.log import PredictionLog

    return PredictionLog(log, create=False)


def correct(log: str | Path, request_id: str, item: int, label: str, *, source: str | None = None) -> bool:
    """Record the right label of one logged prediction in the log's feedback table, as POST /v1/feedback does: the
    store `domainfit feedback export` turns into the rows `domainfit retrain --new` reads. False: no such prediction."""
    with prediction_log(log) as plog:
        return plog.add_feedback(request_id, int(item), label, source=source)


def export_corrections(log: str | Path, output: str | Path, **kwargs: Any) -> dict:
    """The corrections as a training table (text, label, ...) for `domainfit retrain --new` (`domainfit feedback export`)."""
    from domainfit.monitor.run import export_corrections as _export

    return _export(log, output, **kwargs)
