"""POST /v1/predict with "explain": true — off by default, in the schema, the same answer as the Python API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import domainfit
from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore

TEXTS = ["my card was stolen", "loan rate please"]


@pytest.fixture(scope="module")
def client(tiny_bundle):
    with TestClient(create_app(tiny_bundle, ServeSettings(), keys=KeyStore([]))) as c:
        yield c


def test_explanations_only_when_asked(client, tiny_bundle):
    plain = client.post("/v1/predict", json={"texts": TEXTS}).json()
    assert "explanations" not in plain
    r = client.post("/v1/predict", json={"texts": TEXTS, "explain": True})
    assert r.status_code == 200
    body = r.json()
    expected = domainfit.load(tiny_bundle, variant="torch").explain(TEXTS)
    assert len(body["explanations"]) == 2
    for got, want, pred in zip(body["explanations"], expected, body["predictions"]):
        assert got["target"] == pred["label"] == want["target"] and got["method"] == want["method"]
        assert [w["word"] for w in got["words"]] == [w["word"] for w in want["words"]]
        assert [w["weight"] for w in got["words"]] == pytest.approx([w["weight"] for w in want["words"]], abs=1e-4)


def test_explain_is_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    assert "explain" in schema["components"]["schemas"]["PredictRequest"]["properties"]
    assert "explanations" in schema["components"]["schemas"]["PredictResponse"]["properties"]
    assert client.post("/v1/predict", json={"texts": TEXTS, "explain": "yes"}).status_code == 422


def test_entity_bundles_say_explanations_are_not_for_them(tiny_ner_bundle):
    with TestClient(create_app(tiny_ner_bundle, ServeSettings(), keys=KeyStore([]))) as c:
        r = c.post("/v1/predict", json={"texts": ["my card was stolen"], "explain": True})
    assert r.status_code == 422 and r.json()["error"]["code"] == "explain_unsupported"
