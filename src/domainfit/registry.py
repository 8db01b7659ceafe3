"""Named registries of components (tasks, methods, baselines, ...), with "did you mean" on a typo.

A new component is one file that registers itself:

    from domainfit.registry import methods

    @methods.register("head")
    class HeadMethod: ...

Config validation, `domainfit ls` and the contract tests read the registries, so nothing else changes.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from domainfit.errors import RegistryError

__all__ = ["Registry", "baselines", "methods", "tasks"]

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to components; `populate` imports the package whose modules register themselves."""

    def __init__(self, kind: str, package: str | None = None, listing: str | None = None) -> None:
        self.kind = kind
        self.listing = listing or f"{kind}s"  # `domainfit ls <listing>`
        self._package = package
        self._items: dict[str, T] = {}
        self._populated = package is None

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def _populate(self) -> None:
        if not self._populated:
            self._populated = True
            importlib.import_module(self._package)  # type: ignore[arg-type]

    def get(self, name: str) -> T:
        self._populate()
        try:
            return self._items[name]
        except KeyError:
            raise RegistryError(self.unknown_message(name), hint=f"`domainfit ls {self.listing}` lists them") from None

    def unknown_message(self, name: str) -> str:
        self._populate()
        close = difflib.get_close_matches(name, self._items, n=1)
        guess = f" Did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.kind} {name!r}.{guess} Known: {', '.join(sorted(self._items))}"

    def names(self) -> list[str]:
        self._populate()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._populate()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        self._populate()
        return sorted(self._items.items())


tasks: Registry = Registry("task", "domainfit.tasks")
methods: Registry = Registry("method", "domainfit.methods")
baselines: Registry = Registry("baseline", "domainfit.evaluation.baselines")
