"""The App protocol: what every application (support assistant, news monitor, ...) gives the CLI, the server and the
studio: a typed config checked before any work, a run over that config, and the routes it mounts in a server."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["App"]


class App(Protocol):
    name: str
    description: str
    Config: type  # a pydantic model (extra="forbid"): the application's YAML, validated first, every problem at once

    def run(self, config: Any, *, reporter: Any) -> Any:
        """Run the application over its config (ingest → decide → act), reporting progress."""
        ...

    def routes(self, config: Any) -> Any:
        """A FastAPI APIRouter of its pages and endpoints, mounted by `domainfit serve` or the studio."""
        ...
