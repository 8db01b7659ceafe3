"""`domainfit predict BUNDLE --input big.parquet --output scored/ --engine ray`: a thin shell over
`domainfit.scoring.score_parquet`."""

from __future__ import annotations

from pathlib import Path

from domainfit.errors import DomainfitError

__all__ = ["score_with_ray"]


def score_with_ray(bundle: Path, source: Path | None, output: Path | None, *, column: str | None, address: str | None,
                   workers: int, id_column: str) -> None:
    from domainfit.cli.ui import console
    from domainfit.scoring import score_parquet

    if source is None or output is None:
        raise DomainfitError("--engine ray scores a file into a folder", where="domainfit predict",
                             hint="pass --input big.parquet --output scored/")
    done = score_parquet(bundle, source, output, id_column=id_column, text_column=column, address=address, workers=workers)
    console.print(f"{done['scored']} blocks scored, {done['skipped']} already done, {len(done['failed'])} failed; "
                  f"{done['rows']} rows in {done['seconds']} s ({done['rows_per_s'] or 0} rows/s) → [bold]{done['output']}[/]")
    for fail in done["failed"]:
        console.print(f"[red]block {fail['block']}[/] failed after {fail['attempts']} attempts: {fail['error']}")
    if done["failed"]:
        raise DomainfitError(f"{len(done['failed'])} block(s) failed", where="--engine ray",
                             hint="fix the cause and run the same command again: finished blocks are skipped")
