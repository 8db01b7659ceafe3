"""Where the served model comes from, and the slot that holds it (swapped atomically on a new registry version).

A source is a bundle folder (fixed) or a registry URI (`models:/name@alias`, followed: a new version is checked,
loaded and warmed in the background, then swapped in; requests already running finish on the model they started
with). A new version is refused, and the old model keeps serving, when its bundle fails `load_bundle` (format
version, manifest), when it cannot be loaded, or when its task or labels differ from the served ones (`contract.py`:
the response schema was built from those); each refusal is logged, reported to `on_refused(reason)` and shown as
`last_error`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domainfit.bundle import META_FILE, load_bundle, read_meta
from domainfit.errors import BundleError
from domainfit.i18n import _
from domainfit.model_registry import ModelRegistry
from domainfit.predict import Predictor
from domainfit.serving.contract import Contract, Refusal, breach, failed_check, failed_load

__all__ = ["BundleSource", "LoadedModel", "ModelSlot", "RegistrySource", "open_source"]

log = logging.getLogger("domainfit.serve")

_WARM_TEXTS = ["warm-up request", "a second, somewhat longer warm-up request for the model"]


@dataclass
class LoadedModel:
    """A predictor ready to serve, with what `/v1/models` says of it."""

    predictor: Any
    name: str
    version: str
    source: str
    loaded_at: float = field(default_factory=time.time)

    @property
    def task(self) -> str:
        return self.predictor.bundle.task

    @property
    def labels(self) -> list[str]:
        return self.predictor.labels

    @property
    def contract(self) -> Contract:
        return Contract.of(self.predictor.bundle)

    def describe(self) -> dict:
        meta = self.predictor.bundle.meta
        metrics = self.predictor.bundle.read_json("metrics.json") or {}
        model_metrics = {k: v for k, v in (metrics.get("model") or {}).items() if isinstance(v, (int, float))}
        return {"name": self.name, "version": self.version, "task": self.task, "labels": self.labels,
                "method": meta.method, "variant": self.predictor.variant, "source": self.source,
                "metrics": model_metrics, "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at))}


def _load(path: Path, *, name: str, version: str, source: str, variant: str, threads: int | None) -> LoadedModel:
    predictor = Predictor.from_bundle(path, variant=variant, threads=threads)
    predictor.predict(_WARM_TEXTS)  # first calls pay one-off costs; pay them before traffic arrives
    predictor.calibrate()  # a batch of mixed-length requests then runs as batches of similar length
    return LoadedModel(predictor, name=name, version=version, source=source)


class BundleSource:
    """A bundle folder: loaded once, never changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / META_FILE).is_file():
            raise BundleError(_("{path} is not a domainfit bundle (no domainfit.json)").format(path=self.path),
                              where=str(self.path),
                              hint=_("pass the folder `domainfit train` wrote, or a registry URI such as "
                                     "models:/name@champion"))
        self.name = self.path.resolve().name
        self.follows = False

    def current_version(self) -> str:
        return str(read_meta(self.path).created or "1")  # polled: the metadata only; a swap loads and verifies all

    def path_for(self, version: str) -> Path:
        return self.path

    def load(self, version: str, *, variant: str, threads: int | None) -> LoadedModel:
        # the source shown by GET /v1/models: the bundle's name, never its path on the server's disk
        return _load(self.path, name=self.name, version=version, source=f"bundle:{self.name}", variant=variant,
                     threads=threads)


class RegistrySource:
    """`models:/name@alias` (followed), `models:/name/3` or `models:/name/latest` on an MLflow registry."""

    def __init__(self, uri: str, registry_uri: str | None = None) -> None:
        self.uri = uri
        self.registry = ModelRegistry(registry_uri)
        self.name, _version = self.registry.version_of(uri)  # fails early, with a clear error, on a bad URI or name
        self.follows = "@" in uri or uri.rstrip("/").endswith("/latest")

    def current_version(self) -> str:
        return str(self.registry.version_of(self.uri)[1])

    def path_for(self, version: str) -> Path:
        return self.registry.resolve(f"models:/{self.name}/{version}")

    def load(self, version: str, *, variant: str, threads: int | None) -> LoadedModel:
        return _load(self.path_for(version), name=self.name, version=version, source=self.uri, variant=variant, threads=threads)


def open_source(spec: str | Path, registry_uri: str | None = None) -> BundleSource | RegistrySource:
    return RegistrySource(str(spec), registry_uri) if str(spec).startswith("models:/") else BundleSource(spec)


class ModelSlot:
    """Holds the model being served. Readers take `slot.current` once per batch; `refresh` replaces it atomically with
    the source's new version when that keeps `contract` (the task and labels the response schema was built from)."""

    def __init__(self, source: BundleSource | RegistrySource, *, contract: Contract | None = None, variant: str = "auto",
                 threads: int | None = None, on_refused: Callable[[str], None] | None = None) -> None:
        self.source = source
        self.contract = contract  # None: the initial model's
        self.variant = variant
        self.threads = threads
        self.on_refused = on_refused
        self.current: LoadedModel | None = None
        self.last_error: str | None = None  # why the version the source points at is not the one served (None: it is)
        self.swaps = 0
        self._refused: str | None = None  # a version refused for its task or labels: not loaded again
        self._tried: str | None = None  # the version last tried and refused (a retry is logged at debug level)
        self._lock = threading.Lock()  # one load at a time

    def load_initial(self, version: str | None = None) -> LoadedModel:
        """Load `version` (default: the source's current one): the version the response schema was built from."""
        version = version if version is not None else self.source.current_version()
        loaded = self.source.load(version, variant=self.variant, threads=self.threads)
        if self.contract is None:
            self.contract = loaded.contract
        elif loaded.contract != self.contract:  # the bundle changed on disk between create_app and startup
            raise BundleError(_("the bundle of version {version} changed while the server started: its task or "
                                "labels are no longer those the response schema was built from").format(
                                    version=version),
                              where=self.source.name, hint=_("start the server again once the bundle is complete"))
        self.current = loaded
        log.info("model loaded", extra={"fields": {"model": loaded.name, "version": version,
                                                      "variant": loaded.predictor.variant}})
        return loaded

    def refresh(self) -> bool:
        """Load the source's current version if it differs from the one served; True when swapped. Never raises:
        a failed check, a failed load or a version with another task or labels keeps the old model serving, and is
        logged, counted (`on_refused`) and shown in /readyz (`last_error`)."""
        if not self.source.follows or self.current is None or not self._lock.acquire(blocking=False):
            return False
        try:
            return self._refresh(self.current)
        finally:
            self._lock.release()

    def _refresh(self, served: LoadedModel) -> bool:
        try:
            version = self.source.current_version()
        except Exception as exc:  # noqa: BLE001 - the registry may be away for a while; keep serving
            message = (f"checking {self.source.name} for a new version failed ({type(exc).__name__}); version "
                       f"{served.version} keeps serving; the server log has the details")
            log.log(logging.DEBUG if message == self.last_error else logging.ERROR,
                    "checking for a new model version failed; the served version keeps serving",
                    extra={"fields": {"model": self.source.name, "served_version": served.version,
                                      "error": f"{type(exc).__name__}: {exc}"}})
            self.last_error = message
            return False
        if version == served.version:
            self.last_error = self._refused = self._tried = None
            return False
        if version == self._refused:
            return False
        log.log(logging.DEBUG if version == self._tried else logging.INFO, "new model version found; loading",
                extra={"fields": {"model": self.source.name, "version": version}})
        new, refusal = self._check_and_load(version, served)
        if refusal is not None:
            self._refuse(version, served, refusal)
            return False
        self.current = new  # the swap: one reference assignment
        self.swaps += 1
        self.last_error = self._refused = self._tried = None
        log.info("model swapped", extra={"fields": {"model": new.name, "from_version": served.version,
                                                       "to_version": version}})
        return True

    def _check_and_load(self, version: str, served: LoadedModel) -> tuple[LoadedModel | None, Refusal | None]:
        """The bundle is checked (`load_bundle`: format version, manifest) and its task and labels compared before its
        weights are loaded; the loaded model is compared again (it is what would be served)."""
        path = None
        try:
            path = Path(self.source.path_for(version))
            bundle = load_bundle(path)
        except BundleError as exc:
            return None, failed_check(version, served.version, exc, path)
        except Exception as exc:  # noqa: BLE001 - a download that failed, a source that broke
            return None, failed_load(version, served.version, exc)
        refusal = breach(self.contract, served.version, Contract.of(bundle), version)
        if refusal is not None:
            return None, refusal
        try:
            new = self.source.load(version, variant=self.variant, threads=self.threads)
        except Exception as exc:  # noqa: BLE001 - keep serving the old model whatever went wrong
            return None, failed_load(version, served.version, exc)
        refusal = breach(self.contract, served.version, new.contract, version)
        return (None, refusal) if refusal is not None else (new, None)

    def _refuse(self, version: str, served: LoadedModel, refusal: Refusal) -> None:
        again = version == self._tried and self.last_error == refusal.message  # logged once, counted every time
        self.last_error, self._tried = refusal.message, version
        if refusal.final:
            self._refused = version
        log.log(logging.DEBUG if again else logging.ERROR, "model reload refused; the served version keeps serving",
                extra={"fields": {"model": self.source.name, "version": version, "served_version": served.version,
                                  "reason": refusal.reason, "why": refusal.message, **refusal.fields}})
        if self.on_refused is not None:
            self.on_refused(refusal.reason)
