"""Where the served model comes from, and the slot that holds it (swapped atomically on a new registry version).

A source is a bundle folder (fixed) or a registry URI (`models:/name@alias`, followed: a new version is loaded and
warmed in the background, then swapped in; requests already running finish on the model they started with; a failed
load keeps the old model serving and logs why).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domainfit.errors import BundleError

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

    def describe(self) -> dict:
        meta = self.predictor.bundle.meta
        metrics = self.predictor.bundle.read_json("metrics.json") or {}
        model_metrics = {k: v for k, v in (metrics.get("model") or {}).items() if isinstance(v, (int, float))}
        return {"name": self.name, "version": self.version, "task": self.task, "labels": self.labels,
                "method": meta.get("method"), "variant": self.predictor.variant, "source": self.source,
                "metrics": model_metrics, "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at))}


def _load(path: Path, *, name: str, version: str, source: str, variant: str, threads: int | None) -> LoadedModel:
    from domainfit.predict import Predictor

    predictor = Predictor.from_bundle(path, variant=variant, threads=threads)
    predictor.predict(_WARM_TEXTS)  # first calls pay one-off costs; pay them before traffic arrives
    predictor.calibrate()  # a batch of mixed-length requests then runs as batches of similar length
    return LoadedModel(predictor, name=name, version=version, source=source)


class BundleSource:
    """A bundle folder: loaded once, never changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / "domainfit.json").is_file():
            raise BundleError(f"{self.path} is not a domainfit bundle (no domainfit.json)", where=str(self.path),
                              hint="pass the folder `domainfit train` wrote, or a registry URI such as models:/name@champion")
        self.name = self.path.resolve().name
        self.follows = False

    def current_version(self) -> str:
        import json

        meta = json.loads((self.path / "domainfit.json").read_text())
        return str(meta.get("created") or "1")

    def path_for(self, version: str) -> Path:
        return self.path

    def load(self, version: str, *, variant: str, threads: int | None) -> LoadedModel:
        # the source shown by GET /v1/models: the bundle's name, never its path on the server's disk
        return _load(self.path, name=self.name, version=version, source=f"bundle:{self.name}", variant=variant,
                     threads=threads)


class RegistrySource:
    """`models:/name@alias` (followed), `models:/name/3` or `models:/name/latest` on an MLflow registry."""

    def __init__(self, uri: str, registry_uri: str | None = None) -> None:
        from domainfit.model_registry import ModelRegistry

        self.uri = uri
        self.registry = ModelRegistry(registry_uri)
        self.name, _ = self.registry.version_of(uri)  # fails early, with a clear error, on a bad URI or name
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
    """Holds the model being served. Readers take `slot.current` once per batch; `swap` replaces it atomically."""

    def __init__(self, source: BundleSource | RegistrySource, *, variant: str = "auto", threads: int | None = None) -> None:
        self.source = source
        self.variant = variant
        self.threads = threads
        self.current: LoadedModel | None = None
        self.last_error: str | None = None
        self.swaps = 0
        self._lock = threading.Lock()  # one load at a time

    def load_initial(self) -> LoadedModel:
        version = self.source.current_version()
        self.current = self.source.load(version, variant=self.variant, threads=self.threads)
        log.info("model loaded", extra={"fields": {"model": self.current.name, "version": version,
                                                      "variant": self.current.predictor.variant}})
        return self.current

    def refresh(self) -> bool:
        """Load the source's current version if it differs from the one served; True when swapped. Never raises:
        a failed check or load keeps the old model and is logged (and shown in /readyz as last_error)."""
        if not self.source.follows or not self._lock.acquire(blocking=False):
            return False
        try:
            version = self.source.current_version()
            if self.current is not None and version == self.current.version:
                return False
            log.info("new model version found; loading", extra={"fields": {"model": self.source.name, "version": version}})
            new = self.source.load(version, variant=self.variant, threads=self.threads)
            old, self.current = self.current, new  # the swap: one reference assignment
            self.swaps += 1
            self.last_error = None
            log.info("model swapped", extra={"fields": {"model": new.name, "from_version": old.version if old else None,
                                                           "to_version": version}})
            return True
        except Exception as exc:  # noqa: BLE001 - keep serving the old model whatever went wrong
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.error("model reload failed; the previous version keeps serving",
                      extra={"fields": {"model": self.source.name, "error": self.last_error}})
            return False
        finally:
            self._lock.release()
