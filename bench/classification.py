"""Classification benchmark: domainfit `full` and `head` against the Hugging Face Trainer and TF-IDF, same splits.

Run by hand (not a test):  .venv/bin/python bench/classification.py [--datasets banking77,fpb_allagree,fpb_50agree]
Writes bench/results/classification.{md,json}. Each system runs in its own subprocess, so its peak RSS is its own.
Data comes from ../shared/datasets (never copied into the project); validation is carved from train (10%, stratified,
seed 42) once, and every system sees the same train/val/test rows.
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
from _common import DATASETS, RESULTS, ROOT, SHARED, prepare_splits  # noqa: E402

SYSTEMS = ("domainfit-full", "domainfit-head", "hf-trainer", "tfidf")
# Shared hyperparameters: the same batch size, max length and backbone learning rate for every system. Epochs: the HF
# Trainer runs its usual 3; domainfit runs its own default (4, with early stopping) — the target is to beat the
# Trainer's accuracy in no more wall time than its 3 epochs.
HP = {"batch_size": 32, "max_length": 64, "lr": 1e-4, "hf_epochs": 3}


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "PYTHONPATH": str(ROOT / "src")}


# ---------------------------------------------------------------- one system, in a subprocess
def run_domainfit(method: str, splits: dict, out: Path) -> dict:
    import domainfit

    t = time.perf_counter()
    model = domainfit.train({
        "method": method,
        "data": {"train": splits["train"], "val": splits["val"], "test": splits["test"]},
        "model": {"max_length": HP["max_length"]},
        "training": {"batch_size": HP["batch_size"], "lr": HP["lr"]},
        "baselines": [],
        "output": str(out),
    })
    wall = time.perf_counter() - t
    meta, m = model.meta, model.metrics["model"]
    train_rows = splits["rows"]["train"]
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "wall_s": wall, "fit_s": meta["training"]["seconds"],
            "train_examples_per_s": meta["training"].get("train_examples_per_s"),
            "epochs_run": round(meta["training"].get("steps", 0) * HP["batch_size"] / train_rows, 2) if method == "full" else None,
            "best_epoch": round(meta["training"].get("best_step", 0) * HP["batch_size"] / train_rows, 2) if method == "full" else None,
            "stopped_early": meta["training"].get("stopped_early"), "best_step": meta["training"].get("best_step")}


def run_hf_trainer(splits: dict, out: Path) -> dict:
    """The usual transformers recipe: AutoModelForSequenceClassification + Trainer, dynamic padding, same hyperparameters."""
    import numpy as np
    import pandas as pd
    import torch
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments)

    from domainfit.backbones import resolve_backbone

    torch.set_num_threads(2)
    path = resolve_backbone(None).path
    train, test = pd.read_csv(splits["train"], dtype=str), pd.read_csv(splits["test"], dtype=str)
    labels = sorted(train["label"].unique())
    index = {x: i for i, x in enumerate(labels)}
    tok = AutoTokenizer.from_pretrained(path)

    def encode(frame):
        enc = tok(frame["text"].tolist(), truncation=True, max_length=HP["max_length"])
        return [{"input_ids": i, "attention_mask": a, "labels": index[y]}
                for i, a, y in zip(enc["input_ids"], enc["attention_mask"], frame["label"])]

    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(labels))
    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=HP["batch_size"], per_device_eval_batch_size=64,
                             learning_rate=HP["lr"], num_train_epochs=HP["hf_epochs"], weight_decay=0.01, warmup_steps=0.06,  # transformers 5: a float < 1 is a ratio
                             save_strategy="no", report_to=[], logging_steps=50, use_cpu=True, seed=42,
                             dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, train_dataset=encode(train), data_collator=DataCollatorWithPadding(tok))
    t = time.perf_counter()
    result = trainer.train()
    fit = time.perf_counter() - t
    pred = trainer.predict(encode(test)).predictions.argmax(-1)
    y = np.array([index[v] for v in test["label"]])
    return {"accuracy": float(accuracy_score(y, pred)), "macro_f1": float(f1_score(y, pred, average="macro")),
            "wall_s": time.perf_counter() - t, "fit_s": fit,
            "train_examples_per_s": round(result.metrics.get("train_samples_per_second", 0.0), 2)}


def run_tfidf(splits: dict, out: Path) -> dict:
    import pandas as pd
    from sklearn.metrics import accuracy_score, f1_score

    from domainfit.evaluation.baselines import TfidfBaseline

    train, test = pd.read_csv(splits["train"], dtype=str), pd.read_csv(splits["test"], dtype=str)
    labels = sorted(train["label"].unique())
    t = time.perf_counter()
    proba = TfidfBaseline().fit_predict(train["text"].tolist(), train["label"].tolist(), test["text"].tolist(), labels)
    wall = time.perf_counter() - t
    pred = [labels[i] for i in proba.argmax(1)]
    return {"accuracy": float(accuracy_score(test["label"], pred)), "macro_f1": float(f1_score(test["label"], pred, average="macro")),
            "wall_s": wall, "fit_s": wall, "train_examples_per_s": None}


RUNNERS = {
    "domainfit-full": lambda s, o: run_domainfit("full", s, o),
    "domainfit-head": lambda s, o: run_domainfit("head", s, o),
    "hf-trainer": run_hf_trainer,
    "tfidf": run_tfidf,
}


def child(system: str, splits_json: str, out: str, result_path: str) -> None:
    splits = json.loads(Path(splits_json).read_text())
    result = RUNNERS[system](splits, Path(out))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    Path(result_path).write_text(json.dumps(result))


# ---------------------------------------------------------------- the driver
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--tag", default="classification", help="results file name (bench/results/<tag>.md/.json)")
    ap.add_argument("--child", nargs=4, metavar=("SYSTEM", "SPLITS", "OUT", "RESULT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    if not SHARED.is_dir():
        sys.exit(f"skipped: {SHARED} is absent (the benchmark reads ../shared/datasets beside the project)")

    work = Path(tempfile.mkdtemp(prefix="domainfit-bench-"))
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
               "hyperparameters": HP, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "runs": []}
    for name in args.datasets.split(","):
        splits = prepare_splits(name, work)
        (work / f"{name}.json").write_text(json.dumps(splits))
        print(f"== {name}: {splits['rows']} ({splits['labels']} labels, {splits['rejected']} rows rejected by the data checks)", flush=True)
        for system in args.systems.split(","):
            res_path = work / f"{name}-{system}.result.json"
            t = time.perf_counter()
            # a fresh embedding cache per run: every system is timed cold, end to end
            env = {**_env(), "DOMAINFIT_CACHE": str(work / f"cache-{name}-{system}")}
            proc = subprocess.run([sys.executable, __file__, "--child", system, str(work / f"{name}.json"),
                                   str(work / f"{name}-{system}"), str(res_path)], env=env)
            if proc.returncode != 0 or not res_path.is_file():
                print(f"   {system}: FAILED (exit {proc.returncode})", flush=True)
                results["runs"].append({"dataset": name, "system": system, "error": f"exit {proc.returncode}"})
                continue
            r = json.loads(res_path.read_text())
            r.update({"dataset": name, "system": system, "process_s": round(time.perf_counter() - t, 1)})
            results["runs"].append(r)
            print(f"   {system:15s} acc {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  fit {r['fit_s']:.1f}s  "
                  f"wall {r['wall_s']:.1f}s  ex/s {r.get('train_examples_per_s')}  RSS {r['peak_rss_mb']} MB", flush=True)
            _write(results, args.tag)
    _write(results, args.tag)


def _write(results: dict, tag: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{tag}.json").write_text(json.dumps(results, indent=2))
    lines = [f"# Classification benchmark ({results['started']})", "",
             f"Machine: {results['machine']['cpus']} CPU cores, {results['machine']['platform']}, Python {results['machine']['python']}. "
             f"Backbone: bundled all-MiniLM-L6-v2. Shared hyperparameters: {results['hyperparameters']}.",
             "Validation carved from train (10%, stratified, seed 42); every system trains on the same rows and is scored on "
             "the same test rows. `fit` = training only; `wall` = the whole call (data, embeddings, training, evaluation).", "",
             "| dataset | system | accuracy | macro-F1 | fit s | wall s | train ex/s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results["runs"]:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['system']} | failed: {r['error']} | | | | | |")
            continue
        lines.append(f"| {r['dataset']} | {r['system']} | {100 * r['accuracy']:.2f}% | {100 * r['macro_f1']:.2f} | "
                     f"{r['fit_s']:.1f} | {r['wall_s']:.1f} | {r.get('train_examples_per_s') or '—'} | {r['peak_rss_mb']} |")
    (RESULTS / f"{tag}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
