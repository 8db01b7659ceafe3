"""Model versions on MLflow's Model Registry: push a bundle, list versions, promote and roll back an alias, resolve URIs.

MLflow does the registry (runs, artifacts, registered models, versions, aliases) through `MlflowClient`; this module
only decides what a domainfit bundle puts there, keeps each alias's history (MLflow keeps none, so rollback needs it),
and keeps a local download cache:

    models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest
        → $DOMAINFIT_CACHE/registry/NAME/VERSION/   (the bundle folder, marked complete once fully downloaded)

The registry URI is the argument, else $DOMAINFIT_REGISTRY, else a SQLite file in ./domainfit-registry/. The global
MLflow tracking URI is never touched; `mlflow.artifacts.download_artifacts("models:/...")` is not used because it
reads the registry from the global URI, not from `tracking_uri=`.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from domainfit.bundle import load_bundle
from domainfit.errors import RegistryError
from domainfit.i18n import _
from domainfit.tracking import (
    BUNDLE_ARTIFACT,
    METRIC_PREFIX,
    bundle_metrics,
    default_registry_uri,
    experiment_id,
    log_bundle_run,
    log_training_run,
    mlflow,
    mlflow_errors,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel


__all__ = ["EXPERIMENT", "URI_FORMS", "ModelRegistry", "default_registry_uri", "log_training_run", "parse_model_uri"]

EXPERIMENT = "domainfit-registry"
URI_FORMS = "models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME/latest"
HISTORY_TAG = "domainfit.history."  # + alias: JSON list of the versions the alias pointed to before, oldest first
MARKER = ".domainfit-registry.json"  # written last into a cached download: its presence means "complete"
_HISTORY_KEEP = 50
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_URI = re.compile(rf"models:/(?P<name>{_NAME})(?:@(?P<alias>[\w-]+)|/(?P<version>\d+|latest))")


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """models:/NAME@ALIAS → (NAME, ALIAS, None); models:/NAME/3 → (NAME, None, "3"); models:/NAME/latest → (.., "latest")."""
    match = _URI.fullmatch(uri.strip())
    if not match:
        raise RegistryError(_("cannot read the model URI {uri}").format(uri=repr(uri)),
                            hint=_("write it as {forms} (NAME: letters, digits, . _ -)").format(forms=URI_FORMS))
    return match["name"], match["alias"], match["version"]


def _local_root(uri: str) -> Path | None:
    """The folder of a local store (beside a SQLite file, or a file store's root); None for a server."""
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path).resolve().parent
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path)).resolve()
    return Path(uri).resolve() if not parsed.scheme else None


def _cache_root() -> Path:
    root = os.environ.get("DOMAINFIT_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "domainfit")
    return Path(root) / "registry"


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds") if ms else None


class ModelRegistry:
    """Bundles as versions of named models on an MLflow registry, with aliases (champion, ...) that can be rolled back."""

    def __init__(self, uri: str | None = None) -> None:
        self.uri = uri or default_registry_uri()
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            root = _local_root(self.uri)
            if root is not None and self.uri.startswith("sqlite:"):
                root.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
            self._client = mlflow().MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    # -- writing -------------------------------------------------------------------------------------------------

    def push(self, bundle_path: str | Path, name: str, *, description: str | None = None) -> dict[str, Any]:
        """Log the bundle as a run and register it as the next version of `name`: {name, version, run_id, metrics}."""
        if not re.fullmatch(_NAME, name):
            raise RegistryError(_("{name} cannot name a model").format(name=repr(name)),
                                hint=_("use letters, digits, '.', '_' and '-', e.g. support-intents"))
        bundle = load_bundle(bundle_path)
        metrics = bundle_metrics(bundle)
        with mlflow_errors(_("pushing {path} as {name}").format(path=bundle.path, name=repr(name)), self.uri):
            root = _local_root(self.uri)
            exp_id = experiment_id(self.client, EXPERIMENT, root / "artifacts" if root else None)
            run_id = log_bundle_run(self.client, exp_id, bundle, metrics, run_name=f"push {name}", artifacts=True)
            if not self._find_model(name):
                self.client.create_registered_model(name)
            tags = {"task": bundle.task, "method": bundle.meta.method, **{k: repr(v) for k, v in metrics.items()}}
            mv = self.client.create_model_version(name, f"runs:/{run_id}/{BUNDLE_ARTIFACT}", run_id=run_id, tags=tags,
                                                  description=description)
        return {"name": name, "version": int(mv.version), "run_id": run_id, "metrics": metrics}

    def promote(self, name: str, version: int | str, alias: str = "champion") -> dict[str, Any]:
        """Point `alias` at `version`, remembering where it pointed before: {name, alias, version, previous}."""
        model = self._model(name)
        number = self._check_version(name, version)
        before = model.aliases.get(alias)
        with mlflow_errors(_("setting alias {alias} of {name}").format(alias=repr(alias), name=repr(name)), self.uri):
            self.client.set_registered_model_alias(name, alias, str(number))
            if before is not None and int(before) != number:
                self._write_history(name, alias, [*self._history(model, alias), int(before)])
        return {"name": name, "alias": alias, "version": number, "previous": int(before) if before is not None else None}

    def rollback(self, name: str, alias: str = "champion") -> dict[str, Any]:
        """Point `alias` back at the version it pointed to before the last promotion: {alias, from, to}."""
        model = self._model(name)
        history = self._history(model, alias)
        current = model.aliases.get(alias)
        if not history:
            state = (_("it points to version {version}").format(version=current) if current is not None else
                     _("it is not set"))
            raise RegistryError(
                _("alias {alias} of model {name} has no earlier version to roll back to ({state})").format(
                    alias=repr(alias), name=repr(name), state=state), where=self.uri,
                hint=_("promote a version instead: domainfit registry promote {name} VERSION --alias {alias}").format(
                    name=name, alias=alias))
        previous = history.pop()
        with mlflow_errors(_("rolling back alias {alias} of {name} to version {version}").format(
                alias=repr(alias), name=repr(name), version=previous), self.uri):
            self.client.set_registered_model_alias(name, alias, str(previous))
            self._write_history(name, alias, history)
        return {"alias": alias, "from": int(current) if current is not None else None, "to": previous}

    # -- reading -------------------------------------------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        """Every registered model: {name, latest_version, aliases {alias: version}}, by name."""
        out = []
        with mlflow_errors(_("listing models"), self.uri):
            for model in self._paged(self.client.search_registered_models):
                latest = max((int(v.version) for v in model.latest_versions or []), default=None)
                out.append({"name": model.name, "latest_version": latest,
                            "aliases": {a: int(v) for a, v in sorted(model.aliases.items())}})
        return sorted(out, key=lambda m: m["name"])

    def versions(self, name: str) -> list[dict[str, Any]]:
        """The versions of `name`: {version, aliases, created (ISO), task, method, metrics, run_id}, by version."""
        model = self._model(name)
        aliases: dict[int, list[str]] = {}
        for alias, v in sorted(model.aliases.items()):
            aliases.setdefault(int(v), []).append(alias)
        rows = []
        for mv in self._all_versions(name):
            number = int(mv.version)
            rows.append({"version": number, "aliases": aliases.get(number, []), "created": _iso(mv.creation_timestamp),
                         "task": mv.tags.get("task"), "method": mv.tags.get("method"), "metrics": _tag_metrics(mv.tags),
                         "run_id": mv.run_id, "description": mv.description or None})
        return sorted(rows, key=lambda r: r["version"])

    def version_of(self, uri: str) -> tuple[str, int]:
        """(name, version) that a models:/ URI points to now, without downloading (cheap enough to poll)."""
        name, alias, version = parse_model_uri(uri)
        if alias is not None:
            model = self._model(name)
            if alias not in model.aliases:
                known = ", ".join(f"{a} → {v}" for a, v in sorted(model.aliases.items())) or _("none")
                raise RegistryError(_("model {name} has no alias {alias} (its aliases: {known})").format(
                    name=repr(name), alias=repr(alias), known=known), where=self.uri,
                    hint=_("set it: domainfit registry promote {name} VERSION --alias {alias}").format(
                        name=name, alias=alias))
            return name, int(model.aliases[alias])
        if version == "latest":
            self._model(name)
            numbers = [int(mv.version) for mv in self._all_versions(name)]
            if not numbers:
                raise RegistryError(_("model {name} has no versions yet").format(name=repr(name)), where=self.uri,
                                    hint=_("push one: domainfit registry push BUNDLE --name {name}").format(name=name))
            return name, max(numbers)
        self._model(name)
        return name, self._check_version(name, version)

    def resolve(self, uri: str) -> Path:
        """The local bundle folder of a models:/ URI, downloaded once into $DOMAINFIT_CACHE/registry/NAME/VERSION/."""
        name, number = self.version_of(uri)
        with mlflow_errors(_("reading {name} version {version}").format(name=repr(name), version=number), self.uri):
            mv = self.client.get_model_version(name, str(number))
        target = _cache_root() / name / str(number)
        if _complete(target, mv):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{number}-", dir=target.parent))  # same disk: the rename is atomic
        try:
            folder = self._download(mv, scratch)

            load_bundle(folder)  # a version registered by something else than domainfit fails here, clearly
            marker = {"name": name, "version": number, "run_id": mv.run_id, "source": mv.source, "registry": self.uri,
                      "downloaded": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            (folder / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
            if _complete(target, mv):  # another process (a second server worker) finished first: keep its copy,
                return target           # which it may be loading from now
            if target.exists():
                shutil.rmtree(target)  # an incomplete or stale copy
            try:
                folder.rename(target)
            except OSError:
                if not _complete(target, mv):  # another process finished first: use its copy
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return target

    # -- helpers -------------------------------------------------------------------------------------------------

    def _download(self, mv: ModelVersion, dst: Path) -> Path:
        with mlflow_errors(_("downloading {name} version {version}").format(name=repr(mv.name), version=mv.version),
                           self.uri):
            if mv.source.startswith("runs:/"):
                run_id, _unused, path = mv.source[len("runs:/"):].partition("/")
                return Path(self.client.download_artifacts(run_id, path, str(dst)))
            return Path(mlflow().artifacts.download_artifacts(artifact_uri=mv.source, dst_path=str(dst)))

    def _find_model(self, name: str) -> RegisteredModel | None:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(name)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def _model(self, name: str) -> RegisteredModel:
        with mlflow_errors(_("reading model {name}").format(name=repr(name)), self.uri):
            model = self._find_model(name)
            if model is not None:
                return model
            names = [m.name for m in self._paged(self.client.search_registered_models)]
        close = difflib.get_close_matches(name, names, n=1)
        guess = _(" Did you mean {name}?").format(name=repr(close[0])) if close else ""
        listed = (_("models here: {names}").format(names=", ".join(sorted(names))) if names else
                  _("this registry has no models yet"))
        raise RegistryError(_("no model named {name} in the registry.{guess}").format(name=repr(name), guess=guess),
                            where=self.uri,
                            hint=_("{listed}; push one with: domainfit registry push BUNDLE --name NAME").format(
                                listed=listed))

    def _all_versions(self, name: str) -> list[ModelVersion]:
        if "'" in name:  # cannot be quoted in a search filter; domainfit names never hold one
            return []
        with mlflow_errors(_("listing versions of {name}").format(name=repr(name)), self.uri):
            return list(self._paged(self.client.search_model_versions, filter_string=f"name='{name}'"))

    def _check_version(self, name: str, version: int | str) -> int:
        numbers = sorted(int(mv.version) for mv in self._all_versions(name))
        text = str(version).strip()
        if not text.isdigit() or int(text) not in numbers:
            known = ", ".join(map(str, numbers)) or _("none yet")
            raise RegistryError(_("model {name} has no version {version} (its versions: {known})").format(
                name=repr(name), version=repr(version), known=known), where=self.uri,
                hint=_("`domainfit registry list {name}` shows them").format(name=name))
        return int(text)

    def _history(self, model: RegisteredModel, alias: str) -> list[int]:
        raw = (model.tags or {}).get(HISTORY_TAG + alias)
        return [int(v) for v in json.loads(raw)] if raw else []

    def _write_history(self, name: str, alias: str, history: list[int]) -> None:
        self.client.set_registered_model_tag(name, HISTORY_TAG + alias, json.dumps(history[-_HISTORY_KEEP:]))

    @staticmethod
    def _paged(search, **kwargs) -> Iterator:
        token = None
        while True:
            page = search(page_token=token, **kwargs)
            yield from page
            token = page.token
            if not token:
                return


def _tag_metrics(tags: dict[str, str]) -> dict[str, float]:
    out = {}
    for key, value in tags.items():
        if key.startswith(METRIC_PREFIX):
            try:
                out[key] = float(value)
            except ValueError:
                continue
    return out


def _complete(folder: Path, mv: ModelVersion) -> bool:
    """A cached copy is usable when its marker is there and names the same source (a recreated registry reuses numbers)."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("run_id") == mv.run_id and marker.get("source") == mv.source
