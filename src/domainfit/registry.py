"""Named registries of components (tasks, methods, baselines, ...), with "did you mean" on a typo.

A new component is one file that registers itself:

    from domainfit.registry import methods

    @methods.register("head")
    class HeadMethod: ...

Config validation, `domainfit ls` and the contract tests read the registries, so nothing else changes.

A registry fills itself on first use by importing its providers by name (a task package registers its task and its
own baselines), then every plug-in: a module another package declares under the entry-point group
`domainfit.plugins` (pyproject: `[project.entry-points."domainfit.plugins"] mine = "my_package.domainfit_plugin"`),
the convention pytest and spaCy use. So a third-party package adds a task, method, baseline, variant kind or alert
sink without editing domainfit, and no registry needs a bottom-of-file import list.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from domainfit.errors import RegistryError
from domainfit.i18n import _

__all__ = ["PLUGIN_GROUP", "Registry", "apps", "baselines", "load_plugins", "methods", "pii_kinds", "tasks"]

PLUGIN_GROUP = "domainfit.plugins"
_plugins_loaded = False


def load_plugins() -> None:
    """Import every module declared under the `domainfit.plugins` entry-point group (once)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is named, not a traceback from deep inside
            raise RegistryError(_("the domainfit plug-in {name} ({value}) failed to load: {error}").format(
                name=repr(ep.name), value=ep.value, error=f"{type(exc).__name__}: {exc}"),
                                hint=_("fix or uninstall the package that declares it (`pip show` the distribution "
                                       "{dist})").format(dist=getattr(ep.dist, "name", "?"))) from exc

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to components; `populate` imports the package whose modules register themselves."""

    def __init__(self, kind: str, providers: str | tuple[str, ...] = (), listing: str | None = None) -> None:
        self.kind = kind
        self.listing = listing or f"{kind}s"  # `domainfit ls <listing>`
        self._providers = (providers,) if isinstance(providers, str) else tuple(providers)
        self._items: dict[str, T] = {}
        self._populated = False

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def unregister(self, name: str) -> None:
        """Remove a component (tests that register a toy one clean up with this)."""
        self._items.pop(name, None)

    def _populate(self) -> None:
        if not self._populated:
            self._populated = True
            for module in self._providers:
                importlib.import_module(module)
            load_plugins()

    def get(self, name: str) -> T:
        self._populate()
        try:
            return self._items[name]
        except KeyError:
            raise RegistryError(self.unknown_message(name),
                                hint=_("`domainfit ls {listing}` lists them").format(listing=self.listing)) from None

    def unknown_message(self, name: str) -> str:
        self._populate()
        close = difflib.get_close_matches(name, self._items, n=1)
        guess = _(" Did you mean {name}?").format(name=repr(close[0])) if close else ""
        return _("unknown {kind} {name}.{guess} Known: {known}").format(kind=self.kind, name=repr(name), guess=guess,
                                                                        known=", ".join(sorted(self._items)))

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
# the general baselines, then every task package's own (bm25 and backbone for retrieval, dictionary for ner)
baselines: Registry = Registry("baseline", ("domainfit.evaluation.baselines", "domainfit.tasks"))
# the applications (support assistant, news monitor): packages under domainfit.apps, or plug-ins
apps: Registry = Registry("application", ("domainfit.apps", "domainfit.apps.watch", "domainfit.apps.assistant"), listing="apps")
# the kinds of personal data `data.redact` names (filled by domainfit.data.pii; config validation reads it)
pii_kinds: Registry = Registry("personal-data kind", "domainfit.data.pii", listing="pii")
