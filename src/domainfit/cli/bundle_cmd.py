"""`domainfit bundle verify|seal`: check a bundle's files against its manifest, or seal a bundle you trust."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from domainfit.i18n import _

__all__ = ["bundle_app"]

bundle_app = typer.Typer(help="Check a bundle's files against its manifest (sha256 of every file).", no_args_is_help=True)


@bundle_app.command("verify")
def verify(path: Annotated[Path, typer.Argument(help="bundle folder")]) -> None:
    """Exit 0 when every file matches the manifest and no pickle-format file is present; else list the problems, exit 3."""
    from domainfit.bundle import verify_bundle
    from domainfit.cli.ui import console

    problems = verify_bundle(path)
    for p in problems:
        console.print(f"[red]✗[/] {p}")
    if problems:
        raise typer.Exit(3)
    console.print("[green]✓[/] " + _("{path}: every file matches its manifest").format(path=path))


@bundle_app.command("seal")
def seal(path: Annotated[Path, typer.Argument(help="bundle folder")]) -> None:
    """Write the manifest of a bundle as it is now: only for a bundle you trust (e.g. one written before manifests)."""
    from domainfit.bundle import PICKLE_SUFFIXES, is_bundle, seal_bundle
    from domainfit.cli.ui import console
    from domainfit.errors import BundleError

    if not is_bundle(path):
        raise BundleError(_("{path} is not a domainfit bundle (no domainfit.json)").format(path=path), where=str(path),
                          hint=_("pass the -o folder of `domainfit train`"))
    pickled = [f for f in path.rglob("*") if f.suffix.lower() in PICKLE_SUFFIXES]
    if pickled:
        raise BundleError(_("{path} holds pickle-format files ({files}), which could run code when loaded").format(
                              path=path, files=", ".join(str(f.relative_to(path)) for f in pickled[:3])), where=str(path),
                          hint=_("delete them (a torch-int8 variant is rebuilt with `domainfit compress`), then seal"))
    manifest = seal_bundle(path)
    console.print(_("sealed {path}: {n} files").format(path=path, n=len(manifest["files"])))
