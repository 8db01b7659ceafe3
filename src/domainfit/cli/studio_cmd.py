"""`domainfit studio`: the browser studio (a thin shell over `domainfit.studio.run.run_studio`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from domainfit.i18n import _

__all__ = ["studio"]

Opt = typer.Option


def studio(
    port: Annotated[int, Opt("--port")] = 7860,
    host: Annotated[str, Opt("--host", help="address; anything but loopback (e.g. 0.0.0.0) requires API keys")] = "127.0.0.1",
    workdir: Annotated[Path, Opt("--workdir", help="working folder: data files, bundles, uploads")] = Path("."),
    database: Annotated[str | None, Opt("--database", help="job store (file or SQLAlchemy URL); default <workdir>/.domainfit-studio.db")] = None,
    backbone: Annotated[str | None, Opt("--backbone", help="default backbone (default: bundled MiniLM)")] = None,
    registry: Annotated[str | None, Opt("--registry", help="MLflow registry URI shown on the Models page")] = None,
    api_keys: Annotated[Path | None, Opt("--api-keys", help="YAML of hashed API keys (`domainfit keygen`); or DOMAINFIT_API_KEYS")] = None,
    prediction_log: Annotated[str | None, Opt("--prediction-log", help="prediction log of `domainfit serve` (file or URL) for the Monitor page")] = None,
) -> None:
    """Open the studio in a browser: data check, training, comparison, models, predictions with explanations, monitoring."""
    from domainfit.studio.run import run_studio
    from domainfit.studio.settings import StudioSettings

    typer.echo(_("domainfit studio on {url} (Ctrl-C stops it; running jobs carry on)").format(url=f"http://{host}:{port}/"), err=True)
    run_studio(StudioSettings(host=host, port=port, workdir=workdir, database=database, backbone=backbone, registry=registry,
                              api_keys_file=api_keys, prediction_log=prediction_log))
