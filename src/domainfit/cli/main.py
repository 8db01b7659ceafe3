"""The `domainfit` command: a thin typer shell over the Python API (errors without tracebacks unless --debug)."""

# Each command imports its work inside its function, not here: `domainfit --help`, a typo'd command and shell completion
# answer at once instead of loading torch, transformers and the whole stack first (the only imports kept lazy on purpose).

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from domainfit.cli.data_cmd import _DELIMITER_HELP, _REDACT_HELP, _redact_value, data_app
from domainfit.cli.label_cmd import label_app
from domainfit.cli.ls_cmd import ls_app
from domainfit.cli.watch_cmd import watch_app
from domainfit.cli.studio_cmd import studio
from domainfit.cli.tune_cmd import tune_command
from domainfit.cli.pretrain_cmd import pretrain as pretrain_command
from domainfit.errors import DomainfitError
from domainfit.i18n import _

__all__ = ["app", "main"]

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    name="domainfit",
    help="Adapt a pretrained language model to your industry's task: check data, train, evaluate, predict. Offline, CPU first.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(data_app, name="data")
app.add_typer(ls_app, name="ls")
app.add_typer(label_app, name="label")
app.add_typer(watch_app, name="watch")
app.command("studio")(studio)
app.command("tune")(tune_command)


def _add_registry_commands() -> None:
    from domainfit.cli.registry_cmd import registry_app

    app.add_typer(registry_app, name="registry")
    from domainfit.cli.bundle_cmd import bundle_app

    app.add_typer(bundle_app, name="bundle")
    from domainfit.cli.assist_cmd import assist_app

    app.add_typer(assist_app, name="assist")


_add_registry_commands()
app.command("pretrain")(pretrain_command)

_state = {"debug": False}


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="show full tracebacks")] = False) -> None:
    _state["debug"] = debug


Opt = typer.Option


@app.command()
def train(
    source: Annotated[Path, typer.Argument(help="a data file (csv/tsv/jsonl/parquet/xlsx) or a YAML config")],
    output: Annotated[Optional[Path], Opt("-o", "--output", help="bundle folder to write")] = None,
    text: Annotated[Optional[str], Opt("--text", help="text column")] = None,
    label: Annotated[Optional[str], Opt("--label", help="label column")] = None,
    val: Annotated[Optional[Path], Opt("--val", help="your own validation file")] = None,
    test: Annotated[Optional[Path], Opt("--test", help="your own test file (validation is then carved from train)")] = None,
    answers: Annotated[Optional[Path], Opt("--answers", help="retrieval: the answer bank (id, answer) when --label holds answer ids")] = None,
    items: Annotated[Optional[Path], Opt("--items", help="recommend: the item catalogue (id, text, ...); the data file holds the interactions")] = None,
    method: Annotated[Optional[str], Opt("--method", help="adaptation method; `domainfit ls methods`")] = None,
    task: Annotated[Optional[str], Opt("--task", help="task; `domainfit ls tasks`")] = None,
    model: Annotated[Optional[str], Opt("--model", help="backbone: local folder or Hugging Face id (default: bundled MiniLM)")] = None,
    epochs: Annotated[Optional[float], Opt("--epochs")] = None,
    batch_size: Annotated[Optional[int], Opt("--batch-size")] = None,
    lr: Annotated[Optional[float], Opt("--lr", help="backbone learning rate")] = None,
    max_length: Annotated[Optional[int], Opt("--max-length", help="tokens per text")] = None,
    seed: Annotated[Optional[int], Opt("--seed")] = None,
    encoding: Annotated[Optional[str], Opt("--encoding", help="input file encoding (detected when not given)")] = None,
    delimiter: Annotated[Optional[str], Opt("--delimiter", help=_DELIMITER_HELP)] = None,
    redact: Annotated[Optional[str], Opt("--redact", help=_REDACT_HELP)] = None,
    set_: Annotated[Optional[list[str]], Opt("--set", help="any config key: --set training.patience=3 (repeatable)")] = None,
    resume: Annotated[bool, Opt("--resume", help="continue an interrupted run from its last checkpoint in -o")] = False,
    overwrite: Annotated[bool, Opt("--overwrite", help="replace the bundle already in -o (once the new one is complete)")] = False,
) -> None:
    """Fine-tune a model and write a bundle (model, metrics.json, report.html)."""
    from domainfit.cli.ui import RichReporter, console
    from domainfit.config.load import load_config
    from domainfit.tasks.skeleton import run_training
    from domainfit.training.distributed import is_main

    is_config = source.suffix.lower() in (".yaml", ".yml")
    values = {
        "data.train": None if is_config else str(source),
        # default bundle folder: runs/<data file name> (a config file names its own `output`)
        "output": str(output) if output else (None if is_config else str(Path("runs") / source.stem)),
        "data.text_column": text, "data.label_column": label,
        "data.val": str(val) if val else None, "data.test": str(test) if test else None, "data.encoding": encoding,
        "data.delimiter": delimiter,
        "data.answers": str(answers) if answers else None,
        "data.items": str(items) if items else None,
        "method": method, "task": task, "model.backbone": model, "model.max_length": max_length,
        "training.epochs": epochs, "training.batch_size": batch_size, "training.lr": lr,
        "data.redact": _redact_value(redact),
    }
    if seed is not None:
        values.update({"training.seed": seed, "data.seed": seed})
    cfg = load_config(source if is_config else None, values=values, overrides=set_ or ())
    console.print(_("[bold]domainfit train[/]: task {task}, method {method} → {output}").format(task=cfg.task, method=cfg.method, output=cfg.output))
    path = run_training(cfg, resume=resume, overwrite=overwrite, reporter=RichReporter())
    if not is_main():  # under accelerate launch / torchrun, rank 0 speaks for the run
        return
    metrics_file = path / "metrics.json"
    if metrics_file.is_file():  # no test rows: no metrics
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        _print_comparison(metrics)
    console.print(_("bundle: [bold]{path}[/]   report: {report}").format(path=path, report=path / "report.html"))
    console.print(_("next: {command}").format(command=f"domainfit predict {path} --text \"...\""))


@app.command()
def evaluate(
    bundle: Annotated[Path, typer.Argument(help="bundle folder written by `domainfit train`")],
    data: Annotated[Path, Opt("--data", help="labelled file to evaluate on")],
    output: Annotated[Optional[Path], Opt("-o", "--output", help="folder for metrics.json and report.html")] = None,
    text: Annotated[Optional[str], Opt("--text")] = None,
    label: Annotated[Optional[str], Opt("--label")] = None,
    encoding: Annotated[Optional[str], Opt("--encoding")] = None,
) -> None:
    """Metrics, calibration, errors and report.html on a labelled file, beside the baselines."""
    from domainfit.api import evaluate as _evaluate
    from domainfit.cli.ui import RichReporter, console

    result = _evaluate(bundle, data, out_dir=output, text_column=text, label_column=label, encoding=encoding,
                       reporter=RichReporter())
    _print_comparison(result, title=_("{name}: {n} rows").format(name=data.name, n=result["n"]))
    out = output or Path(bundle) / "evaluations" / data.stem
    console.print(_("report: {report}   metrics: {metrics}").format(report=out / "report.html", metrics=out / "metrics.json"))


def _print_comparison(metrics: dict, **kwargs) -> None:
    """The comparison table of a metrics.json on the task's headline metrics, and the verdict if a baseline wins."""
    from domainfit.cli.ui import comparison_table, console, verdict

    task = metrics.get("task") or {}
    keys = task.get("summary_metrics", ("accuracy", "macro_f1", "micro_f1", "weighted_f1"))
    primary = task.get("primary_metric", "macro_f1")
    console.print(comparison_table(metrics["comparison"], keys=keys, primary=primary, **kwargs))
    if note := verdict(metrics["comparison"], primary):
        console.print(note)


@app.command()
def predict(
    bundle: Annotated[Path, typer.Argument(help="bundle folder written by `domainfit train`")],
    text: Annotated[Optional[list[str]], Opt("--text", help="a text to predict (repeatable)")] = None,
    input: Annotated[Optional[Path], Opt("--input", help="file of texts (csv/tsv/jsonl/parquet/xlsx)")] = None,
    output: Annotated[Optional[Path], Opt("--output", help="where to write predictions (csv or jsonl)")] = None,
    column: Annotated[Optional[str], Opt("--column", help="text column of --input (inferred when unambiguous)")] = None,
    top_k: Annotated[int, Opt("--top-k", help="labels to return per text")] = 3,
    as_json: Annotated[bool, Opt("--json", help="print JSON instead of a table")] = False,
    encoding: Annotated[Optional[str], Opt("--encoding", help="--input file encoding (detected when not given)")] = None,
    delimiter: Annotated[Optional[str], Opt("--delimiter", help=_DELIMITER_HELP)] = None,
    explain: Annotated[bool, Opt("--explain", help="with --text: show which words made each prediction")] = False,
    engine: Annotated[str, Opt("--engine", help="local (this process) or ray (a Parquet --input scored into a folder of Parquet parts)")] = "local",
    address: Annotated[Optional[str], Opt("--address", help="--engine ray: auto or ray://host:port (default: a local Ray)")] = None,
    workers: Annotated[int, Opt("--workers", help="--engine ray: actors, each loading the bundle once")] = 2,
    id_column: Annotated[str, Opt("--id-column", help="--engine ray: the input column copied into each output row")] = "id",
) -> None:
    """Predict labels (or values) for texts given on the command line or in a file."""
    if engine == "ray":
        from domainfit.cli.score_cmd import score_with_ray

        return score_with_ray(bundle, input, output, column=column, address=address, workers=workers, id_column=id_column)
    from domainfit.cli.predict_io import predict_file
    from domainfit.cli.ui import console, predictions_table, working
    from domainfit.predict import Predictor

    if not text and not input:
        raise DomainfitError(_("nothing to predict"), where="domainfit predict", hint=_('pass --text "..." or --input file.csv'))
    if explain and not text:
        raise DomainfitError(_("--explain explains the --text predictions"), where="domainfit predict --explain",
                             hint=_('pass the texts with --text "..." (one --text per text)'))
    with working(_("loading {bundle} ...").format(bundle=bundle)):  # seconds of silence otherwise; on stderr, so stdout holds only the answers
        predictor = Predictor.from_bundle(bundle)
    if input:
        with working(_("predicting {input} with {variant} ...").format(input=input, variant=predictor.variant)):
            out = predict_file(predictor, input, output, column=column, top_k=top_k, encoding=encoding, delimiter=delimiter)
        console.print(_("predictions for {input} → [bold]{output}[/]").format(input=input, output=out))
    if text:
        with working(_("predicting {n} text(s) ...").format(n=len(text))):
            preds = predictor.predict(text, top_k=top_k)
        if explain:
            from domainfit.evaluation.explain import explain as _explain

            with working(_("explaining ...")):
                for p, e in zip(preds, _explain(predictor, text)):
                    p["explanation"] = e
        if as_json:
            print(json.dumps([{"text": t, **p} for t, p in zip(text, preds)], ensure_ascii=False, indent=2))
        else:
            console.print(predictions_table(text, preds))
            if explain:
                from domainfit.cli.explain_view import print_explanations

                print_explanations(console, [p["explanation"] for p in preds])


@app.command()
def compare(
    data: Annotated[Path, typer.Argument(help="labelled table (csv/tsv/jsonl/parquet/xlsx), pairs, or CoNLL/JSONL entities")],
    methods_: Annotated[str, Opt("--methods", help="comma-separated methods and baselines (default: zeroshot,tfidf,head,"
                                                   "fewshot,lora,full, less what the task cannot do, plus its own baselines)")] = "",
    shots: Annotated[str, Opt("--shots", help="labelled examples per class to try (multilabel: per label; regression: "
                                              "rows per target bin; retrieval: queries per answer; ner: sentences "
                                              "per entity type), 'all' for every row")] = "8,16,32,all",
    seeds: Annotated[int, Opt("--seeds", help="seeds for budgets of up to 32 (mean ± std)")] = 3,
    output: Annotated[Path, Opt("-o", "--output", help="folder for leaderboard.json/.csv and report.html")] = Path("runs/compare"),
    test: Annotated[Optional[Path], Opt("--test", help="your own test file (the same for every run)")] = None,
    val: Annotated[Optional[Path], Opt("--val", help="your own validation file (sampled like the training rows)")] = None,
    text: Annotated[Optional[str], Opt("--text")] = None,
    label: Annotated[Optional[str], Opt("--label")] = None,
    model: Annotated[Optional[str], Opt("--model", help="backbone (default: bundled MiniLM)")] = None,
    set_: Annotated[Optional[list[str]], Opt("--set", help="config key for every run, e.g. training.epochs=5")] = None,
    keep_bundles: Annotated[bool, Opt("--keep-bundles", help="keep every trained bundle (large)")] = False,
    resume: Annotated[bool, Opt("--resume", help="reuse the runs an interrupted compare into the same --output finished")] = False,
    tune_: Annotated[bool, Opt("--tune", help="tune each method first (Optuna, on each run's train/validation rows; the defaults are trial 0)")] = False,
    trials: Annotated[int, Opt("--trials", help="with --tune: trials per method and run")] = 10,
    timeout: Annotated[Optional[str], Opt("--timeout", help="with --tune: stop each method's study after this long: 90m, 2h")] = None,
) -> None:
    """Which method, and how many labels? Every method at every budget on one test split: leaderboard + learning curve."""
    from domainfit.api import compare as _compare
    from domainfit.cli.tune_cmd import parse_duration
    from domainfit.cli.ui import RichReporter, console, leaderboard_table

    result = _compare(data, methods=[m for m in methods_.split(",") if m.strip()], shots=shots, seeds=seeds, output=output, test=test, val=val,
                      text_column=text, label_column=label, model=model, overrides=set_ or (), keep_bundles=keep_bundles,
                      resume=resume, reporter=RichReporter(), tune_trials=trials if tune_ else None,
                      tune_timeout=parse_duration(timeout) if tune_ else None)
    console.print(leaderboard_table(result["leaderboard"], result["metrics"], result["unit"]))
    console.print(_("[bold]recommended:[/] {method} — {why}").format(method=result["recommendation"]["method"], why=result["recommendation"]["why"]))
    console.print(_("report: {report}   leaderboard: {leaderboard}").format(report=output / "report.html", leaderboard=output / "leaderboard.csv"))


@app.command()
def compress(
    bundle: Annotated[Path, typer.Argument(help="bundle folder written by `domainfit train`")],
    to: Annotated[str, Opt("--to", help="onnx (onnxruntime) or torch")] = "onnx",
    quantize: Annotated[str, Opt("--quantize", help="none, int8 (onnx/torch), int8-static (onnx: the same result whatever the batch) or bf16 (torch)")] = "int8",
    distill: Annotated[bool, Opt("--distill", help="train a smaller student from this model instead")] = False,
    layers: Annotated[int, Opt("--layers", help="student layers for --distill")] = 3,
    unlabelled: Annotated[Optional[Path], Opt("--unlabelled", help="in-domain texts without labels for --distill")] = None,
    epochs: Annotated[float, Opt("--epochs", help="student training epochs for --distill")] = 4,
    base: Annotated[Optional[str], Opt("--from", help="compress this variant of the bundle further, e.g. "
                                                      "--from distilled-3l --to onnx --quantize int8")] = None,
    tolerance: Annotated[float, Opt("--tolerance", help="largest drop allowed in the task's two headline metrics "
                                                        "(accuracy/macro-F1, entity F1/precision, ...), in points")] = 1.0,
    force: Annotated[bool, Opt("--force", help="keep the variant even if it fails the parity gate")] = False,
) -> None:
    """Add a smaller/faster variant to a bundle; it is kept only if it passes the parity gate on the test split."""
    from domainfit.api import compress as _compress
    from domainfit.cli.ui import RichReporter, console
    from domainfit.compression.run import describe

    options = {"unlabelled": str(unlabelled) if unlabelled else None, "epochs": epochs} if distill else {}
    meta = _compress(bundle, to=to, quantize=quantize, distill_layers=layers if distill else None, base=base, tolerance=tolerance,
                     force=force, reporter=RichReporter(), **options)
    console.print(describe(meta), soft_wrap=True)
    console.print(_("next: {command}   (the Predictor now picks the fastest variant that passed)").format(command=f"domainfit bench {bundle}"), soft_wrap=True)


@app.command("bench")
def bench_cmd(
    bundle: Annotated[Path, typer.Argument(help="bundle folder")],
    threads: Annotated[Optional[int], Opt("--threads", help="CPU threads (default: the cores available)")] = None,
) -> None:
    """Speed, size and accuracy of every variant, and the share of this machine's limit each reaches."""
    from domainfit.api import bench as _bench
    from domainfit.cli.ui import RichReporter, bench_table, console

    result = _bench(bundle, threads=threads, reporter=RichReporter())
    console.print(bench_table(result))
    console.print(_("matrix multiply here (GFLOP/s):") + " " + ", ".join(f"{k} {v}" for k, v in result["matmul_gflops"].items()))
    console.print(_("written: {path}").format(path=Path(bundle) / "variants" / "bench.md"))


@app.command()
def serve(
    source: Annotated[Optional[str], typer.Argument(help="bundle folder (or use --model for a registry URI)")] = None,
    model: Annotated[Optional[str], Opt("--model", help="models:/NAME@ALIAS (followed: hot swap on promotion) or models:/NAME/VERSION")] = None,
    host: Annotated[str, Opt("--host", help="address (0.0.0.0 exposes the service on the network: API keys required)")] = "127.0.0.1",
    port: Annotated[int, Opt("--port")] = 8000,
    config: Annotated[Optional[Path], Opt("--config", help="YAML of serve settings (keys as in `domainfit.serving.ServeSettings`)")] = None,
    variant: Annotated[str, Opt("--variant", help="auto (fastest that passed its parity gate), torch, onnx-int8, ...")] = "auto",
    registry: Annotated[Optional[str], Opt("--registry", help="MLflow registry URI (default $DOMAINFIT_REGISTRY or ./domainfit-registry)")] = None,
    api_keys: Annotated[Optional[Path], Opt("--api-keys", help="YAML of hashed API keys (`domainfit keygen`); or set DOMAINFIT_API_KEYS")] = None,
    no_batching: Annotated[bool, Opt("--no-batching", help="one model call per request")] = False,
    max_batch_size: Annotated[Optional[int], Opt("--max-batch-size", help="most texts per coalesced model call")] = None,
    max_wait_ms: Annotated[Optional[float], Opt("--max-wait-ms", help="how long an idle worker waits for a batch to fill")] = None,
    threads: Annotated[Optional[int], Opt("--threads", help="inference threads")] = None,
    poll_seconds: Annotated[Optional[float], Opt("--poll-seconds", help="how often a followed alias is checked")] = None,
    prediction_log: Annotated[Optional[str], Opt("--prediction-log", help="SQLite file or SQLAlchemy URL (postgresql+psycopg://…) of every prediction (for `domainfit monitor`, POST /v1/feedback)")] = None,
    log_texts: Annotated[Optional[str], Opt("--log-texts", help="what the prediction log keeps of a text: redacted (default), raw, none")] = None,
    insecure_no_auth: Annotated[bool, Opt("--insecure-no-auth", help="serve without API keys on a non-loopback --host (refused otherwise)")] = False,
    assistant: Annotated[Optional[Path], Opt("--assistant", help="assistant.yaml: also serve the support assistant (/v1/assist, /v1/handoffs, the chat page /chat/)")] = None,
    workers: Annotated[Optional[int], Opt("--workers", help="server processes sharing the port (1 to 64; each loads the model)")] = None,
) -> None:
    """Serve a model over HTTP: POST /v1/predict, GET /v1/models, /healthz, /readyz, /metrics (docs at /docs);
    with --prediction-log also POST /v1/feedback; with --assistant the support assistant beside them."""
    import yaml

    from domainfit.config.load import validation_problems
    from domainfit.errors import ConfigError
    from domainfit.serving import ServeSettings, run_server

    if (source is None) == (model is None):
        raise ConfigError([("source", _("give a bundle folder or --model models:/NAME@ALIAS (exactly one)"))])
    values = yaml.safe_load(config.read_text(encoding="utf-8")) or {} if config else {}
    flags = {"host": host, "port": port, "variant": variant, "registry": registry, "api_keys_file": api_keys,
             "threads": threads, "max_batch_size": max_batch_size, "max_wait_ms": max_wait_ms, "poll_seconds": poll_seconds,
             "prediction_log": prediction_log, "log_texts": log_texts, "assistant": assistant, "workers": workers}
    values.update({k: v for k, v in flags.items() if v is not None})
    if no_batching:
        values["batching"] = False
    if insecure_no_auth:
        values["insecure_no_auth"] = True
    try:
        settings = ServeSettings(**values)
    except Exception as exc:  # pydantic.ValidationError
        raise ConfigError(validation_problems(exc, ServeSettings), source=str(config) if config else _("serve options"),
                          hint=_("fix these options on the command line or in the --config file; `domainfit serve "
                                 "--help` lists them")) from None
    from domainfit.apps.assistant.service import serve_app_factory  # an app mounted into the service (assistant:)

    run_server(model or source, settings, app_factory=serve_app_factory(settings))


@app.command()
def monitor(
    bundle: Annotated[Path, typer.Argument(help="the bundle being served (its reference_stats.json is the baseline)")],
    log: Annotated[str, Opt("--log", help="the prediction log the server writes (--prediction-log: a file or a URL)")],
    since: Annotated[Optional[str], Opt("--since", help="window start: 24h, 7d, 2026-11-01, 2026-11-01T08:00 (default: the log's start)")] = None,
    until: Annotated[Optional[str], Opt("--until", help="window end (default: now)")] = None,
    model_name: Annotated[Optional[str], Opt("--model", help="only predictions of this served model name")] = None,
    min_rows: Annotated[int, Opt("--min-rows", help="fewer live predictions than this: nothing is judged")] = 200,
    alert: Annotated[Optional[list[str]], Opt("--alert", help="where alerts go: file:alerts.jsonl, webhook:https://... (repeatable)")] = None,
    alert_on: Annotated[str, Opt("--alert-on", help="the status that sends alerts: warn or alert")] = "alert",
    output: Annotated[Optional[Path], Opt("-o", "--output", help="folder for drift.json and drift.html (default: <bundle>/monitoring/<time>)")] = None,
    strict: Annotated[bool, Opt("--strict", help="exit with status 3 when the status reaches --alert-on (for cron and CI)")] = False,
    as_json: Annotated[bool, Opt("--json", help="print the report as JSON")] = False,
) -> None:
    """Has live traffic drifted from what the model was tested on? Labels, confidence, lengths and the texts
    themselves, each judged by size and significance; a report, and alerts where asked."""
    from rich.markup import escape

    from domainfit.cli.ui import console, drift_table
    from domainfit.monitor.drift import STATUSES, DriftThresholds
    from domainfit.monitor.run import monitor as run_monitor

    report = run_monitor(bundle, log, since=since, until=until, model=model_name, thresholds=DriftThresholds(min_rows=min_rows),
                         out_dir=output, alerts=alert or (), alert_on=alert_on)
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    else:
        console.print(drift_table(report))
        for sent in report.get("alerts", []):  # a webhook is named without its secrets (token, password)
            tries = " " + _("after {n} attempts").format(n=sent["attempts"]) if sent.get("attempts", 1) > 1 else ""
            console.print(escape(_("alert → {sink}:").format(sink=sent["sink"]) + " ") + (_("sent") + tries if sent["sent"] else
                                                                  "[red]" + _("failed") + f"[/]{tries} ({escape(sent['error'])})"))
        console.print(_("report: {report}").format(report=Path(report["output"]) / "drift.html"))
    if strict and STATUSES.index(report["status"]) >= STATUSES.index(alert_on):
        raise typer.Exit(3)


@app.command()
def retrain(
    bundle: Annotated[Path, typer.Argument(help="the champion bundle")],
    new: Annotated[Path, Opt("--new", help="new labelled rows (e.g. `domainfit feedback export` output; text and label columns)")],
    output: Annotated[Optional[Path], Opt("-o", "--output", help="challenger bundle folder (default: <bundle>-retrained-<time>)")] = None,
    new_test: Annotated[Optional[Path], Opt("--new-test", help="your own test rows of the new data (default: a share of --new)")] = None,
    replay: Annotated[str, Opt("--replay", help="old training rows trained on again: all, a share (0.5), a number (2000), or 0")] = "all",
    metric: Annotated[str, Opt("--metric", help="what the gate compares: macro_f1 or accuracy")] = "macro_f1",
    min_gain: Annotated[float, Opt("--min-gain", help="points the challenger must gain on the new rows (0.01 = 1 point)")] = 0.0,
    max_drop: Annotated[float, Opt("--max-drop", help="points it may lose on the old test rows")] = 0.01,
    promote: Annotated[Optional[str], Opt("--promote", help="registry model name: push the challenger and move --alias to it if it wins")] = None,
    alias: Annotated[str, Opt("--alias", help="the alias --promote moves")] = "champion",
    registry: Annotated[Optional[str], Opt("--registry", help="MLflow registry URI (default $DOMAINFIT_REGISTRY or ./domainfit-registry)")] = None,
    text: Annotated[Optional[str], Opt("--text", help="text column of --new (default: text)")] = None,
    label: Annotated[Optional[str], Opt("--label", help="label column of --new (default: label)")] = None,
    set_: Annotated[Optional[list[str]], Opt("--set", help="config key for the challenger, e.g. training.epochs=3")] = None,
    strict: Annotated[bool, Opt("--strict", help="exit with status 3 when the challenger is not promoted")] = False,
) -> None:
    """Train a challenger on new rows plus a replay of the champion's, score both on the old and the new test rows,
    and promote the challenger only if it wins."""
    from domainfit.cli.ui import RichReporter, console, retrain_table
    from domainfit.retraining.gate import Gate
    from domainfit.retraining.run import retrain as run_retrain

    report = run_retrain(bundle, new, output=output, replay=replay, new_test=new_test, gate=Gate(metric, min_gain, max_drop),
                         text_column=text, label_column=label, overrides=set_ or (), promote=promote, alias=alias,
                         registry=registry, reporter=RichReporter())
    console.print(retrain_table(report))
    decision = report["decision"]
    if decision["promote"]:
        console.print("[green]" + _("the challenger wins") + "[/]" + (": " + _("{name} → version {version}").format(name=f"{promote}@{alias}", version=report["registry"]["promoted"]["version"])
                                                        if report.get("registry") else ""))
    else:
        console.print("[yellow]" + _("the champion stays") + "[/]: " + "; ".join(decision["reasons"]))
    console.print(_("challenger: [bold]{path}[/] (retrain.json, report.html)").format(path=report["challenger"]))
    if strict and not decision["promote"]:
        raise typer.Exit(3)


feedback_app = typer.Typer(help="Corrections of served predictions (sent to POST /v1/feedback).", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
def feedback_export(
    log: Annotated[str, Opt("--log", help="the prediction log (--prediction-log of serve: a file or a URL)")],
    output: Annotated[Path, Opt("-o", "--output", help="CSV to write: text, label (the correction), predicted, ...")] = Path("corrections.csv"),
    since: Annotated[Optional[str], Opt("--since", help="24h, 7d, 2026-11-01, ...")] = None,
    until: Annotated[Optional[str], Opt("--until")] = None,
    model_name: Annotated[Optional[str], Opt("--model", help="only corrections of this served model name")] = None,
) -> None:
    """The corrections as a training table (text, label): add them to your data and retrain."""
    from domainfit.cli.ui import console
    from domainfit.monitor.run import export_corrections

    done = export_corrections(log, output, since=since, until=until, model=model_name)
    missing = "; " + _("{n} without a text in the log (log_texts: none) left out").format(n=done["without_text"]) if done["without_text"] else ""
    console.print(_("{written} corrections written to [bold]{output}[/] ({changed} disagree with the model{missing})").format(
        written=done["written"], output=done["output"], changed=done["changed_label"], missing=missing))


@app.command()
def keygen(
    name: Annotated[str, typer.Argument(help="who the key is for (e.g. crm-system)")],
    file: Annotated[Path, Opt("--file", help="YAML of hashed keys to add it to (created if missing)")] = Path("api-keys.yaml"),
    models: Annotated[Optional[str], Opt("--models", help="comma-separated model names it may call (default: all)")] = None,
) -> None:
    """Make an API key: the key is printed once; only its SHA-256 is stored."""
    from domainfit.cli.ui import console
    from domainfit.serving.auth import add_key

    key = add_key(file, name, [m.strip() for m in models.split(",")] if models else None)
    console.print(_("API key for {name} (shown once; stored hashed in {file}):").format(name=name, file=file))
    print(key)
    console.print(_("serve with: {command}").format(command=f"domainfit serve BUNDLE --api-keys {file}"))


def main() -> None:
    """Entry point: user mistakes print as a clear message (exit 2); --debug shows the traceback."""
    try:
        app()
    except DomainfitError as exc:
        if _state["debug"] or "--debug" in sys.argv:
            raise
        sys.stderr.write(_("error") + f": {exc}\n" + _("(add --debug for the traceback)") + "\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
