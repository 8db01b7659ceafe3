"""POST /v1/recommend and /v1/items on a recommend bundle: answers, bad requests, the key check, the prediction log
and a click recorded through /v1/feedback (the monitor's click-through)."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from domainfit.monitor.log import PredictionLog
from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore
from domainfit.tasks.recommend.routes import click_through


@pytest.fixture()
def served(rec_bundle, tmp_path):
    copy = tmp_path / "shop"
    shutil.copytree(rec_bundle, copy)
    settings = ServeSettings(prediction_log=tmp_path / "log.db", max_top_k=10)
    with TestClient(create_app(copy, settings, keys=KeyStore([]))) as client:
        yield client, tmp_path / "log.db"


def test_recommend_for_a_user_a_history_and_nobody(served):
    client, _ = served
    r = client.post("/v1/recommend", json={"user_id": "u001", "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["why"] == "history" and len(body["items"]) == 5 and body["request_id"]
    assert {"id", "text", "score"} <= set(body["items"][0])
    r = client.post("/v1/recommend", json={"history": ["loan-0", "a loan with a low rate"], "k": 3})
    assert r.status_code == 200 and [i["id"].split("-")[0] for i in r.json()["items"]] == ["loan"] * 3
    r = client.post("/v1/recommend", json={"history": [], "k": 3})
    assert r.status_code == 200 and r.json()["why"] == "popular"
    assert client.post("/v1/predict", json={"texts": ["card pin blocked"], "top_k": 2}).json()["predictions"][0]["label"].startswith("card")


@pytest.mark.parametrize(("body", "status", "code", "where"), [
    ({"user_id": "nobody"}, 404, "unknown_user", "user_id"),
    ({"user_id": "u001", "k": 11}, 422, "k_too_large", "k"),
    ({"history": ["card-1", "no-such-item"]}, 422, "unknown_item", "history[1]"),
    ({"k": 3}, 422, "no_user", "body"),
    ({"user_id": "u001", "colour": "red"}, 422, "invalid_request", None),
])
def test_bad_requests_say_what_and_where(served, body, status, code, where):
    client, _ = served
    r = client.post("/v1/recommend", json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and (where is None or error["where"] == where) and r.json()["request_id"]
    assert client.post("/v1/recommend", json={"user_id": "u002"}).status_code == 200  # the next request is unharmed


def test_items_posted_are_recommendable_at_once(served):
    client, _ = served
    r = client.post("/v1/items", json={"items": [{"id": "card-99", "text": "card stolen pin blocked", "category": "card"}]})
    assert r.status_code == 200 and r.json()["added"] == 1 and r.json()["items"] == 25
    r = client.post("/v1/recommend", json={"history": ["card-1", "card-2", "card-4"], "k": 10})
    assert "card-99" in [i["id"] for i in r.json()["items"]]
    bad = client.post("/v1/items", json={"items": [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "duplicate_item"
    assert client.post("/v1/items", json={"items": []}).status_code == 422


def test_what_was_shown_is_logged_and_a_click_is_fed_back(served):
    client, log_path = served
    shown = client.post("/v1/recommend", json={"user_id": "u003", "k": 4}).json()
    other = client.post("/v1/recommend", json={"user_id": "u004", "k": 4}).json()
    clicked = shown["items"][1]["id"]
    r = client.post("/v1/feedback", json={"request_id": shown["request_id"], "label": clicked})
    assert r.status_code == 200, r.text
    bad = client.post("/v1/feedback", json={"request_id": other["request_id"], "label": "no-such-item"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_label"
    with PredictionLog(log_path, create=False) as log:
        rows, corrections = log.predictions(), log.corrections()
    logged = rows[rows["request_id"] == shown["request_id"]].iloc[0]
    assert [i["id"] for i in logged["output"]["items"]] == [i["id"] for i in shown["items"]]
    assert click_through(rows, corrections) == {"recommendations": 2, "clicks": 1, "click_through": 0.5,
                                                "clicked_in_shown": 1.0}
    from domainfit.monitor.run import monitor

    report = monitor(client.app.state.slot.current.predictor.bundle.path, log_path, out_dir=log_path.parent / "mon")
    assert report["feedback"] == click_through(rows, corrections)  # the monitor reports the live click-through


def test_the_same_key_check_covers_the_recommend_routes(rec_bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("DOMAINFIT_API_KEYS", "shop-secret")
    with TestClient(create_app(rec_bundle, ServeSettings())) as client:
        assert client.post("/v1/recommend", json={"user_id": "u001"}).status_code == 401
        assert client.post("/v1/items", json={"items": [{"id": "a", "text": "b c"}]}).status_code == 401
        ok = client.post("/v1/recommend", json={"user_id": "u001"}, headers={"X-API-Key": "shop-secret"})
        assert ok.status_code == 200
