"""Few labels, many texts: domain-adaptive pretraining on Banking77's unlabelled training texts, then 10 examples per
intent (issue 15's second benchmark).

Run by hand (not a test), from a snapshot worktree:
    .venv/bin/python bench/pretrain_banking77.py [--objectives mlm,simcse,mlm+simcse] [--steps 300] [--methods head,full,fewshot]
Writes bench/results/pretrain_banking77.{md,json}.

What it measures, in one run:
  1. `domainfit pretrain` on all of Banking77's training texts (labels dropped; the test set is never read) for each
     objective, vocabulary extension `auto` (the bundled MiniLM's WordPiece covers English: few tokens are added);
  2. `head`, `full` and `fewshot` on 10 examples per intent (the same k-shot sample as bench/methods.py --part fewshot:
     the first 10 of each intent after a seed-0 shuffle, validation likewise 10 per intent) on the plain backbone and
     on each pretrained one, scored on the whole official test set (3,080 rows).
The target (issue 15): the best pretrained result at least 1 point above the best 10-shot result on the plain backbone.
Data is read in place from ../shared/datasets (never copied into the project).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, prepare_splits  # noqa: E402
from methods import kshot  # noqa: E402
from pretrain_waimai import _cli, finetune_each, pretrain  # noqa: E402

EPOCHS = {"full": 10, "lora": 10}  # as bench/methods.py --part fewshot


def finetune(backbone: str | None, method: str, s: dict, out: Path, args) -> dict:
    model = ["--model", backbone] if backbone else []
    epochs = ["--epochs", str(EPOCHS[method])] if method in EPOCHS else []
    wall = _cli("train", s["train10"], "--val", s["val10"], "--test", s["test"], "-o", str(out), "--method", method,
                *model, *epochs, "--max-length", str(args.max_length), "--set", "baselines=[]",
                "--set", "data.min_per_class=1", "--overwrite")
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["model"]
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "seconds": round(wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objectives", default="mlm,simcse,mlm+simcse")
    ap.add_argument("--steps", type=int, default=300, help="pretraining steps (batch 32); 300 is about one pass")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--methods", default="head,full,fewshot")
    ap.add_argument("--notes", default="")
    ap.add_argument("--render", action="store_true", help="only rewrite the .md from the committed .json")
    args = ap.parse_args()
    if args.render:
        log = json.loads((RESULTS / "pretrain_banking77.json").read_text(encoding="utf-8"))
        log["notes"] = args.notes or log.get("notes", "")
        _write(log)
        return
    args.words = False  # pretrain_waimai.pretrain reads it
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-pretrain-b77-"))
    sp = prepare_splits("banking77", work)
    s = {"test": sp["test"], "train10": str(kshot(Path(sp["train"]), 10, 0, work / "train10.csv")),
         "val10": str(kshot(Path(sp["val"]), 10, 0, work / "val10.csv"))}
    import pandas as pd

    texts = pd.concat([pd.read_csv(sp[k], dtype=str, keep_default_na=False) for k in ("train", "val")])[["text"]]
    s["texts"] = str(work / "texts.csv")
    texts.to_csv(s["texts"], index=False)  # every training text (train + validation split), labels dropped
    log = {"args": {k: v for k, v in vars(args).items() if k != "render"}, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
           "rows": {"texts": len(texts), "labelled": 770, "val": 770, "test": sp["rows"]["test"]},
           "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "loadavg_start": Path("/proc/loadavg").read_text().strip()}
    results: list[dict] = []
    pretrained: list[dict] = []

    def save() -> None:
        _write({**log, "finetune": results, "pretrain": pretrained, "seconds": round(time.perf_counter() - started),
                "loadavg_end": Path("/proc/loadavg").read_text().strip()})

    folders: dict[str, Path] = {}
    for objective in args.objectives.split(","):
        name = f"pretrained ({objective})"
        folders[name] = work / f"bb-{objective.replace('+', '_')}"
        pretrained.append(pretrain(name, "auto", objective, s, folders[name], args))
        print({k: v for k, v in pretrained[-1].items() if k != "curve"}, flush=True)
        save()
    finetune_each(finetune, args.methods.split(","), folders, s, work, args, results, save)


def _write(log: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pretrain_banking77.json").write_text(json.dumps(log, indent=1), encoding="utf-8")
    a = log["args"]
    lines = ["# Banking77, few labels and many texts: `domainfit pretrain`, then 10 examples per intent", "",
             (f"Command: `.venv/bin/python bench/pretrain_banking77.py --objectives {a['objectives']} --steps {a['steps']} "
              f"--lr {a['lr']} --max-length {a['max_length']} --methods {a['methods']}`"), "",
             (f"Started {log['started']}; machine {log['machine']}; load average at the start `{log['loadavg_start']}`, "
              f"at the end `{log.get('loadavg_end', '?')}`. Rows: {log['rows']['texts']:,} unlabelled texts (the training "
              f"file's texts, labels dropped) for pretraining; 10 per intent (770) to train and 770 to validate; the whole "
              f"official test set ({log['rows']['test']:,} rows) scored."), "",
             "## 10 examples per intent (test accuracy / macro-F1, %)", "",
             "| backbone | method | accuracy | macro-F1 | wall s |", "|---|---|---:|---:|---:|"]
    rows = log.get("finetune", [])
    lines += [f"| {r['backbone']} | {r['method']} | {100 * r['accuracy']:.2f} | {100 * r['macro_f1']:.2f} | {r['seconds']} |"
              for r in rows]
    plain = [r["accuracy"] for r in rows if r["backbone"] == "MiniLM (plain)"]
    tuned = [r for r in rows if r["backbone"] != "MiniLM (plain)"]
    if plain and tuned:
        best = max(tuned, key=lambda r: r["accuracy"])
        gain = 100 * (best["accuracy"] - max(plain))
        lines += ["", (f"Best on the plain backbone: {100 * max(plain):.2f}%; best pretrained: {100 * best['accuracy']:.2f}% "
                       f"({best['backbone']}, {best['method']}): {gain:+.2f} points. Target (≥ +1 point): "
                       f"**{'met' if gain >= 1 else 'not met'}**.")]
    lines += ["", "## Pretraining runs", "",
              "| objective | tokens added | held-out MLM loss before → after | steps | tokens/s | peak RSS MiB | wall s |",
              "|---|---:|---|---:|---:|---:|---:|"]
    for p in log.get("pretrain", []):
        h = p["heldout"]
        lines.append(f"| {p['objective']} | {p['tokens_added']} | {h['before']['mlm_loss']:.3f} → {h['after']['mlm_loss']:.3f} | "
                     f"{p['steps']['warmup']}+{p['steps']['main']} | {p['speed']['tokens_per_second']:.0f} | "
                     f"{p['speed']['peak_memory_mib']:.0f} | {p['seconds']} |")
    lines += ["", f"Total wall time: {log.get('seconds', 0)} s.", ""]
    if log.get("notes"):
        lines += ["## Notes", "", log["notes"], ""]
    (RESULTS / "pretrain_banking77.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
