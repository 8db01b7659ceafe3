"""The service through FastAPI's TestClient: every route, every error, auth, limits, metrics, the OpenAPI schema."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import domainfit
from domainfit.errors import BundleError, ConfigError
from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore, add_key, hash_key

TEXTS = ["my card was stolen", "loan rate please", "transfer not arrived"]


@pytest.fixture(scope="module")
def client(tiny_bundle):
    with TestClient(create_app(tiny_bundle, ServeSettings(max_texts=4, max_chars=50, max_body_bytes=2000, max_top_k=3),
                               keys=KeyStore([]))) as c:
        yield c


def test_predict_returns_the_same_as_the_python_api(client, tiny_bundle):
    r = client.post("/v1/predict", json={"texts": TEXTS, "top_k": 2})
    assert r.status_code == 200
    body = r.json()
    expected = domainfit.load(tiny_bundle).predict(TEXTS, top_k=2)
    assert [p["label"] for p in body["predictions"]] == [p["label"] for p in expected]
    assert body["predictions"][0]["score"] == pytest.approx(expected[0]["score"], abs=1e-5)
    assert len(body["predictions"][0]["top_k"]) == 2
    assert body["model"] == "tickets" and body["request_id"] == r.headers["x-request-id"]


def test_the_request_id_is_the_servers_and_the_clients_is_echoed_beside_it(client):
    r = client.post("/v1/predict", json={"texts": ["card lost"]}, headers={"X-Request-ID": "abc-123"})
    rid = r.json()["request_id"]
    assert r.headers["x-request-id"] == rid and rid != "abc-123" and len(rid) == 32
    assert r.headers["x-client-request-id"] == "abc-123"
    again = client.post("/v1/predict", json={"texts": ["card lost"]}, headers={"X-Request-ID": "abc-123"})
    assert again.json()["request_id"] != rid


@pytest.mark.parametrize("payload, code, where", [
    ({"texts": ["a"] * 5}, "too_many_texts", "texts"),
    ({"texts": ["x" * 51]}, "text_too_long", "texts[0]"),
    ({"texts": ["a"], "top_k": 4}, "top_k_too_large", "top_k"),
])
def test_limits_say_which_limit_and_its_value(client, payload, code, where):
    r = client.post("/v1/predict", json=payload)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == code and error["where"] == where and str(error["limit"]) in error["message"]


def test_body_size_limit_is_413(client):
    r = client.post("/v1/predict", json={"texts": ["word " * 150] * 3})
    assert r.status_code == 413
    assert r.json()["error"] == {"code": "body_too_large", "message": "request body larger than max_body_bytes=2000", "limit": 2000}


@pytest.mark.parametrize("payload, where", [({"texts": []}, "texts"), ({"text": ["a"]}, "text"), ({"texts": "one"}, "texts"),
                                            ({"texts": [1]}, "texts.0"), ({"texts": ["a"], "top_k": 0}, "top_k")])
def test_invalid_requests_are_422_naming_the_field(client, payload, where):
    r = client.post("/v1/predict", json=payload)
    assert r.status_code == 422
    assert where in [p["where"] for p in r.json()["error"]["problems"]]


def test_malformed_json_is_422(client):
    r = client.post("/v1/predict", content=b'{"texts": [', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "malformed_json"


def test_unknown_route_and_wrong_method(client):
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found" and "/v2/nothing" in r.json()["error"]["message"]
    assert client.get("/v1/predict").status_code == 405


def test_models_health_ready(client, tiny_bundle):
    r = client.get("/v1/models")
    info = r.json()["models"][0]
    assert info["name"] == "tickets" and info["task"] == "classification" and info["labels"] == ["card", "loan", "transfer"]
    assert info["source"] == "bundle:tickets" and str(tiny_bundle.parent) not in r.text  # no path of the server's disk
    assert 0 <= info["metrics"]["accuracy"] <= 1 and info["variant"] == "torch"
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_metrics_count_requests_labels_and_batches(client):
    client.post("/v1/predict", json={"texts": TEXTS})
    client.get("/nope")
    text = client.get("/metrics").text
    assert 'domainfit_requests_total{method="POST",route="/v1/predict",status="200"}' in text
    assert 'domainfit_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert "domainfit_request_latency_seconds_bucket" in text and "domainfit_batch_size_bucket" in text
    assert 'domainfit_predictions_total{label="card",model="tickets"}' in text
    assert 'domainfit_model_info{model="tickets"' in text


def test_openapi_schema_is_derived_from_the_task(client):
    schema = client.get("/openapi.json").json()
    prediction = schema["components"]["schemas"]["ClassificationPrediction"]
    assert prediction["properties"]["label"]["enum"] == ["card", "loan", "transfer"]
    assert schema["components"]["schemas"]["PredictRequest"]["examples"][0]["texts"]
    ok = schema["paths"]["/v1/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/PredictResponse")


def test_auth_401_403_and_open_health(tiny_bundle, tmp_path, monkeypatch):
    keys_file = tmp_path / "keys.yaml"
    good = add_key(keys_file, "crm", ["tickets"])
    other = add_key(keys_file, "elsewhere", ["another-model"])
    assert good not in keys_file.read_text() and hash_key(good) in keys_file.read_text()
    monkeypatch.setenv("DOMAINFIT_API_KEYS", " env-secret ,")
    with TestClient(create_app(tiny_bundle, ServeSettings(api_keys_file=keys_file))) as c:
        r = c.post("/v1/predict", json={"texts": ["card"]})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and r.json()["error"]["code"] == "unauthorized"
        assert c.post("/v1/predict", json={"texts": ["card"]}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.post("/v1/predict", json={"texts": ["card"]}, headers={"Authorization": f"Bearer {good}"}).status_code == 200
        assert c.post("/v1/predict", json={"texts": ["card"]}, headers={"X-API-Key": "env-secret"}).status_code == 200
        assert c.post("/v1/predict", json={"texts": ["card"]}, headers={"X-API-Key": f"  {good} "}).status_code == 200
        assert c.post("/v1/predict", json={"texts": ["card"]}, headers={"Authorization": "bearer  env-secret "}).status_code == 200
        r = c.post("/v1/predict", json={"texts": ["card"]}, headers={"X-API-Key": other})
        assert r.status_code == 403 and "tickets" in r.json()["error"]["message"]
        assert c.get("/v1/models").status_code == 401 and c.get("/openapi.json").status_code == 401
        assert c.get("/openapi.json", headers={"X-API-Key": good}).status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200 and c.get("/metrics").status_code == 200


def test_cors_when_configured(tiny_bundle):
    with TestClient(create_app(tiny_bundle, ServeSettings(cors_origins=["https://crm.bank.example"]), keys=KeyStore([]))) as c:
        r = c.options("/v1/predict", headers={"Origin": "https://crm.bank.example", "Access-Control-Request-Method": "POST"})
        assert r.headers["access-control-allow-origin"] == "https://crm.bank.example"


def test_bad_sources_and_settings_fail_before_serving(tmp_path, tiny_bundle):
    with pytest.raises(BundleError, match="not a domainfit bundle"):
        create_app(tmp_path)
    with pytest.raises(ConfigError, match="require_auth"):
        create_app(tiny_bundle, ServeSettings(require_auth=True), keys=KeyStore([]))
    bad = tmp_path / "keys.yaml"
    bad.write_text("keys:\n  - name: x\n    sha256: short\n")
    with pytest.raises(ConfigError, match=r"keys\[0\]"):
        KeyStore.from_sources(bad, env="")


def test_model_errors_become_500_and_the_server_goes_on(tiny_bundle):
    app = create_app(tiny_bundle, keys=KeyStore([]))
    with TestClient(app, raise_server_exceptions=False) as c:
        predictor = app.state.slot.current.predictor
        original = predictor.predict_scores
        predictor.predict_scores = lambda texts: (_ for _ in ()).throw(RuntimeError("boom /secret/path"))
        r = c.post("/v1/predict", json={"texts": ["card"]})
        rid = r.headers["x-request-id"]
        assert r.status_code == 500 and r.json() == {"error": {"code": "internal_error", "message":
                "internal error; the server logged the details under request_id " + rid}, "request_id": rid}
        predictor.predict_scores = original
        assert c.post("/v1/predict", json={"texts": ["card"]}).status_code == 200
