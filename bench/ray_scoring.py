"""Ray batch-scoring benchmark: the Banking77 test texts repeated to each of `--rows` row counts in one Parquet file,
scored by the in-process Predictor and by `score_parquet` (what `domainfit predict --engine ray` runs) on a local Ray,
with the same bundle and variant. Rows/s counts scoring only (the in-process side: predict over the whole column; the
Ray side: Ray's start (first size only), the actor pool's start, to the last part written). By default one actor
against one thread: a benchmark slot of this machine is one core, so this measures Ray's overhead, not a speed-up.
Writes bench/results/<--name>.{json,md}.

    PYTHONPATH=src /work/wt/_notes/benchslot .venv/bin/python bench/ray_scoring.py BUNDLE --rows 5000,50000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, RESULTS, SHARED


def _load() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").is_file() else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("--rows", default="5000", help="comma-separated row counts, each scored by both engines")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--block-rows", type=int, default=5_000)
    ap.add_argument("--name", default="ray_scoring")
    args = ap.parse_args()
    from domainfit.predict import Predictor
    from domainfit.scoring import score_parquet

    load_start = _load()
    base = pd.read_csv(SHARED / DATASETS["banking77"][1], dtype=str, keep_default_na=False)["text"].tolist()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        shutil.copytree(args.bundle, bundle)
        predictor = Predictor.from_bundle(bundle, threads=args.workers)
        for n in (int(x) for x in args.rows.split(",")):
            texts = (base * (n // len(base) + 1))[:n]
            source = Path(tmp) / f"big_{n}.parquet"
            pq.write_table(pa.table({"id": list(range(n)), "text": texts}), source, row_group_size=2_000)
            t = time.perf_counter()
            local = predictor.predict(texts)
            local_s = time.perf_counter() - t
            done = score_parquet(bundle, source, Path(tmp) / f"scored_{n}", workers=args.workers,
                                 block_rows=args.block_rows, variant=predictor.variant)
            scored = pq.read_table(Path(tmp) / f"scored_{n}", columns=["id", "label"]).to_pandas().sort_values("id")
            agree = float((scored["label"].to_numpy() == [str(p["label"]) for p in local]).mean())
            runs += [{"engine": f"in-process Predictor ({args.workers} thread{'s' * (args.workers > 1)})",
                      "variant": predictor.variant, "rows": n, "seconds": round(local_s, 1),
                      "rows_per_s": round(n / local_s, 1)},
                     {"engine": f"Ray Data ({args.workers} actor{'s' * (args.workers > 1)} x 1 thread, blocks of "
                                f"{args.block_rows})", "variant": predictor.variant, "rows": done["rows"],
                      "seconds": done["seconds"], "rows_per_s": done["rows_per_s"], "failed": len(done["failed"]),
                      "labels_equal_to_in_process": round(agree, 4)}]
            print(json.dumps(runs[-2:]), flush=True)
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "args": vars(args), "runs": runs,
              "loadavg_start": load_start, "loadavg_end": _load(), "single_threaded": args.workers == 1,
              "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2))
    lines = ["| engine | variant | rows | seconds | rows/s |", "|---|---|---|---|---|"]
    lines += [f"| {r['engine']} | {r['variant']} | {r['rows']:,} | {r['seconds']} | {r['rows_per_s']} |" for r in runs]
    print("\n".join(lines) + f"\nload average: start {load_start}; end {result['loadavg_end']}")


if __name__ == "__main__":
    main()
