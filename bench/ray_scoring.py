"""Ray batch-scoring benchmark: the Banking77 test texts repeated to `--rows` rows in one Parquet file, scored by the
in-process Predictor and by `score_parquet` on a local Ray (2 workers), with the same bundle and variant. Rows/s
counts scoring only (the in-process side: predict over the whole column; the Ray side: start of the actor pool to the
last part written, actor start-up included). Writes bench/results/ray_scoring.{json,md}.

    nice -n 10 .venv/bin/python bench/ray_scoring.py BUNDLE [--rows 20000] [--workers 2]
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
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, RESULTS, SHARED


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--block-rows", type=int, default=2_000)
    args = ap.parse_args()
    from domainfit.predict import Predictor
    from domainfit.scoring import score_parquet

    texts = pd.read_csv(SHARED / DATASETS["banking77"][1], dtype=str, keep_default_na=False)["text"].tolist()
    texts = (texts * (args.rows // len(texts) + 1))[: args.rows]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "big.parquet"
        pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), source, row_group_size=2_000)
        predictor = Predictor.from_bundle(args.bundle, threads=args.workers)
        t = time.perf_counter()
        predictor.predict(texts)
        local_s = time.perf_counter() - t
        done = score_parquet(args.bundle, source, Path(tmp) / "scored", workers=args.workers, block_rows=args.block_rows,
                             variant=predictor.variant)
    runs = [{"engine": f"in-process Predictor ({args.workers} threads)", "variant": predictor.variant, "rows": len(texts),
             "seconds": round(local_s, 1), "rows_per_s": round(len(texts) / local_s, 1)},
            {"engine": f"Ray Data, {args.workers} actors x 1 thread", "variant": predictor.variant, "rows": done["rows"],
             "seconds": done["seconds"], "rows_per_s": done["rows_per_s"]}]
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "args": vars(args), "runs": runs,
              "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ray_scoring.json").write_text(json.dumps(result, indent=2))
    print("| engine | variant | rows | seconds | rows/s |\n|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['engine']} | {r['variant']} | {r['rows']} | {r['seconds']} | {r['rows_per_s']} |")


if __name__ == "__main__":
    main()
