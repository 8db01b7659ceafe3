"""Tuning benchmark: `domainfit.tune` (Optuna, TPE, median pruning, the defaults as trial 0) with method `full` on
Financial PhraseBank 50agree (a stratified subsample of the training rows) or on Banking77 at k examples per class,
reduced to fit a one-core benchmark slot of a shared 2-core machine: a training subsample, a smaller validation
split, max_length 64, few trials. The objective is validation macro-F1 (the loop's); the table reports the test
accuracy of the defaults (trial 0) and of the best trial on the dataset's whole official test split.
Writes bench/results/<--name>.{json,md}.

    PYTHONPATH=src benchslot .venv/bin/python bench/tune.py --dataset fpb_50agree --train-rows 600 --val-rows 200 --trials 8
    PYTHONPATH=src benchslot .venv/bin/python bench/tune.py --dataset banking77 --per-class 10 --val-per-class 5 --trials 8
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

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, prepare_splits

# The method's default space, narrowed to what 8 trials can explore (batch size, dropout and class weights stay at
# their defaults); the defaults (lr 1e-4, head_lr_scale 5, 4 epochs, warm-up 0.06) lie inside it.
SPACE = """\
training.lr: {type: float, low: 2.0e-5, high: 5.0e-4, log: true}
method_options.head_lr_scale: {type: float, low: 1.0, high: 20.0, log: true}
training.epochs: {type: int, low: 2, high: 8}
training.warmup_ratio: {type: float, low: 0.0, high: 0.2}
"""


def _subsample(frame: pd.DataFrame, rows: int | None, per_class: int | None, seed: int = 0) -> pd.DataFrame:
    if per_class is not None:
        out = frame.sample(frac=1.0, random_state=seed).groupby("label").head(per_class)
    elif rows is not None and rows < len(frame):
        out = frame.groupby("label", group_keys=False).sample(frac=rows / len(frame), random_state=seed)
    else:
        out = frame
    return out.sample(frac=1.0, random_state=seed)


def _load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="fpb_50agree", choices=["fpb_50agree", "banking77"])
    ap.add_argument("--train-rows", type=int, default=None)
    ap.add_argument("--val-rows", type=int, default=None)
    ap.add_argument("--per-class", type=int, default=None)
    ap.add_argument("--val-per-class", type=int, default=None)
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--name", default=None)
    ap.add_argument("--timeout", type=float, default=None, help="stop starting trials after this many seconds")
    args = ap.parse_args()
    import domainfit

    name = args.name or f"tune_{args.dataset}"
    load_start = _load()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        splits = prepare_splits(args.dataset, work)
        rows = {}
        for split, n, k in (("train", args.train_rows, args.per_class), ("val", args.val_rows, args.val_per_class)):
            frame = _subsample(pd.read_csv(splits[split], dtype=str, keep_default_na=False), n, k)
            frame.to_csv(work / f"{split}.csv", index=False)
            rows[split] = len(frame)
        rows["test"] = splits["rows"]["test"]
        (work / "space.yaml").write_text(SPACE)
        config = {"method": "full", "data": {"train": str(work / "train.csv"), "val": str(work / "val.csv"),
                                             "test": splits["test"], "min_per_class": 1},
                  "model": {"max_length": args.max_length}, "baselines": [], "output": str(work / "tuned"),
                  "training": {"seed": 42}}  # everything else at the defaults: trial 0
        t = time.perf_counter()
        summary = domainfit.api.tune(config, trials=args.trials, space=work / "space.yaml", timeout=args.timeout)
        wall = time.perf_counter() - t
    d, b = summary["defaults"], summary["best"]
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "args": vars(args), "rows": rows,
              "wall_s": round(wall, 1), "loadavg_start": load_start, "loadavg_end": _load(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
              "summary": summary, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "test_accuracy": {"defaults": d["test"].get("accuracy"), "best": b["test"].get("accuracy")}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    lines = ["| trial | val macro-F1 (objective) | test accuracy | test macro-F1 | seconds | values |", "|---|---|---|---|---|---|"]
    for t in summary["trials"]:
        tag = " = defaults" if t["defaults"] else (" = best" if t["number"] == b["number"] else "")
        test = t["test"] or {}
        acc = f"{test['accuracy']:.2%}" if "accuracy" in test else "—"
        f1 = f"{test['macro_f1']:.4f}" if "macro_f1" in test else "—"
        val = f"{t['value']:.4f}" if t["value"] is not None else t["state"]
        vals = ", ".join(f"{k.split('.')[-1]} {v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]} {v}" for k, v in t["params"].items())
        lines.append(f"| {t['number']}{tag} | {val} | {acc} | {f1} | {t['seconds'] and round(t['seconds'])} | {vals} |")
    gain = 100 * ((b["test"].get("accuracy") or 0) - (d["test"].get("accuracy") or 0))
    lines.append(f"\nbest {b['number']} against the defaults: {gain:+.2f} points of test accuracy; wall {wall:.0f} s; "
                 f"counts {summary['counts']}; rows {rows}; importances {summary['importances']}")
    lines.append(f"load average: start {load_start}; end {result['loadavg_end']}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
