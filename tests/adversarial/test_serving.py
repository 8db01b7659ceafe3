"""Hostile requests to the service through the ASGI app (FastAPI's TestClient): texts that are not Unicode, control
characters, huge and deeply nested bodies, wrong types, header floods, keys checked before the body is read, docs
behind the key, 500s that say nothing of the exception, and a prediction log keyed by the server, not the client."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from fastapi.testclient import TestClient

from domainfit.monitor.log import PredictionLog
from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore, add_key

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(tiny_bundle):
    settings = ServeSettings(max_texts=8, max_chars=200, max_body_bytes=20_000, max_headers=50, max_header_bytes=4096)
    with TestClient(create_app(tiny_bundle, settings, keys=KeyStore([])), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def keyed(tiny_bundle, tmp_path):
    """A server with a keys file, a prediction log, and the key it accepts."""
    keys_file = tmp_path / "keys.yaml"
    key = add_key(keys_file, "crm")
    settings = ServeSettings(api_keys_file=keys_file, prediction_log=tmp_path / "log.db", log_texts="raw")
    with TestClient(create_app(tiny_bundle, settings, keys=KeyStore.from_sources(keys_file, env="")),
                    raise_server_exceptions=False) as c:
        yield c, key, tmp_path / "log.db"


def _error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["request_id"] == r.headers["x-request-id"]
    return body["error"]


# ------------------------------------------------------------------------------------------------ texts


def test_a_lone_surrogate_is_422_naming_the_item(client):
    r = client.post("/v1/predict", content=b'{"texts": ["card", "loan", "transfer", "\\ud800 lost"]}', headers=JSON)
    error = _error(r, 422)
    assert error["code"] == "invalid_text" and error["where"] == "texts[3]"
    assert error["message"].startswith("texts[3] is not valid Unicode: a lone surrogate (U+D800) at character 0")
    low = client.post("/v1/predict", content=b'{"texts": ["ok \\udfff"]}', headers=JSON)
    assert _error(low, 422)["where"] == "texts[0]" and "U+DFFF" in low.json()["error"]["message"]


def test_a_surrogate_pair_is_text_and_is_predicted(client):
    r = client.post("/v1/predict", content=b'{"texts": ["\\ud83d\\ude00 card stolen"]}', headers=JSON)
    assert r.status_code == 200 and len(r.json()["predictions"]) == 1


@pytest.mark.parametrize("text", ["\x00", "card\x00stolen", "\x07\x1b[31mloan\x1b[0m", "\r\n\t", "", " " * 150, "\u202etransfer"])
def test_nul_and_control_characters_are_accepted_and_predicted(client, text):
    r = client.post("/v1/predict", json={"texts": [text, "card"]})
    assert r.status_code == 200, r.text
    assert [p["label"] in {"card", "loan", "transfer"} for p in r.json()["predictions"]] == [True, True]


# ------------------------------------------------------------------------------------------------ bodies


def test_a_huge_body_is_413_declared_or_streamed(client):
    declared = client.post("/v1/predict", content=b'{"texts": ["' + b"a" * 30_000 + b'"]}', headers=JSON)
    assert _error(declared, 413) == {"code": "body_too_large", "message": "request body larger than max_body_bytes=20000",
                                     "limit": 20000}

    def chunks():  # no content-length: the limit must hold while reading, not only from the header
        yield b'{"texts": ["'
        for _ in range(30):
            yield b"a" * 1000
        yield b'"]}'

    streamed = client.post("/v1/predict", content=chunks(), headers=JSON)
    assert "content-length" not in streamed.request.headers
    assert _error(streamed, 413)["code"] == "body_too_large"


@pytest.mark.parametrize("body", [
    b'{"texts": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"texts": ["a"], "top_k": ' + b'{"a":' * 2000 + b"1" + b"}" * 2000 + b"}",
])
def test_deeply_nested_json_is_422_malformed(client, body):
    error = _error(client.post("/v1/predict", content=body, headers=JSON), 422)
    assert error["code"] == "malformed_json" and error["message"] == "the JSON nests too deeply"


@pytest.mark.parametrize("body, code, where", [
    (b'{"texts": ["caf\xe9"]}', "malformed_json", "body"),  # Latin-1, not UTF-8
    (b'{"texts": ["a"], "top_k": 1' + b"0" * 5000 + b"}", "malformed_json", "body"),  # more digits than Python reads
    (b'{"texts": [', "malformed_json", "body"),
    (b"null", "invalid_request", "body"),
    (b"[1, 2]", "invalid_request", "body"),
    (b'"texts"', "invalid_request", "body"),
    (b'{"texts": null}', "invalid_request", "texts"),
    (b'{"texts": [null]}', "invalid_request", "texts.0"),
    (b'{"texts": [["a"]]}', "invalid_request", "texts.0"),
    (b'{"texts": {"a": 1}}', "invalid_request", "texts"),
    (b'{"texts": ["a"], "top_k": 1.5}', "invalid_request", "top_k"),
    (b'{"texts": ["a"], "top_k": "many"}', "invalid_request", "top_k"),
    (b'{"texts": ["a"], "top_k": -1}', "invalid_request", "top_k"),
    (b'{"texts": ["a"], "top_k": NaN}', "invalid_request", "top_k"),
    (b'{"texts": ["a"], "extra": 1}', "invalid_request", "extra"),
    (b'{"\\ud800": 1, "texts": ["a"]}', "invalid_request", "body"),
    (b'{"texts": ["a"], "top_k": 100000000000000000000}', "top_k_too_large", "top_k"),
])
def test_wrong_types_and_unreadable_bodies_are_422_naming_the_field(client, body, code, where):
    error = _error(client.post("/v1/predict", content=body, headers=JSON), 422)
    assert error["code"] == code
    assert where == error.get("where") or where in [p["where"] for p in error.get("problems", [])], error


def test_feedback_numbers_and_texts_out_of_range_are_422_not_500(keyed):
    c, key, _ = keyed
    auth = {"X-API-Key": key}
    huge = c.post("/v1/feedback", json={"request_id": "x", "item": 10**30, "label": "card"}, headers=auth)
    assert _error(huge, 422)["problems"][0]["where"] == "item"  # was 500: "Python int too large to convert to SQLite INTEGER"
    bad = c.post("/v1/feedback", content=b'{"request_id": "x", "label": "\\ud800"}', headers={**JSON, **auth})
    assert [p["where"] for p in _error(bad, 422)["problems"]] == ["label"]  # pydantic refuses it in a constrained str
    long_id = c.post("/v1/feedback", json={"request_id": "x" * 129, "label": "card"}, headers=auth)
    assert _error(long_id, 422)["problems"][0]["where"] == "request_id"


# ------------------------------------------------------------------------------------------------ headers


def test_a_header_flood_is_431(client):
    headers = {f"x-flood-{i}": "1" for i in range(60)}
    error = _error(client.get("/healthz", headers=headers), 431)
    assert error["code"] == "too_many_headers" and error["limit"] == 50


def test_an_oversized_header_is_431(client):
    error = _error(client.post("/v1/predict", json={"texts": ["card"]}, headers={"Authorization": "Bearer " + "k" * 5000}), 431)
    assert error["code"] == "headers_too_large" and error["limit"] == 4096


# ------------------------------------------------------------------------------------------------ keys and docs


@pytest.mark.parametrize("body", [b'{"texts": [', b'{"texts": 7}', b"\xff\xfe", b"[" * 5000])
def test_401_comes_before_the_body_is_parsed(keyed, body):
    c, key, _ = keyed
    error = _error(c.post("/v1/predict", content=body, headers=JSON), 401)
    assert error["code"] == "unauthorized"
    assert c.post("/v1/predict", content=body, headers={**JSON, "X-API-Key": key}).status_code == 422


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
def test_docs_need_a_key_when_keys_are_on(keyed, path):
    c, key, _ = keyed
    r = c.get(path)
    assert _error(r, 401)["code"] == "unauthorized" and "transfer" not in r.text
    assert c.get(path, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_docs_can_be_made_public_and_are_open_without_keys(tiny_bundle, tmp_path):
    keys_file = tmp_path / "keys.yaml"
    add_key(keys_file, "crm")
    settings = ServeSettings(api_keys_file=keys_file, public_docs=True)
    with TestClient(create_app(tiny_bundle, settings, keys=KeyStore.from_sources(keys_file, env=""))) as c:
        assert "transfer" in c.get("/openapi.json").text and c.get("/docs").status_code == 200
        assert c.post("/v1/predict", json={"texts": ["card"]}).status_code == 401  # the routes still need the key
    with TestClient(create_app(tiny_bundle, ServeSettings(), keys=KeyStore([]))) as c:  # keys off: nothing to guard
        assert c.get("/openapi.json").status_code == 200


def test_models_shows_no_path_of_the_server(keyed, tiny_bundle):
    c, key, _ = keyed
    r = c.get("/v1/models", headers={"X-API-Key": key})
    assert r.status_code == 200 and r.json()["models"][0]["source"] == "bundle:tickets"
    assert str(tiny_bundle.parent) not in r.text and "/" not in r.json()["models"][0]["source"]


# ------------------------------------------------------------------------------------------------ 500s


def test_a_500_names_the_request_id_and_not_the_exception(tiny_bundle):
    app = create_app(tiny_bundle, ServeSettings(), keys=KeyStore([]))
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("domainfit.serve")
    logger.addHandler(handler)
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            predictor = app.state.slot.current.predictor
            original = predictor.predict_scores
            predictor.predict_scores = lambda texts: (_ for _ in ()).throw(
                OverflowError("Python int too large to convert to SQLite INTEGER"))
            r = c.post("/v1/predict", json={"texts": ["card"]})
            predictor.predict_scores = original
            after = c.post("/v1/predict", json={"texts": ["card"]})
    finally:
        logger.removeHandler(handler)
    rid = r.headers["x-request-id"]
    assert _error(r, 500) == {"code": "internal_error", "message": f"internal error; the server logged the details under request_id {rid}"}
    assert "Overflow" not in r.text and "SQLite" not in r.text
    logged = [rec for rec in records if rec.exc_info and getattr(rec, "fields", {}).get("request_id") == rid]
    assert logged and "Python int too large" in str(logged[0].exc_info[1])
    assert after.status_code == 200


# ------------------------------------------------------------------------------------------------ the prediction log


def test_a_reused_client_request_id_gives_distinct_rows_and_feedback_corrects_one(keyed):
    c, key, db = keyed
    auth = {"Authorization": f"Bearer {key}", "X-Request-ID": "same-id"}
    answers = [c.post("/v1/predict", json={"texts": ["card stolen", "loan rate"]}, headers=auth) for _ in range(3)]
    ids = [a.json()["request_id"] for a in answers]
    assert all(a.status_code == 200 for a in answers) and len(set(ids)) == 3 and "same-id" not in ids
    assert all(a.headers["x-client-request-id"] == "same-id" for a in answers)
    rows = PredictionLog(db, create=False).predictions()
    assert len(rows) == 6 and rows["request_id"].nunique() == 3 and set(rows["client_request_id"]) == {"same-id"}
    key_id = rows["key_id"].iloc[0]
    assert key_id.startswith("crm#") and set(rows["key_id"]) == {key_id}

    fixed = c.post("/v1/feedback", json={"request_id": ids[1], "item": 1, "label": "card"}, headers=auth)
    assert fixed.status_code == 200 and fixed.json()["request_id"] == ids[1]
    by_client_id = c.post("/v1/feedback", json={"request_id": "same-id", "label": "card"}, headers=auth)
    assert _error(by_client_id, 404)["code"] == "unknown_prediction"
    corrections = PredictionLog(db, create=False).corrections()
    assert corrections[["request_id", "item", "label", "client_request_id", "predicted_by", "corrected_by", "source"]] \
        .values.tolist() == [[ids[1], 1, "card", "same-id", key_id, key_id, "crm"]]
    with sqlite3.connect(db) as con:
        dumped = "\n".join(con.iterdump())
    assert key not in dumped and key[4:20] not in dumped, "the API key itself reached the log"


def test_a_failed_log_write_is_counted_and_answered(tiny_bundle, tmp_path, monkeypatch):
    app = create_app(tiny_bundle, ServeSettings(prediction_log=tmp_path / "log.db"), keys=KeyStore([]))
    monkeypatch.setattr(PredictionLog, "append", lambda self, *a, **k: (_ for _ in ()).throw(sqlite3.OperationalError("disk full")))
    with TestClient(app) as c:
        r = c.post("/v1/predict", json={"texts": ["card", "loan"]})
        metrics = c.get("/metrics").text
    assert r.status_code == 200 and len(r.json()["predictions"]) == 2
    assert "domainfit_prediction_log_errors_total 1.0" in metrics and "domainfit_logged_predictions_total 0.0" in metrics


def test_a_failed_log_write_is_refused_with_503_when_every_answer_must_be_logged(tiny_bundle, tmp_path, monkeypatch):
    settings = ServeSettings(prediction_log=tmp_path / "log.db", on_log_error="refuse")
    app = create_app(tiny_bundle, settings, keys=KeyStore([]))
    monkeypatch.setattr(PredictionLog, "append", lambda self, *a, **k: (_ for _ in ()).throw(sqlite3.OperationalError("disk full")))
    with TestClient(app) as c:
        r = c.post("/v1/predict", json={"texts": ["card"]})
        metrics = c.get("/metrics").text
    error = _error(r, 503)
    assert error["code"] == "prediction_log_failed" and "disk full" not in r.text and r.headers["retry-after"] == "1"
    assert "domainfit_prediction_log_errors_total 1.0" in metrics


def test_a_version_1_log_gains_the_new_columns(tmp_path):
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as con:  # the schema as domainfit wrote it before the server kept its own request ids
        con.executescript("""
            CREATE TABLE predictions (id INTEGER PRIMARY KEY, ts REAL NOT NULL, request_id TEXT, item INTEGER NOT NULL,
                model TEXT, version TEXT, length INTEGER NOT NULL, text TEXT, label TEXT, score REAL, output TEXT NOT NULL);
            CREATE TABLE feedback (id INTEGER PRIMARY KEY, ts REAL NOT NULL, request_id TEXT NOT NULL, item INTEGER NOT NULL,
                label TEXT NOT NULL, source TEXT, UNIQUE (request_id, item) ON CONFLICT REPLACE);
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('schema', '1'), ('texts', 'raw');
            INSERT INTO predictions VALUES (1, 1.0, 'old', 0, 'tickets', '1', 4, 'card', 'card', 0.9, '{"label": "card"}');
        """)
    with PredictionLog(db) as log:
        assert log.add_feedback("old", 0, "loan", key_id="crm#0000abcd")
        log.append([("new", "tickets", "1", ["loan"], [{"label": "loan", "score": 0.8}], "client-7", "crm#0000abcd")])
        rows = log.predictions()
        fixes = log.corrections()
    assert rows["client_request_id"].isna().tolist() == [True, False] and rows["client_request_id"].iloc[1] == "client-7"
    assert rows["key_id"].isna().tolist() == [True, False] and rows["key_id"].iloc[1] == "crm#0000abcd"
    assert fixes[["request_id", "label", "corrected_by"]].values.tolist() == [["old", "loan", "crm#0000abcd"]]
    with sqlite3.connect(db) as con:
        assert dict(con.execute("SELECT key, value FROM meta").fetchall())["schema"] == "2"
