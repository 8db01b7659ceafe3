"""`domainfit registry ...`: a thin typer shell over `domainfit.model_registry.ModelRegistry` (MLflow underneath)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from domainfit.i18n import _

__all__ = ["registry_app"]

registry_app = typer.Typer(help="Model versions on an MLflow registry: push, list, promote, rollback.", no_args_is_help=True)

Opt = typer.Option
RegistryUri = Annotated[
    Optional[str],
    Opt("--registry", help="MLflow tracking/registry URI (default: $DOMAINFIT_REGISTRY, else ./domainfit-registry/registry.db)"),
]
AliasOpt = Annotated[str, Opt("--alias", help="alias to move (a server can follow models:/NAME@ALIAS)")]


def _registry(uri: str | None):
    from domainfit.model_registry import ModelRegistry

    return ModelRegistry(uri)


def _metric(row: dict, key: str) -> str:
    value = row.get("metrics", {}).get(f"test_{key}")
    return "—" if value is None else f"{value:.4f}"


@registry_app.command("push")
def push(
    bundle: Annotated[Path, typer.Argument(help="bundle folder written by `domainfit train`")],
    name: Annotated[str, Opt("--name", help="registered model name (letters, digits, . _ -)")],
    description: Annotated[Optional[str], Opt("--description", help="a note stored on the version")] = None,
    registry: RegistryUri = None,
) -> None:
    """Log a bundle as an MLflow run and register it as the next version of NAME."""
    from domainfit.cli.ui import console

    result = _registry(registry).push(bundle, name, description=description)
    shown = "  ".join(f"{k.removeprefix('test_')} {v:.4f}" for k, v in result["metrics"].items()
                      if k in ("test_accuracy", "test_macro_f1"))
    console.print(_("pushed {bundle} → [bold]{uri}[/]").format(bundle=bundle, uri=f"models:/{name}/{result['version']}") + f"  {shown}")
    console.print("[dim]" + _("MLflow run {run}").format(run=result["run_id"]) + "[/dim]")
    console.print(_("next: {command}").format(command=f"domainfit registry promote {name} {result['version']}"))


@registry_app.command("list")
def list_cmd(
    name: Annotated[Optional[str], typer.Argument(help="a model's versions (default: every model)")] = None,
    registry: RegistryUri = None,
) -> None:
    """Versions with their aliases and test metrics."""
    from rich.table import Table

    from domainfit.cli.ui import console

    reg = _registry(registry)
    names = [name] if name else [m["name"] for m in reg.models()]
    if not names:
        console.print(_("no models in {uri} yet; push one: {command}").format(uri=reg.uri, command="domainfit registry push BUNDLE --name NAME"))
        return
    table = Table(title=_("registry {uri}").format(uri=reg.uri), title_justify="left")
    for col, heading in (("name", _("name")), ("version", _("version")), ("aliases", _("aliases")),
                         ("accuracy", _("accuracy")), ("macro_f1", "macro_f1"), ("created", _("created"))):
        table.add_column(heading, justify="right" if col in ("version", "accuracy", "macro_f1") else "left")
    for model in names:
        for row in reg.versions(model):
            table.add_row(model, str(row["version"]), ", ".join(row["aliases"]) or "—", _metric(row, "accuracy"),
                          _metric(row, "macro_f1"), (row["created"] or "—")[:16].replace("T", " "),
                          style="bold green" if row["aliases"] else None)
    console.print(table)


@registry_app.command("promote")
def promote(
    name: Annotated[str, typer.Argument(help="registered model name")],
    version: Annotated[int, typer.Argument(help="version to point the alias at")],
    alias: AliasOpt = "champion",
    registry: RegistryUri = None,
) -> None:
    """Point an alias (default champion) at a version; the version it left is remembered for rollback."""
    from domainfit.cli.ui import console

    result = _registry(registry).promote(name, version, alias=alias)
    before = " " + _("(was {version})").format(version=result["previous"]) if result["previous"] is not None else ""
    console.print(_("{uri} → version [bold]{version}[/]").format(uri=f"models:/{name}@{alias}", version=version) + before)


@registry_app.command("rollback")
def rollback(
    name: Annotated[str, typer.Argument(help="registered model name")],
    alias: AliasOpt = "champion",
    registry: RegistryUri = None,
) -> None:
    """Point an alias back at the version it pointed to before its last promotion."""
    from domainfit.cli.ui import console

    result = _registry(registry).rollback(name, alias=alias)
    console.print(_("{uri}: version {old} → [bold]{new}[/]").format(uri=f"models:/{name}@{alias}", old=result["from"], new=result["to"]))
