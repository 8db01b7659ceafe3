"""Adaptation-methods benchmark (issue 3): few-shot Banking77, LoRA against full fine-tuning, zero-shot, learning curves.

Run by hand (not a test):
    .venv/bin/python bench/methods.py --part fewshot      # Banking77, 10 examples per class, + the setfit library itself
    .venv/bin/python bench/methods.py --part lora         # Banking77 full data: lora vs full
    .venv/bin/python bench/methods.py --part zeroshot     # plain label names, Banking77 and Financial PhraseBank
    .venv/bin/python bench/methods.py --part curve        # `domainfit compare` learning curves (long)
Writes bench/results/methods_<part>.{md,json}. Data from ../shared/datasets, never copied into the project.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, SHARED, prepare_splits  # noqa: E402

os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})

def splits(name: str, work: Path) -> dict:
    return {k: Path(v) for k, v in prepare_splits(name, work).items() if k in ("train", "val", "test")}


def kshot(path: Path, k: int, seed: int, out: Path) -> Path:
    """k rows per class: the first k of each class after a seed-`seed` shuffle (as REFERENCE.md's 10-shot probe)."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False).sample(frac=1.0, random_state=seed)
    frame.groupby("label", sort=True).head(k).to_csv(out, index=False)
    return out


def train_domainfit(method: str, train: Path, val: Path, test: Path, out: Path, **cfg) -> dict:
    import domainfit

    t = time.perf_counter()
    model = domainfit.train({"method": method, "data": {"train": str(train), "val": str(val), "test": str(test),
                                                        "min_per_class": 1},
                             "baselines": [], "output": str(out), **cfg})
    wall = time.perf_counter() - t
    m, meta = model.metrics["model"], model.meta
    return {"system": f"domainfit {method}", "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "train_s": meta["training"]["seconds"], "wall_s": round(wall, 1),
            "train_examples_per_s": meta["training"].get("train_examples_per_s"),
            "trainable": meta["model"]["trainable_parameters"], "total": meta["model"]["total_parameters"],
            "options": meta["method_options"]}


def setfit_library(train: Path, test: Path, max_steps: int) -> dict:
    """The setfit library as a user runs it: SetFitModel + Trainer, its default head, pairs bounded by max_steps."""
    import numpy as np
    import pandas as pd
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments
    from sklearn.metrics import accuracy_score, f1_score

    from domainfit.backbones import resolve_backbone

    tr, te = pd.read_csv(train, dtype=str), pd.read_csv(test, dtype=str)
    model = SetFitModel.from_pretrained(resolve_backbone(None).path, local_files_only=True)
    args = TrainingArguments(batch_size=32, max_steps=max_steps, seed=42, show_progress_bar=False, report_to="none",
                             save_strategy="no", output_dir=tempfile.mkdtemp())
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_pandas(tr[["text", "label"]]))
    t = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t
    pred = np.asarray(model.predict(te["text"].tolist()))
    return {"system": f"setfit library (max_steps {max_steps}, default head)", "accuracy": float(accuracy_score(te["label"], pred)),
            "macro_f1": float(f1_score(te["label"], pred, average="macro")), "train_s": round(seconds, 1), "wall_s": round(seconds, 1)}


def part_fewshot(work: Path) -> list[dict]:
    s = splits("banking77", work)
    tr = kshot(s["train"], 10, 0, work / "b77_train_10.csv")
    va = kshot(s["val"], 10, 0, work / "b77_val_10.csv")
    rows = []
    for method, cfg in (("head", {}), ("zeroshot", {}), ("full", {"training": {"epochs": 10}}),
                        ("lora", {"training": {"epochs": 10}}), ("fewshot", {})):
        rows.append(_report(train_domainfit(method, tr, va, s["test"], work / f"fs-{method}", **cfg)))
    rows.append(_report(setfit_library(tr, s["test"], max_steps=200)))
    return rows


def part_lora(work: Path) -> list[dict]:
    s = splits("banking77", work)
    rows = []
    for method in ("full", "lora"):
        rows.append(_report(train_domainfit(method, s["train"], s["val"], s["test"], work / f"lora-{method}",
                                            model={"max_length": 64}, training={"epochs": 3, "batch_size": 32})))
    return rows


def part_zeroshot(work: Path) -> list[dict]:
    import domainfit

    rows = []
    for name in ("banking77", "fpb_allagree"):
        s = splits(name, work)
        model = domainfit.train({"method": "zeroshot", "method_options": {"prototypes": False},
                                 "data": {"train": str(s["train"]), "val": str(s["val"]), "test": str(s["test"])},
                                 "baselines": [], "output": str(work / f"zs-{name}")})
        m = model.metrics["model"]
        rows.append(_report({"system": f"zeroshot (label names) on {name}", "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                             "train_s": model.meta["training"]["seconds"]}))
    return rows


def part_curve(work: Path, datasets: list[str], seeds: int) -> list[dict]:
    """Resumable: rerun with the same --work folder and finished runs are reused (`compare(resume=True)`)."""
    import domainfit

    rows = []
    for name in datasets:
        s = splits(name, work)
        result = domainfit.compare(s["train"], test=s["test"], val=s["val"], methods=["zeroshot", "tfidf", "head", "fewshot", "lora", "full"],
                                   shots="8,16,32,64,all", seeds=seeds, output=work / f"curve-{name}",
                                   resume=True)
        for r in result["leaderboard"]:
            rows.append(_report({"system": f"{name}: {r['method']} @ {r['shots']}/class", "accuracy": r["accuracy"],
                                 "accuracy_std": r["accuracy_std"], "macro_f1": r["macro_f1"], "train_s": r["train_seconds"],
                                 "seeds": r["seeds"]}))
        rows.append({"system": f"{name}: recommendation", "note": result["recommendation"]["why"]})
        (RESULTS / f"methods_curve_{name}.html").write_text((work / f"curve-{name}" / "report.html").read_text())
    return rows


def _report(row: dict) -> dict:
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    shown = {k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items() if k != "options"}
    print("  ", shown, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("fewshot", "lora", "zeroshot", "curve"), required=True)
    ap.add_argument("--datasets", default="banking77,fpb_allagree", help="for --part curve")
    ap.add_argument("--seeds", type=int, default=1, help="for --part curve: seeds for budgets up to 32 per class")
    ap.add_argument("--work", type=Path, help="working folder (default: a new temporary one); reuse it to resume --part curve")
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"skipped: {SHARED} is absent (the benchmark reads ../shared/datasets beside the project)")
    import torch

    torch.set_num_threads(2)
    work = args.work or Path(tempfile.mkdtemp(prefix="domainfit-methods-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["DOMAINFIT_CACHE"] = str(work / "cache")  # cold: nothing reused from earlier runs
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    parts = {"fewshot": part_fewshot, "lora": part_lora, "zeroshot": part_zeroshot,
             "curve": lambda w: part_curve(w, args.datasets.split(","), args.seeds)}
    rows = parts[args.part](work)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"methods_{args.part}.json").write_text(json.dumps({"started": started, "cpus": os.cpu_count(), "rows": rows}, indent=2, default=str))
    lines = [f"# Methods benchmark: {args.part} ({started}, {os.cpu_count()} CPU cores, bundled all-MiniLM-L6-v2)", "",
             "| system | accuracy | macro-F1 | train s | train ex/s | trainable params | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "accuracy" not in r:
            lines.append(f"| {r['system']} | {r.get('note', '')} | | | | | |")
            continue
        acc = f"{100 * r['accuracy']:.2f}%" + (f" ± {100 * r['accuracy_std']:.2f}" if r.get("accuracy_std") else "")
        trainable = f"{r['trainable']:,} ({100 * r['trainable'] / r['total']:.2f}%)" if r.get("trainable") is not None and r.get("total") else "—"
        lines.append(f"| {r['system']} | {acc} | {100 * r['macro_f1']:.2f} | {r.get('train_s') or '—'} | "
                     f"{r.get('train_examples_per_s') or '—'} | {trainable} | {r.get('peak_rss_mb', '—')} |")
    (RESULTS / f"methods_{args.part}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
