"""Batch scoring on Ray Data: `domainfit predict BUNDLE --input big.parquet --output scored/ --engine ray`.

The input is cut into blocks of `block_rows` consecutive rows (block i: rows [i*B, (i+1)*B)). Ray Data runs the pending
blocks through an actor pool (`workers` actors, each loading the bundle's fastest passing variant once, one CPU each);
an actor reads only its block's rows from the Parquet file, predicts, and writes `part-<i>.parquet` (the input's id
column, label, score, and the prediction as JSON) atomically (a temporary file renamed). A block that fails is tried
again (`retries`); a block that still fails is reported and the others carry on. `_scoring.json` records the input,
the bundle and the block size: a re-run with the same ones skips the blocks whose part file exists, so an interrupted
or partly failed run finishes where it stopped.

Glue only: Ray Data schedules, pools and shows progress; pyarrow reads and writes; the Predictor predicts.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from domainfit.errors import DataError, DomainfitError
from domainfit.i18n import _

__all__ = ["score_parquet"]

STATE_FILE = "_scoring.json"


def _part(out: Path, block: int) -> Path:
    return out / f"part-{block:05d}.parquet"


class _Scorer:
    """One actor of the pool: the bundle loaded once, then one block per call."""

    def __init__(self, bundle: str, source: str, out: str, id_column: str, text_column: str, block_rows: int,
                 retries: int, variant: str) -> None:
        import torch

        from domainfit.predict import Predictor

        torch.set_num_threads(1)
        self.predictor = Predictor.from_bundle(bundle, variant=variant, threads=1)
        self.source, self.out, self.block_rows, self.retries = source, Path(out), block_rows, retries
        self.id_column, self.text_column = id_column, text_column

    def _score(self, block: int) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        start = block * self.block_rows
        table = _read_rows(pq.ParquetFile(self.source), start, start + self.block_rows, [self.id_column, self.text_column])
        texts = ["" if t is None else str(t) for t in table.column(self.text_column).to_pylist()]
        preds = self.predictor.predict(texts)
        result = pa.table({
            self.id_column: table.column(self.id_column),
            "label": pa.array([None if p.get("label") is None else str(p["label"]) for p in preds], pa.string()),
            "score": pa.array([None if p.get("score") is None else float(p["score"]) for p in preds], pa.float64()),
            "prediction": pa.array([json.dumps(p, ensure_ascii=False, default=float) for p in preds], pa.string()),
        })
        final = _part(self.out, block)
        tmp = final.with_name(final.name + ".tmp")
        pq.write_table(result, tmp)
        os.replace(tmp, final)  # a part file exists only when complete
        return len(texts)

    def __call__(self, batch: dict) -> dict:
        blocks, rows, attempts, errors, seconds = [], [], [], [], []
        for block in batch["block"]:
            block, t = int(block), time.perf_counter()
            error, n = "", 0
            for attempt in range(1, self.retries + 2):
                try:
                    n, error = self._score(block), ""
                    break
                except Exception as exc:  # noqa: BLE001 - reported per block; the other blocks go on
                    error = f"{type(exc).__name__}: {exc}"
            blocks.append(block), rows.append(n), attempts.append(attempt), errors.append(error)
            seconds.append(time.perf_counter() - t)
        return {"block": blocks, "rows": rows, "attempts": attempts, "error": errors, "seconds": seconds}


def _read_rows(parquet, start: int, stop: int, columns: list[str]):
    """Rows [start, stop) of a Parquet file, reading only the row groups that hold them."""
    import pyarrow as pa

    pieces, offset = [], 0
    for group in range(parquet.num_row_groups):
        n = parquet.metadata.row_group(group).num_rows
        if offset + n > start and offset < stop:
            table = parquet.read_row_group(group, columns=columns)
            pieces.append(table.slice(max(0, start - offset), min(n, stop - offset) - max(0, start - offset)))
        offset += n
        if offset >= stop:
            break
    return pa.concat_tables(pieces)


def _connect(address: str | None, workers: int, object_store_memory: int | None) -> None:
    import ray

    if ray.is_initialized():
        return
    try:
        if address is None:
            ray.init(num_cpus=workers, object_store_memory=object_store_memory, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, ValueError, RuntimeError for a bad address
        why = f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
        if address is None:
            raise DomainfitError(_("could not start a local Ray {why}").format(why=why), where="--engine ray",
                                 hint=_("on a busy machine Ray's start-up can time out: retry, or start one with "
                                        "`ray start --head` and pass --address auto")) from None
        raise DomainfitError(_("cannot reach the Ray cluster at {address} {why}").format(address=repr(address),
                                                                                          why=why),
                             where="--address",
                             hint=_("give `auto` on a machine of a running cluster (`ray start --head`), "
                                    "ray://HEAD:10001 for a remote one, or leave --address out for a local "
                                    "one")) from None


def _columns(parquet, source: Path, id_column: str, text_column: str | None) -> str:
    names = parquet.schema_arrow.names
    if id_column not in names:
        raise DataError(_("no id column {column} in {file} (columns: {columns})").format(
            column=repr(id_column), file=source.name, columns=", ".join(names)), where=str(source),
                        hint=_("name the column that identifies each row with --id-column"))
    if text_column is None:
        texts = [n for n in names if n in ("text", "content", "body", "message", "transcript")]
        if len(texts) != 1:
            raise DataError(_("cannot tell the text column of {file} (columns: {columns})").format(
                file=source.name, columns=", ".join(names)), where=str(source), hint=_("name it with --column"))
        text_column = texts[0]
    elif text_column not in names:
        raise DataError(_("no text column {column} in {file} (columns: {columns})").format(
            column=repr(text_column), file=source.name, columns=", ".join(names)),
                        where=str(source), hint=_("name an existing column with --column"))
    return text_column


def score_parquet(bundle: str | Path, source: str | Path, output: str | Path, *, id_column: str = "id",
                  text_column: str | None = None, address: str | None = None, workers: int = 2, block_rows: int = 10_000,
                  retries: int = 2, variant: str = "auto", object_store_memory: int | None = 100 * 1024**2) -> dict:
    """Score every row of `source` into `output/part-*.parquet`; returns what was done (blocks scored, skipped, failed,
    rows, seconds). `address`: None starts a local Ray with `workers` CPUs; `auto` or `ray://host:port` joins a cluster."""
    import pyarrow.parquet as pq

    from domainfit.bundle import read_meta

    source, out = Path(source), Path(output)
    if not source.is_file() or source.suffix.lower() != ".parquet":
        raise DataError(_("{path} is not a Parquet file").format(path=source), where="--input",
                        hint=_("--engine ray reads .parquet files"))
    if workers < 1 or block_rows < 1:
        raise DomainfitError(_("--workers and the block size must be at least 1"), where="--workers")
    meta = read_meta(bundle)  # a clear error for a folder that is not a bundle, before the cluster starts
    parquet = pq.ParquetFile(source)
    text_column = _columns(parquet, source, id_column, text_column)
    rows = parquet.metadata.num_rows
    n_blocks = max(1, math.ceil(rows / block_rows))
    stat = source.stat()
    state = {"input": str(source.resolve()), "input_bytes": stat.st_size, "input_mtime": stat.st_mtime, "rows": rows,
             "block_rows": block_rows, "bundle": str(Path(bundle).resolve()), "bundle_created": meta.created,
             "id_column": id_column, "text_column": text_column}
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE_FILE
    if state_path.is_file() and json.loads(state_path.read_text(encoding="utf-8")) != state:
        raise DataError(_("{path} holds the scores of another input, bundle or block size").format(path=out),
                        where="--output", hint=_("choose a new --output folder, or delete this one to score again"))
    state_path.write_text(json.dumps(state, indent=2), encoding="utf-8")
    pending = [b for b in range(n_blocks) if not _part(out, b).is_file()]
    started = time.perf_counter()
    results: list[dict] = []
    if pending:
        _connect(address, workers, object_store_memory)
        import ray.data

        blocks = ray.data.from_items([{"block": b} for b in pending], override_num_blocks=len(pending))
        scored = blocks.map_batches(
            _Scorer, batch_size=1, concurrency=min(workers, len(pending)), num_cpus=1,
            fn_constructor_args=(str(bundle), str(source.resolve()), str(out.resolve()), id_column, text_column,
                                 block_rows, retries, variant))
        results = scored.take_all()
    failed = [{"block": r["block"], "error": r["error"], "attempts": r["attempts"]} for r in results if r["error"]]
    done_rows = sum(r["rows"] for r in results)
    seconds = time.perf_counter() - started
    return {"output": str(out), "blocks": n_blocks, "scored": len(results) - len(failed), "skipped": n_blocks - len(pending),
            "failed": failed, "rows": done_rows, "seconds": round(seconds, 2),
            "rows_per_s": round(done_rows / seconds, 1) if seconds > 0 and done_rows else None,
            "retried": sum(r["attempts"] > 1 for r in results)}
