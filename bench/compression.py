"""Compression benchmark (issue 5): Banking77 model → ONNX fp32/int8, torch int8, a distilled 3-layer student;
then `domainfit bench` on all of them. Run by hand:

    .venv/bin/python bench/compression.py [--bundle runs/banking77]   # without --bundle, trains one first (~7 min)
    .venv/bin/python bench/compression.py --bundle runs/banking77 --reuse   # keep the variants it holds, build the rest

Writes bench/results/compression.{md,json}. Data from ../shared/datasets, never copied into the project.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, SHARED, prepare_splits  # noqa: E402

os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, help="a Banking77 bundle to compress (a copy is used)")
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--reuse", action="store_true", help="keep the variants the bundle already holds; build only the missing")
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"skipped: {SHARED} is absent (the benchmark reads ../shared/datasets beside the project)")
    import domainfit

    work = Path(tempfile.mkdtemp(prefix="domainfit-compress-"))
    bundle = work / "banking77"
    if args.bundle:
        shutil.copytree(args.bundle, bundle)
        if not args.reuse:
            shutil.rmtree(bundle / "variants", ignore_errors=True)
    else:
        s = prepare_splits("banking77", work)
        domainfit.train({"data": {"train": s["train"], "val": s["val"], "test": s["test"]}, "model": {"max_length": 64},
                         "baselines": [], "output": str(bundle)})
    steps = {}
    student = f"distilled-{args.layers}l"
    plan = {"onnx-fp32": {"to": "onnx", "quantize": "none"}, "onnx-int8": {"to": "onnx", "quantize": "int8"},
            "onnx-int8-static": {"to": "onnx", "quantize": "int8-static"},
            "torch-int8": {"to": "torch", "quantize": "int8"}, student: {"distill_layers": args.layers},
            f"{student}-onnx-int8": {"base": student, "to": "onnx", "quantize": "int8"}}  # stacked: the student in int8
    for name, kw in plan.items():
        held = bundle / "variants" / name / "variant.json"
        if held.is_file():
            meta = json.loads(held.read_text())
            steps[name] = {"reused": True, "parity": meta["parity"], "size_mb": meta["size_mb"]}
            continue
        t = time.perf_counter()
        try:
            meta = domainfit.compress(bundle, **kw)
            steps[meta["name"]] = {"seconds": round(time.perf_counter() - t, 1), "parity": meta["parity"], "size_mb": meta["size_mb"]}
        except domainfit.DomainfitError as exc:  # a variant that fails its gate is a result too
            steps[str(kw)] = {"error": str(exc)}
        print(steps[list(steps)[-1]], flush=True)
    result = domainfit.bench(bundle)
    result["compress_steps"] = steps
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "compression.json").write_text(json.dumps(result, indent=2))
    md = (bundle / "variants" / "bench.md").read_text()
    header = (f"# Compression benchmark ({time.strftime('%Y-%m-%d %H:%M')}, Banking77 test set, bundled all-MiniLM-L6-v2 "
              f"fine-tuned with `full`, {os.cpu_count()} CPU cores)\n\n")
    (RESULTS / "compression.md").write_text(header + md + "\n## Build and parity\n\n```\n" + json.dumps(steps, indent=2) + "\n```\n")
    print(md)


if __name__ == "__main__":
    main()
