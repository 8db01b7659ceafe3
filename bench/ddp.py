"""DDP benchmark: `domainfit train` on a Banking77 subsample with method `full`, one process against two processes
(`accelerate launch --multi_gpu --num_processes 2`, gloo on CPU) at the same effective batch size (1 × 32 against
2 × 16). Writes bench/results/ddp.{json,md}.

    nice -n 10 .venv/bin/python bench/ddp.py [--per-label 30] [--test-per-label 10] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, prepare_splits


def subsample(splits: dict, workdir: Path, per_label: int, test_per_label: int) -> dict:
    out = {}
    for split, n in (("train", per_label), ("val", max(2, per_label // 10)), ("test", test_per_label)):
        frame = pd.read_csv(splits[split], dtype=str, keep_default_na=False)
        frame = frame.sample(frac=1.0, random_state=0).groupby("label").head(n)  # n per label, shuffled
        path = workdir / f"sub_{split}.csv"
        frame.to_csv(path, index=False)
        out[split], out[f"{split}_rows"] = str(path), len(frame)
    return out


def run(processes: int, data: dict, workdir: Path, epochs: float) -> dict:
    out = workdir / f"bundle-{processes}"
    config = {"method": "full", "data": {"train": data["train"], "val": data["val"], "test": data["test"]},
              "model": {"max_length": 64}, "baselines": [], "output": str(out),
              "training": {"batch_size": 32 // processes, "lr": 1e-4, "epochs": epochs, "seed": 42,
                           "threads": max(1, (os.cpu_count() or 2) // processes)}}
    cfg = workdir / f"config-{processes}.yaml"
    cfg.write_text(json.dumps(config))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(config["training"]["threads"])}
    launch = ([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"] if processes > 1 else [sys.executable])
    t = time.perf_counter()
    subprocess.run([*launch, "-m", "domainfit", "train", str(cfg), "--overwrite"], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    meta = json.loads((out / "domainfit.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())["model"]
    return {"processes": processes, "per_process_batch": 32 // processes, "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"], "steps": meta["training"]["steps"], "fit_s": meta["training"]["seconds"],
            "wall_s": round(wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-label", type=int, default=30)
    ap.add_argument("--test-per-label", type=int, default=10)
    ap.add_argument("--epochs", type=float, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data = subsample(prepare_splits("banking77", workdir), workdir, args.per_label, args.test_per_label)
        runs = [run(p, data, workdir, args.epochs) for p in (1, 2)]
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "args": vars(args),
              "rows": {k: v for k, v in data.items() if k.endswith("_rows")}, "runs": runs,
              "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ddp.json").write_text(json.dumps(result, indent=2))
    lines = ["| processes | batch per process | accuracy | macro-F1 | steps | fit s | wall s |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['processes']} | {r['per_process_batch']} | {r['accuracy']:.2%} | {r['macro_f1']:.4f} | {r['steps']} | "
              f"{r['fit_s']} | {r['wall_s']} |" for r in runs]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
