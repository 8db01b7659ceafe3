"""`domainfit predict BUNDLE --input big.parquet --output scored/ --engine ray`: a thin shell over
`domainfit.scoring.score_parquet`."""

from __future__ import annotations

from pathlib import Path

from domainfit.errors import DomainfitError
from domainfit.i18n import _

__all__ = ["score_with_ray"]


def score_with_ray(bundle: Path, source: Path | None, output: Path | None, *, column: str | None, address: str | None,
                   workers: int, id_column: str) -> None:
    from domainfit.cli.ui import console
    from domainfit.scoring import score_parquet

    if source is None or output is None:
        raise DomainfitError(_("--engine ray scores a file into a folder"), where="domainfit predict",
                             hint=_("pass --input big.parquet --output scored/"))
    done = score_parquet(bundle, source, output, id_column=id_column, text_column=column, address=address, workers=workers)
    console.print(_("{scored} blocks scored, {skipped} already done, {failed} failed; {rows} rows in {seconds} s "
                    "({rate} rows/s) → [bold]{output}[/]").format(
        scored=done["scored"], skipped=done["skipped"], failed=len(done["failed"]), rows=done["rows"], seconds=done["seconds"],
        rate=done["rows_per_s"] or 0, output=done["output"]))
    for fail in done["failed"]:
        console.print(_("[red]block {block}[/] failed after {attempts} attempts: {error}").format(
            block=fail["block"], attempts=fail["attempts"], error=fail["error"]))
    if done["failed"]:
        raise DomainfitError(_("{n} block(s) failed").format(n=len(done["failed"])), where="--engine ray",
                             hint=_("fix the cause and run the same command again: finished blocks are skipped"))
