"""Tuning benchmark: `domainfit.tune` (Optuna, TPE, median pruning, the defaults as trial 0) on Financial PhraseBank
50agree with method `full`, reduced to fit a shared 2-core machine: a stratified subsample of the training rows, a
smaller validation split, max_length 64, few trials. The objective is validation macro-F1; the table reports the test
accuracy of the defaults (trial 0) and of the best trial. Writes bench/results/tune.{json,md}.

    nice -n 10 .venv/bin/python bench/tune.py [--train-rows 900] [--val-rows 300] [--trials 6]
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

SPACE = """\
training.lr: {type: float, low: 2.0e-5, high: 3.0e-4, log: true}
method_options.head_lr_scale: {type: float, low: 1.0, high: 20.0, log: true}
training.epochs: {type: int, low: 1, high: 3}
training.warmup_ratio: {type: float, low: 0.0, high: 0.2}
training.class_weights: {type: categorical, choices: [none, balanced, sqrt]}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-rows", type=int, default=900)
    ap.add_argument("--val-rows", type=int, default=300)
    ap.add_argument("--trials", type=int, default=6)
    args = ap.parse_args()
    import domainfit

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        splits = prepare_splits("fpb_50agree", work)
        for split, n in (("train", args.train_rows), ("val", args.val_rows)):
            frame = pd.read_csv(splits[split], dtype=str, keep_default_na=False)
            frame = frame.groupby("label").sample(frac=min(1.0, n / len(frame)), random_state=0).sample(frac=1.0, random_state=0)
            frame.to_csv(work / f"{split}.csv", index=False)
        (work / "space.yaml").write_text(SPACE)
        config = {"method": "full", "data": {"train": str(work / "train.csv"), "val": str(work / "val.csv"),
                                             "test": splits["test"]},
                  "model": {"max_length": 64}, "baselines": [], "output": str(work / "tuned"),
                  "training": {"epochs": 2, "seed": 42}}  # the defaults, with 2 epochs instead of 4 to fit the machine
        t = time.perf_counter()
        summary = domainfit.api.tune(config, trials=args.trials, space=work / "space.yaml")
        wall = time.perf_counter() - t
    rows = {"train": args.train_rows, "val": args.val_rows, "test": splits["rows"]["test"]}
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "args": vars(args), "rows": rows,
              "wall_s": round(wall, 1), "summary": summary, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tune.json").write_text(json.dumps(result, indent=2, default=str))
    d, b = summary["defaults"], summary["best"]
    print("| trial | val macro-F1 | test accuracy | test macro-F1 | params |\n|---|---|---|---|---|")
    for name, t in (("defaults (0)", d), (f"best ({b['number']})", b)):
        print(f"| {name} | {t['value']:.4f} | {t['test'].get('accuracy', float('nan')):.2%} | "
              f"{t['test'].get('macro_f1', float('nan')):.4f} | {t['params']} |")
    print(f"wall {wall:.0f} s; counts {summary['counts']}")


if __name__ == "__main__":
    main()
