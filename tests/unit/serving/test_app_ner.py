"""An entity bundle through the service: the predictions are the Python API's, the schema names the entity types."""

from __future__ import annotations

from fastapi.testclient import TestClient

import domainfit
from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore

TEXTS = ["my card was stolen", "loan rate please", "transfer not arrived and card blocked"]


def test_entities_are_served_with_their_schema(tiny_ner_bundle):
    with TestClient(create_app(tiny_ner_bundle, ServeSettings(), keys=KeyStore([]))) as client:
        r = client.post("/v1/predict", json={"texts": TEXTS})
        assert r.status_code == 200, r.text
        served = r.json()["predictions"]
        expected = domainfit.load(tiny_ner_bundle).predict(TEXTS)
        assert [[(e["start"], e["end"], e["label"], e["text"]) for e in p["entities"]] for p in served] == \
               [[(e["start"], e["end"], e["label"], e["text"]) for e in p["entities"]] for p in expected]
        assert any(p["entities"] for p in served)
        for text, p in zip(TEXTS, served):
            assert all(text[e["start"]:e["end"]] == e["text"] for e in p["entities"])
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        assert schemas["Entity"]["properties"]["label"]["enum"] == ["CARD", "LOAN", "TRANSFER"]
        assert "entities" in schemas["NerPrediction"]["properties"]
        models = client.get("/v1/models").json()["models"][0]
        assert models["task"] == "ner" and "f1" in models["metrics"]
