"""Benchmark of the `ner` task on WNUT17 (emerging entities in tweets and forum posts: person, location, group,
creative-work, corporation, product): the bundled MiniLM fine-tuned with `full`, beside the `dictionary` baseline,
official train / dev (validation, early stopping) / test files read as they are (never copied into the project).

Run by hand (not a test):  .venv/bin/python bench/tasks.py --part ner   (or bench/tasks_ner.py)
Writes bench/results/tasks_ner.{md,json}: strict entity-level test F1 (seqeval), overall and per type, precision,
recall, training time and training throughput in word pieces per second. The run is a subprocess (its peak RSS is
its own).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, SHARED  # noqa: E402

DATA = SHARED / "wnut17"
HP = {"method": "full", "epochs": 8, "batch_size": 16, "lr": 1e-4, "max_length": 128, "patience": 2}


class PrintReporter:
    """One line per validation and every 50 steps, so a long run can be watched (`domainfit train` draws bars)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def progress(self, description: str, total: int):
        return lambda n: None

    def log(self, message: str) -> None:
        print(f"   {message}", flush=True)

    def event(self, event) -> None:
        if event.kind == "eval" or event.kind == "stop" or (event.kind == "step" and event.step % 50 == 0):
            shown = event.message or f"loss {event.loss:.4f}"
            if event.metrics:
                shown = "validation " + "  ".join(f"{k} {v:.4f}" for k, v in event.metrics.items()) + f"  ({event.message})"
            print(f"   [{time.perf_counter() - self.started:7.0f}s] step {event.step}/{event.total_steps} {shown}", flush=True)


def run(out: Path) -> dict:
    """One training run on the official files; its metrics.json holds the model and the dictionary baseline."""
    import domainfit

    t = time.perf_counter()
    model = domainfit.train({
        "task": "ner", "method": HP["method"],
        "data": {"train": str(DATA / "train.conll"), "val": str(DATA / "dev.conll"), "test": str(DATA / "test.conll")},
        "model": {"max_length": HP["max_length"]},
        "training": {"epochs": HP["epochs"], "batch_size": HP["batch_size"], "lr": HP["lr"], "patience": HP["patience"]},
        "baselines": ["dictionary"],
        "output": str(out),
    }, reporter=PrintReporter())
    wall = time.perf_counter() - t
    meta, metrics = model.meta, model.metrics
    training = meta["training"]
    return {
        "wall_s": round(wall, 1), "fit_s": training["seconds"], "eval_s_during_training": training.get("eval_seconds"),
        "train_tokens_per_s": training.get("train_tokens_per_s"), "train_windows_per_s": training.get("train_examples_per_s"),
        "train_windows": training.get("train_windows"), "steps": training.get("steps"), "best_step": training.get("best_step"),
        "best_dev_f1": training.get("best_val"), "stopped_early": training.get("stopped_early"), "timings": meta.get("timings"),
        "data": meta["data"]["counts"], "model": {k: metrics["model"][k] for k in ("f1", "precision", "recall", "macro_f1",
                                                                                    "per_type", "entities", "predicted_entities")},
        "baselines": metrics["baselines"], "inference": metrics["inference"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", nargs=2, metavar=("OUT", "RESULT"), help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args()
    if args.child:
        Path(args.child[1]).write_text(json.dumps(run(Path(args.child[0]))))
        return
    missing = [f for f in ("train.conll", "dev.conll", "test.conll") if not (DATA / f).is_file()]
    if missing:
        sys.exit(f"skipped: {DATA} lacks {', '.join(missing)} (the benchmark reads ../shared/datasets/wnut17 beside the project)")
    work = Path(tempfile.mkdtemp(prefix="domainfit-bench-ner-"))
    # OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep rather than spin. On a machine shared with other jobs a
    # spinning team waits a scheduler slice at every parallel region (measured here: a MiniLM training step took 8.4 s
    # with 2 spinning threads beside another 2-thread job, 1.4 s passive).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT / "src"),
           "DOMAINFIT_CACHE": str(work / "cache")}
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"== ner: WNUT17, method {HP['method']}, {HP}", flush=True)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", str(work / "bundle"), str(work / "result.json")], env=env)
    if proc.returncode != 0:
        sys.exit(f"the training run failed (exit {proc.returncode}); its bundle folder: {work / 'bundle'}")
    result = json.loads((work / "result.json").read_text()) | {"process_s": round(time.perf_counter() - t, 1)}
    results = {"part": "ner", "started": started, "command": ".venv/bin/python bench/tasks.py --part ner",
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
               "hyperparameters": HP, **result}
    _write(results)
    m = result["model"]
    print(f"   test entity F1 {m['f1']:.4f}  P {m['precision']:.4f}  R {m['recall']:.4f}  fit {result['fit_s']:.0f}s  "
          f"{result['train_tokens_per_s']} train pieces/s  → {RESULTS / 'tasks_ner.md'}", flush=True)


def _write(results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tasks_ner.json").write_text(json.dumps(results, indent=2))
    m, mach, c = results["model"], results["machine"], results["data"]
    rows = [("domainfit-full", m)] + [(f"baseline: {name}", b) for name, b in results["baselines"].items()]
    lines = [
        f"# ner benchmark ({results['started']})", "",
        f"Command: `{results['command']}`. Machine: {mach['cpus']} CPU cores, {mach['platform']}, Python {mach['python']}. "
        f"Backbone: bundled all-MiniLM-L6-v2. Hyperparameters: {results['hyperparameters']} (domainfit defaults otherwise: "
        "head learning rate 5 x lr, warm-up 6%, dropout 0.1, windows of max_length pieces with a quarter shared, early "
        "stopping on validation entity F1, best weights restored).", "",
        f"Data: WNUT17 official files, read as they are: train {c['train']} sentences ({c['entities']['train']} entities), "
        f"dev {c['val']} (validation), test {c['test']} ({c['entities']['test']} entities); {c['rows_rejected']} sentences "
        "left out by the data checks.", "",
        "Strict entity-level scores (seqeval, IOB2: an entity counts only with its exact words and type) on the test file.", "",
        "| system | F1 | precision | recall | macro-F1 |", "|---|---|---|---|---|",
        *[f"| {name} | {r['f1']:.4f} | {r['precision']:.4f} | {r['recall']:.4f} | {r['macro_f1']:.4f} |" for name, r in rows], "",
        "Per entity type (domainfit-full):", "", "| type | F1 | precision | recall | test entities |", "|---|---|---|---|---|",
        *[f"| {r['label']} | {r['f1']:.4f} | {r['precision']:.4f} | {r['recall']:.4f} | {r['support']} |" for r in m["per_type"]], "",
        f"Training: {results['fit_s']:.0f} s ({results['steps']} steps over {results['train_windows']} windows; best step "
        f"{results['best_step']}, dev F1 {results['best_dev_f1']:.4f}; stopped early: {results['stopped_early']}), of which "
        f"{results['eval_s_during_training']:.0f} s validation; {results['train_tokens_per_s']} word pieces/s and "
        f"{results['train_windows_per_s']} sentences (windows)/s of pure training. Whole run {results['wall_s']:.0f} s; "
        f"test inference {results['inference']['texts_per_s']} sentences/s; peak RSS {results['peak_rss_mb']} MB.",
    ]
    (RESULTS / "tasks_ner.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
