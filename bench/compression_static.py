"""Static against dynamic int8 on one bundle: accuracy, agreement with fp32, whether a text's decision depends on its
batch, and speed (`domainfit.compress` to onnx none / int8 / int8-static on a copy, then `domainfit.bench`).

Run by hand (not a test):
    .venv/bin/python bench/compression_static.py BUNDLE [--work /tmp/cmp-static]
Prints the variants' lines and bench table, and writes <work>/result.json; the committed numbers are in
bench/results/compression.md ("Static int8").
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/tmp/cmp-static"))
    args = ap.parse_args()
    import domainfit
    from domainfit.bundle import seal_bundle
    from domainfit.compression.run import describe

    copy = args.work / args.bundle.name
    shutil.rmtree(copy, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    shutil.copytree(args.bundle, copy)
    shutil.rmtree(copy / "variants", ignore_errors=True)
    seal_bundle(copy)  # the copy without the variants it held
    steps = {}
    for quantize in ("none", "int8", "int8-static"):
        t = time.perf_counter()
        meta = domainfit.compress(copy, to="onnx", quantize=quantize)
        steps[meta["name"]] = {"seconds": round(time.perf_counter() - t, 1), "parity": meta["parity"],
                               "calibration": meta.get("calibration")}
        print(describe(meta), flush=True)
    result = domainfit.bench(copy)
    result.update(compress_steps=steps, loadavg=Path("/proc/loadavg").read_text().strip())
    (args.work / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print((copy / "variants" / "bench.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
