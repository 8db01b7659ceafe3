"""`domainfit watch run | replay | dashboard`: the news and opinion monitor (a thin shell over domainfit.api)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from domainfit.i18n import _

__all__ = ["watch_app"]

watch_app = typer.Typer(help="Financial news and opinion monitor: sentiment per company and topic, surge alerts, dashboard.",
                        no_args_is_help=True)


@watch_app.command("run")
def run(config: Annotated[Path, typer.Argument(help="watch.yaml")]) -> None:
    """Ingest → classify → store → detect → alert, continuously (HTTP, a watched folder, Redis Streams); the
    dashboard at /watch/ of the same server."""
    from domainfit import api
    from domainfit.cli.ui import RichReporter

    api.watch_run(config, reporter=RichReporter())


@watch_app.command("replay")
def replay(config: Annotated[Path, typer.Argument(help="watch.yaml")],
           stream: Annotated[Path, typer.Argument(help="file of texts: time, text, source?, id?, url?")],
           out: Annotated[Path, typer.Option("-o", "--out", help="folder for alerts.jsonl, series.parquet, report.html")] = Path("watch-out"),
           send: Annotated[bool, typer.Option(help="also deliver the alerts to the config's sinks")] = False) -> None:
    """The same pipeline over a file of past texts (a backtest)."""
    from domainfit import api
    from domainfit.cli.ui import RichReporter, console

    summary = api.watch_replay(config, stream, out, send=send, reporter=RichReporter())
    console.print(_("{items} items ({copies} copies of earlier stories), {alerts} alerts, {rate} items/s").format(
        items=summary["items"], copies=summary["copies"], alerts=summary["alerts"], rate=summary["items_per_s"]))
    for name in ("alerts_file", "series_file", "report"):
        console.print(f"  {summary[name]}")


@watch_app.command("dashboard")
def dashboard(config: Annotated[Path, typer.Argument(help="watch.yaml (its store is read)")],
              host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="port")] = 8700) -> None:
    """The web page over the config's store (the same page `watch run` serves at /watch/)."""
    from domainfit import api

    api.watch_dashboard(config, host=host, port=port)


@watch_app.command("report")
def report(out: Annotated[Path, typer.Argument(help="the -o folder of `watch replay`")]) -> None:
    """Write the backtest report again, with the false alarms marked on the dashboard since the replay."""
    from domainfit import api
    from domainfit.cli.ui import console

    console.print(str(api.watch_report(out)))
