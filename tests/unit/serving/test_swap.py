"""A hot swap keeps the served contract: a new version with other labels, or whose bundle fails its checks, is refused
(the old model keeps answering, the refusal is logged, counted in /metrics and said in /readyz), one with the same task
and labels is swapped in; /openapi.json lists the served bundle's labels before and after either."""

from __future__ import annotations

import json
import logging
import shutil
import time

import pytest
from fastapi.testclient import TestClient

import domainfit
from domainfit.bundle import load_bundle
from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore
from domainfit.errors import BundleError
from domainfit.serving.contract import Contract, breach, failed_check, failed_load
from domainfit.serving.models import BundleSource
from domainfit.serving.telemetry import JsonFormatter
from tests.conftest import make_rows, train_tiny_bundle, write_csv

TEXTS = ["my card was stolen", "loan rate please", "transfer not arrived"]
LABELS = ["card", "loan", "transfer"]


class FollowedSource(BundleSource):
    """A followed source whose current version a test moves (as a registry promotion does); it counts its loads."""

    def __init__(self, bundles: dict) -> None:
        self.bundles, self.version, self.loads = bundles, "1", []
        super().__init__(bundles["1"])
        self.follows = True

    def current_version(self) -> str:
        return self.version

    def path_for(self, version):
        return self.bundles[version]

    def load(self, version, *, variant, threads):
        self.loads.append(version)
        self.path = self.bundles[version]
        return super().load(version, variant=variant, threads=threads)


def train_relabelled(backbone, out, relabel: dict[str, str], *, seed: int = 2):
    """A tiny classification bundle like `train_tiny_bundle`, its labels renamed by `relabel`."""
    rows = [(text, relabel.get(label, label)) for text, label in make_rows(30, seed=seed)]
    data = write_csv(out.parent / f"{out.name}-data.csv", rows)
    domainfit.train({"data": {"train": str(data)}, "model": {"backbone": str(backbone), "max_length": 32},
                     "training": {"epochs": 4, "batch_size": 8, "lr": 5e-3, "seed": seed}, "baselines": [],
                     "output": str(out)})
    return out


@pytest.fixture(scope="module")
def renamed_bundle(tiny_backbone, tmp_path_factory):
    """Labels card, loan, payment: `transfer` renamed."""
    return train_relabelled(tiny_backbone, tmp_path_factory.mktemp("renamed") / "tickets", {"transfer": "payment"})


@pytest.fixture(scope="module")
def same_labels_bundle(tiny_backbone, tmp_path_factory):
    return train_tiny_bundle(tiny_backbone, tmp_path_factory.mktemp("retrained") / "tickets", seed=5, epochs=3)


def tamper(bundle, folder):
    """A copy of `bundle` with one byte of model/head.safetensors flipped (its manifest unchanged)."""
    copy = shutil.copytree(bundle, folder / "tampered")
    head = copy / "model" / "head.safetensors"
    data = bytearray(head.read_bytes())
    data[-1] ^= 0xFF
    head.write_bytes(bytes(data))
    return copy


class JsonLines(logging.Handler):
    """The server's log lines as its JSON formatter writes them (parsed back)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture()
def server_log():
    handler, logger = JsonLines(), logging.getLogger("domainfit.serve")
    level, logger.level = logger.level, logging.INFO
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def serve(source):
    return TestClient(create_app(source, ServeSettings(poll_seconds=0.05, max_wait_ms=1), keys=KeyStore([])))


def wait_for(check, seconds: float = 60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def label_enums(schema: dict) -> dict[str, list[str]]:
    parts = schema["components"]["schemas"]
    return {"label": parts["ClassificationPrediction"]["properties"]["label"]["enum"],
            "top_k": parts["ScoredLabel"]["properties"]["label"]["enum"]}


def metric(text: str, name: str) -> float:
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")))


def test_the_openapi_labels_are_the_served_bundles(renamed_bundle):
    with serve(renamed_bundle) as c:
        enums = label_enums(c.get("/openapi.json").json())
        served = c.get("/v1/models").json()["models"][0]["labels"]
    assert enums == {"label": load_bundle(renamed_bundle).labels, "top_k": load_bundle(renamed_bundle).labels}
    assert served == ["card", "loan", "payment"] == enums["label"]


def test_a_swap_to_other_labels_is_refused_and_the_old_model_keeps_answering(tiny_bundle, renamed_bundle, server_log):
    source = FollowedSource({"1": tiny_bundle, "2": renamed_bundle})
    with serve(source) as c:
        schema = c.get("/openapi.json").json()
        source.version = "2"
        ready = wait_for(lambda: (r := c.get("/readyz").json())["last_reload_error"] and r)
        time.sleep(0.5)  # ten more polls: the refused version is not loaded again, nor counted again
        r = c.post("/v1/predict", json={"texts": TEXTS, "top_k": 3})
        metrics = c.get("/metrics").text
        models = c.get("/v1/models").json()["models"][0]
        after = c.get("/openapi.json").json()
        ready_text = c.get("/readyz").text
    assert ready["status"] == "ready" and ready["version"] == "1" and ready["swaps"] == 0
    assert ready["last_reload_error"] == ("version 2 has other labels than the served version 1: added ['payment'], "
                                          "removed ['transfer']; version 1 keeps serving")
    assert str(renamed_bundle.parent) not in ready_text and "Error" not in ready_text
    assert r.status_code == 200 and r.json()["version"] == "1"
    assert {s["label"] for p in r.json()["predictions"] for s in p["top_k"]} == set(LABELS)
    assert models["version"] == "1" and models["labels"] == LABELS
    assert after == schema and label_enums(after) == {"label": LABELS, "top_k": LABELS}
    assert metric(metrics, 'domainfit_reload_refused_total{reason="labels_differ"}') == 1.0
    assert metric(metrics, 'domainfit_reload_refused_total{reason="invalid_bundle"}') == 0.0
    assert metric(metrics, "domainfit_model_swaps_total") == 0.0 and 'version="1"} 1.0' in metrics
    assert source.loads == ["1"], "the weights of a version with other labels were loaded"
    refused = [line for line in server_log if line["msg"].startswith("model reload refused")]
    assert len(refused) == 1
    expected = {"level": "error", "logger": "domainfit.serve", "model": "tickets", "version": "2", "served_version": "1",
                "reason": "labels_differ", "added": ["payment"], "removed": ["transfer"], "why": ready["last_reload_error"]}
    assert {k: refused[0].get(k) for k in expected} == expected


def test_a_swap_to_another_task_is_refused(tiny_bundle, tiny_ner_bundle):
    source = FollowedSource({"1": tiny_bundle, "2": tiny_ner_bundle})
    with serve(source) as c:
        source.version = "2"
        ready = wait_for(lambda: (r := c.get("/readyz").json())["last_reload_error"] and r)
        r = c.post("/v1/predict", json={"texts": TEXTS})
        metrics = c.get("/metrics").text
    assert ready["version"] == "1" and ready["last_reload_error"] == (
        "version 2 has task 'ner', the served version 1 has 'classification'; version 1 keeps serving")
    assert r.json()["version"] == "1" and "label" in r.json()["predictions"][0]
    assert metric(metrics, 'domainfit_reload_refused_total{reason="task_differs"}') == 1.0
    assert source.loads == ["1"]


def test_a_swap_to_the_same_task_and_labels_is_accepted_and_the_schema_is_unchanged(tiny_bundle, same_labels_bundle):
    source = FollowedSource({"1": tiny_bundle, "2": same_labels_bundle})
    with serve(source) as c:
        schema = c.get("/openapi.json").json()
        source.version = "2"
        ready = wait_for(lambda: (r := c.get("/readyz").json())["version"] == "2" and r)
        r = c.post("/v1/predict", json={"texts": TEXTS})
        metrics = c.get("/metrics").text
        after = c.get("/openapi.json").json()
    assert ready["swaps"] == 1 and ready["last_reload_error"] is None
    assert r.json()["version"] == "2" and all(p["label"] in LABELS for p in r.json()["predictions"])
    assert after == schema and label_enums(after)["label"] == load_bundle(same_labels_bundle).labels == LABELS
    assert metric(metrics, "domainfit_model_swaps_total") == 1.0
    assert metric(metrics, 'domainfit_reload_refused_total{reason="labels_differ"}') == 0.0


def test_a_swap_to_a_tampered_bundle_is_refused_until_it_is_whole_again(tiny_bundle, tmp_path, server_log):
    tampered = tamper(tiny_bundle, tmp_path)
    source = FollowedSource({"1": tiny_bundle, "2": tampered})
    with serve(source) as c:
        source.version = "2"
        ready = wait_for(lambda: (r := c.get("/readyz").json())["last_reload_error"] and r)
        time.sleep(0.5)  # retried at every poll (a bundle can be copied again)
        r = c.post("/v1/predict", json={"texts": TEXTS})
        metrics = c.get("/metrics").text
        shutil.copy2(tiny_bundle / "model" / "head.safetensors", tampered / "model" / "head.safetensors")  # copied again
        healed = wait_for(lambda: (r := c.get("/readyz").json())["version"] == "2" and r)
    assert ready["version"] == "1" and r.json()["version"] == "1"
    assert ready["last_reload_error"] == ("version 2 failed the bundle checks: the bundle does not match its manifest: "
                                          "model/head.safetensors differs from the file domainfit wrote (sha256 "
                                          "mismatch); version 1 keeps serving")
    assert metric(metrics, 'domainfit_reload_refused_total{reason="invalid_bundle"}') >= 3.0  # every attempt counted
    assert metric(metrics, "domainfit_model_swaps_total") == 0.0
    assert healed["last_reload_error"] is None and healed["swaps"] == 1  # a bundle that failed its checks is retried
    logged = [line for line in server_log if line.get("reason") == "invalid_bundle"]
    assert len(logged) == 1 and logged[0]["level"] == "error"  # ... and logged once
    assert str(tampered) in logged[0]["error"]  # the log keeps the full error, path included
    assert [line["to_version"] for line in server_log if line["msg"] == "model swapped"] == ["2"]


def test_the_version_loaded_at_startup_is_the_one_the_schema_was_built_from(tiny_bundle, renamed_bundle):
    """The source moves between create_app and startup: the server still loads version 1 (whose labels the schema
    lists), then refuses version 2."""
    source = FollowedSource({"1": tiny_bundle, "2": renamed_bundle})
    app = create_app(source, ServeSettings(poll_seconds=0.05), keys=KeyStore([]))
    source.version = "2"
    with TestClient(app) as c:
        ready = wait_for(lambda: (r := c.get("/readyz").json())["last_reload_error"] and r)
        labels = {p["label"] for p in c.post("/v1/predict", json={"texts": TEXTS * 3}).json()["predictions"]}
        enum = label_enums(c.get("/openapi.json").json())["label"]
    assert ready["version"] == "1" and "added ['payment']" in ready["last_reload_error"]
    assert labels <= set(enum) and enum == LABELS


def test_a_followed_registry_alias_refuses_a_promotion_with_other_labels(tiny_bundle, renamed_bundle,
                                                                       same_labels_bundle, tmp_path, monkeypatch):
    """Real MLflow registry (SQLite): serve models:/tickets@champion at v1; promote v2 (other labels): refused; promote
    v3 (same labels): swapped in, and the refusal is cleared."""
    from domainfit.model_registry import ModelRegistry

    monkeypatch.setenv("DOMAINFIT_CACHE", str(tmp_path / "cache"))
    uri = f"sqlite:///{tmp_path}/reg/registry.db"
    registry = ModelRegistry(uri)
    for bundle in (tiny_bundle, renamed_bundle, same_labels_bundle):
        registry.push(bundle, "tickets")
    registry.promote("tickets", 1)
    with TestClient(create_app("models:/tickets@champion", ServeSettings(registry=uri, poll_seconds=0.1),
                               keys=KeyStore([]))) as c:
        schema = c.get("/openapi.json").json()
        registry.promote("tickets", 2)
        refused = wait_for(lambda: (r := c.get("/readyz").json())["last_reload_error"] and r)
        answered = c.post("/v1/predict", json={"texts": TEXTS}).json()
        registry.promote("tickets", 3)
        swapped = wait_for(lambda: (r := c.get("/readyz").json())["version"] == "3" and r)
        metrics = c.get("/metrics").text
        after = c.get("/openapi.json").json()
    assert refused["version"] == "1" and refused["last_reload_error"].startswith("version 2 has other labels than the "
                                                                                 "served version 1: added ['payment']")
    assert answered["version"] == "1" and {p["label"] for p in answered["predictions"]} <= set(LABELS)
    assert swapped["last_reload_error"] is None and swapped["swaps"] == 1
    assert metric(metrics, 'domainfit_reload_refused_total{reason="labels_differ"}') == 1.0
    assert after == schema and label_enums(after)["label"] == LABELS


@pytest.mark.parametrize("new, message", [
    (Contract("ner", ("CARD",)),
     ("version 3 has task 'ner', the served version 2 has 'classification'; version 2 keeps serving")),
    (Contract("classification", ("loan", "card", "transfer")),
     ("version 3 has other labels than the served version 2: the same labels in another order, ['loan', 'card', "
      "'transfer'] (served: ['card', 'loan', 'transfer']); version 2 keeps serving")),
    (Contract("classification", ("card", "loan")),
     ("version 3 has other labels than the served version 2: removed ['transfer']; version 2 keeps serving")),
    (Contract("classification", tuple(LABELS) + tuple(f"x{i}" for i in range(12))),
     ("version 3 has other labels than the served version 2: added ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', "
      "'x8', 'x9', ... and 2 more]; version 2 keeps serving")),
])
def test_why_a_version_breaks_the_contract(new, message):
    refusal = breach(Contract("classification", tuple(LABELS)), "2", new, "3")
    assert refusal.message == message and refusal.final
    assert breach(Contract("classification", tuple(LABELS)), "2", Contract("classification", tuple(LABELS)), "3") is None


def test_a_failed_load_says_what_failed_without_paths_or_exception_text(tmp_path):
    bundle = tmp_path / "cache" / "tickets" / "3"
    error = BundleError(f"{bundle} is not a complete domainfit bundle: missing model/config.json (copied from "
                        "/mnt/share/models/tickets)", where=str(bundle), hint="train again")
    checked = failed_check("3", "2", error, bundle)
    assert checked.message == ("version 3 failed the bundle checks: the bundle is not a complete domainfit bundle: "
                               "missing model/config.json (copied from <path>); version 2 keeps serving")
    assert (checked.reason, checked.final) == ("invalid_bundle", False) and str(bundle) in checked.fields["error"]
    loaded = failed_load("3", "2", OSError(f"[Errno 5] I/O error: '{bundle}/model/model.safetensors'"))
    assert loaded.message == ("version 3 could not be loaded (OSError); version 2 keeps serving; the server log has "
                              "the details")
    assert "models:/tickets@champion" in failed_check("3", "2", BundleError("see models:/tickets@champion"), None).message
