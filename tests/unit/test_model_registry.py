"""ModelRegistry and `domainfit registry` against a real SQLite-backed MLflow registry, with hand-written bundles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from domainfit.bundle import seal_bundle
from domainfit.errors import BundleError, RegistryError
from domainfit.model_registry import MARKER, ModelRegistry, parse_model_uri


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory) -> Path:
    """An MLflow database with its tables created once: the migrations take seconds, a copy takes none."""
    folder = tmp_path_factory.mktemp("template")
    ModelRegistry(f"sqlite:///{folder}/registry.db").models()
    return folder / "registry.db"


@pytest.fixture()
def registry(tmp_path, empty_db, monkeypatch) -> ModelRegistry:
    monkeypatch.setenv("DOMAINFIT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "r").mkdir()
    shutil.copy(empty_db, tmp_path / "r" / "registry.db")
    return ModelRegistry(f"sqlite:///{tmp_path}/r/registry.db")


def make_bundle(folder: Path, accuracy: float = 0.9, macro_f1: float = 0.85) -> Path:
    """The files `load_bundle` checks, plus a metrics.json shaped like the one training writes."""
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "config.json").write_text("{}", encoding="utf-8")
    (folder / "model" / "head.safetensors").write_bytes(b"not read by the registry")
    meta = {"format_version": 1, "task": "classification", "labels": ["card", "loan", "transfer"], "method": "head",
            "backbone": {"name": "tiny-bert"}}
    (folder / "domainfit.json").write_text(json.dumps(meta), encoding="utf-8")
    metrics = {"model": {"accuracy": accuracy, "macro_f1": macro_f1, "n": 30, "per_label": {"card": {"f1": 1.0}}},
               "baselines": {"tfidf": {"accuracy": 0.5}}}
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    seal_bundle(folder)  # the manifest every bundle carries
    return folder


@pytest.fixture()
def bundles(tmp_path) -> tuple[Path, Path]:
    return make_bundle(tmp_path / "b1", 0.8, 0.75), make_bundle(tmp_path / "b2", 0.9, 0.85)


@pytest.fixture()
def pushed(registry, bundles) -> ModelRegistry:
    for b in bundles:
        registry.push(b, "intents")
    return registry


def test_push_registers_versions_with_metrics(registry, bundles):
    first = registry.push(bundles[0], "intents", description="first try")
    second = registry.push(bundles[1], "intents")
    assert (first["version"], second["version"]) == (1, 2)
    assert first["metrics"] == {"test_accuracy": 0.8, "test_macro_f1": 0.75, "test_n": 30.0}  # nested dicts left out
    rows = registry.versions("intents")
    assert [r["version"] for r in rows] == [1, 2]
    assert rows[1]["metrics"]["test_accuracy"] == 0.9 and rows[1]["task"] == "classification"
    assert rows[0]["run_id"] == first["run_id"] and rows[0]["description"] == "first try" and rows[0]["created"]
    run = registry.client.get_run(first["run_id"])
    assert run.data.params == {"task": "classification", "method": "head", "backbone": "tiny-bert", "num_labels": "3"}
    assert run.data.metrics["test_macro_f1"] == 0.75
    assert registry.models() == [{"name": "intents", "latest_version": 2, "aliases": {}}]


def test_push_rejects_a_folder_that_is_not_a_bundle(registry, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="missing domainfit.json"):
        registry.push(tmp_path / "empty", "intents")
    with pytest.raises(RegistryError, match="cannot name a model"):
        registry.push(tmp_path / "empty", "my model/x")


def test_promote_and_rollback_keep_the_alias_history(pushed):
    assert pushed.promote("intents", 1)["previous"] is None
    assert pushed.promote("intents", "2")["previous"] == 1
    assert pushed.version_of("models:/intents@champion") == ("intents", 2)
    assert pushed.versions("intents")[1]["aliases"] == ["champion"]
    assert pushed.rollback("intents") == {"alias": "champion", "from": 2, "to": 1}
    assert pushed.version_of("models:/intents@champion") == ("intents", 1)
    with pytest.raises(RegistryError, match="no earlier version to roll back to \\(it points to version 1\\)") as err:
        pushed.rollback("intents")
    assert "domainfit registry promote intents VERSION" in str(err.value)


def test_unknown_model_version_and_alias_name_what_exists(pushed):
    with pytest.raises(RegistryError, match="no model named 'intent'.*Did you mean 'intents'") as err:
        pushed.promote("intent", 1)
    assert "models here: intents" in str(err.value)
    with pytest.raises(RegistryError, match=r"no version 7 \(its versions: 1, 2\)"):
        pushed.promote("intents", 7)
    with pytest.raises(RegistryError, match=r"no alias 'staging' \(its aliases: none\)"):
        pushed.version_of("models:/intents@staging")
    with pytest.raises(RegistryError, match="Version alias name 'v1' is reserved"):
        pushed.promote("intents", 1, alias="v1")  # MLflow's own check, as a RegistryError


@pytest.mark.parametrize("uri", ["models:/x@", "foo", "models:/x/", "models:/x/abc", "models:/x@a/1", "runs:/abc/bundle"])
def test_bad_uris_show_the_accepted_forms(uri):
    with pytest.raises(RegistryError, match="cannot read the model URI") as err:
        parse_model_uri(uri)
    assert "models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME/latest" in str(err.value)


def test_resolve_downloads_once_into_the_cache(pushed, tmp_path):
    pushed.promote("intents", 1)
    folder = pushed.resolve("models:/intents@champion")
    assert folder == tmp_path / "cache" / "registry" / "intents" / "1"
    assert json.loads((folder / "domainfit.json").read_text())["method"] == "head"
    assert (folder / "model" / "head.safetensors").is_file()
    marker = folder / MARKER
    stamp = marker.stat().st_mtime_ns
    assert pushed.resolve("models:/intents/1") == folder and marker.stat().st_mtime_ns == stamp  # not downloaded again
    assert pushed.resolve("models:/intents/2").name == "2"
    assert pushed.version_of("models:/intents/latest") == ("intents", 2)
    assert not list(folder.parent.glob(".*"))  # no scratch folders left behind


def test_resolve_replaces_an_incomplete_copy(pushed, tmp_path):
    stale = tmp_path / "cache" / "registry" / "intents" / "2"
    stale.mkdir(parents=True)
    (stale / "half-written").write_text("x")
    folder = pushed.resolve("models:/intents/2")
    assert (folder / MARKER).is_file() and not (folder / "half-written").exists()


def test_cli_push_list_promote_rollback(registry, bundles):
    from typer.testing import CliRunner

    from domainfit.cli.registry_cmd import registry_app

    runner = CliRunner()
    opt = ["--registry", registry.uri]

    def run(*args: str) -> str:
        result = runner.invoke(registry_app, [*args, *opt], terminal_width=200)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    assert "models:/intents/1" in run("push", str(bundles[0]), "--name", "intents")
    assert "models:/intents/2" in run("push", str(bundles[1]), "--name", "intents")
    assert "models:/intents@champion → version 1" in run("promote", "intents", "1")
    assert "(was 1)" in run("promote", "intents", "2")
    listing = run("list")
    assert "intents" in listing and "champion" in listing and "0.9000" in listing and "0.7500" in listing
    assert "version 2 → 1" in run("rollback", "intents")
    failed = runner.invoke(registry_app, ["rollback", "intents", *opt])
    assert isinstance(failed.exception, RegistryError)  # main() prints it without a traceback


def test_log_training_run_logs_params_and_metrics_without_registering(registry, bundles):
    from domainfit.model_registry import log_training_run

    run_id = log_training_run(bundles[1], registry.uri, "training")
    run = registry.client.get_run(run_id)
    assert run.data.metrics["test_accuracy"] == 0.9 and run.data.params["method"] == "head"
    assert run.info.status == "FINISHED" and registry.models() == []


def test_training_with_mlflow_tracking_logs_the_run(tiny_backbone, tmp_path, empty_db):
    import domainfit
    from domainfit.tracking import mlflow as _mlflow
    from tests.conftest import make_rows, write_csv

    (tmp_path / "r").mkdir()
    shutil.copy(empty_db, tmp_path / "r" / "registry.db")
    uri = f"sqlite:///{tmp_path}/r/registry.db"
    data = write_csv(tmp_path / "d.csv", make_rows(12, seed=3))
    model = domainfit.train({"data": {"train": str(data)}, "model": {"backbone": str(tiny_backbone), "max_length": 32},
                             "method": "head", "baselines": [], "output": str(tmp_path / "b"),
                             "tracking": {"backend": "mlflow", "uri": uri, "experiment": "tickets"}})
    run_id = model.meta["tracking"]["mlflow_run_id"]
    run = _mlflow().MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.data.params["method"] == "head"
    assert run.data.metrics["test_accuracy"] == pytest.approx(model.metrics["model"]["accuracy"])
