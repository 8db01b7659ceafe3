"""MLflow runs of bundles: the client (quiet), the default store, a bundle's params and test metrics as a run, and
MLflow's errors as RegistryErrors. Training's tracking (`tracking.backend: mlflow`) and the model registry
(`model_registry.py`, above the tasks) both log through here.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from domainfit.bundle import load_bundle
from domainfit.errors import RegistryError
from domainfit.i18n import _

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from domainfit.bundle import Bundle

__all__ = ["BUNDLE_ARTIFACT", "METRIC_PREFIX", "bundle_metrics", "default_registry_uri", "experiment_id", "log_bundle_run",
           "log_training_run", "mlflow", "mlflow_errors"]

BUNDLE_ARTIFACT = "bundle"
METRIC_PREFIX = "test_"


def mlflow():
    """Import MLflow with its INFO lines (database migrations) and download progress bars off, unless asked for."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    import mlflow

    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    return mlflow


def default_registry_uri() -> str:
    """$DOMAINFIT_REGISTRY, else a SQLite file in ./domainfit-registry/ (absolute, so later `cd`s find the same one)."""
    return os.environ.get("DOMAINFIT_REGISTRY") or f"sqlite:///{Path.cwd().resolve() / 'domainfit-registry' / 'registry.db'}"


def bundle_metrics(bundle: Bundle) -> dict[str, float]:
    """The top-level numbers of metrics.json's "model" entry, as test_<name> (nested per-label dicts are left out)."""
    model = (bundle.read_json("metrics.json") or {}).get("model")
    if not isinstance(model, dict):
        return {}
    return {f"{METRIC_PREFIX}{k}": float(v) for k, v in model.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def experiment_id(client: MlflowClient, name: str, artifact_root: Path | None) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is None:
        location = artifact_root.as_uri() if artifact_root else None
        return client.create_experiment(name, artifact_location=location)
    if exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)
    return exp.experiment_id


def log_bundle_run(client: MlflowClient, experiment_id: str, bundle: Bundle, metrics: dict[str, float], *,
                    run_name: str, artifacts: bool) -> str:
    """One finished run: the bundle's params and test metrics, and (when `artifacts`) the whole folder under bundle/."""
    from mlflow.entities import Metric, Param

    meta = bundle.meta
    params = {"task": bundle.task, "method": meta.method, "backbone": meta.backbone.name, "num_labels": len(meta.labels)}
    run = client.create_run(experiment_id, run_name=run_name, tags={"domainfit.bundle": str(bundle.path.resolve())})
    run_id = run.info.run_id
    try:
        now = int(time.time() * 1000)
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items() if v is not None],
                         metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
        if artifacts:
            client.log_artifacts(run_id, str(bundle.path), artifact_path=BUNDLE_ARTIFACT)
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    return run_id


def log_training_run(bundle_path: str | Path, tracking_uri: str, experiment: str) -> str:
    """Log a finished bundle's params and test metrics as an MLflow run (no artifacts, no registration); its run id."""
    bundle = load_bundle(bundle_path)
    client = mlflow().MlflowClient(tracking_uri=tracking_uri)
    with mlflow_errors(f"logging {bundle.path} to {experiment!r}", tracking_uri):
        return log_bundle_run(client, experiment_id(client, experiment, None), bundle, bundle_metrics(bundle),
                               run_name=bundle.path.name, artifacts=False)


@contextmanager
def mlflow_errors(action: str, uri: str) -> Iterator[None]:
    """MLflow's own errors (bad alias, server down, ...) as a RegistryError that names the action and the registry."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        raise RegistryError(_("{action} failed: {error}").format(action=action, error=exc.message), where=uri,
                            hint=_("check the registry URI (--registry or $DOMAINFIT_REGISTRY) and the names "
                                   "given")) from exc
