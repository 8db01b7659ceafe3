"""Hypothesis fuzzes the request schema: whatever body arrives, the service answers with a status it documents (never
a 500), in its JSON error shape, and a good request right after still gets its 200."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore

DOCUMENTED = {200, 404, 413, 422}  # predict: answered, unknown prediction (feedback), too large, invalid

# JSON values of every kind, texts included that JSON can carry but Unicode cannot (lone surrogates), NUL and controls
_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=40) | st.sampled_from(  # () lets Cs in
    ["\ud800", "a\udfffb", "\x00", "\x1b[2J", "card", "", "\u202e"])
_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | _text
_json = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
                     max_leaves=12)

# bodies near the schema: the right keys, values of any type
_near = st.fixed_dictionaries({"texts": st.lists(_text, min_size=0, max_size=10) | _json},
                              optional={"top_k": st.integers(min_value=-2, max_value=10**30) | _json, "extra": _json})
_feedback = st.fixed_dictionaries({"request_id": _text | _json, "label": _text | _json}, optional={"item": _json})


def _encode(value) -> bytes:
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()  # \\u escapes carry lone surrogates too


@pytest.fixture(scope="module")
def client(tiny_bundle, tmp_path_factory):
    settings = ServeSettings(max_texts=8, max_chars=100, max_body_bytes=4000, max_top_k=3,
                             prediction_log=tmp_path_factory.mktemp("fuzz") / "log.db")
    with TestClient(create_app(tiny_bundle, settings, keys=KeyStore([])), raise_server_exceptions=False) as c:
        yield c


def _check(client, path: str, body: bytes) -> None:
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code in DOCUMENTED, f"{r.status_code} for {body[:300]!r}: {r.text[:300]}"
    if r.status_code != 200:
        error = r.json()["error"]
        assert error["code"] and error["message"] and r.json()["request_id"] == r.headers["x-request-id"]
        assert "Traceback" not in r.text and "Error:" not in error["message"]
    good = client.post("/v1/predict", json={"texts": ["my card was stolen"]})
    assert good.status_code == 200 and good.json()["predictions"][0]["label"] in {"card", "loan", "transfer"}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_near | _json)
def test_predict_never_answers_500_and_keeps_answering(client, body):
    _check(client, "/v1/predict", _encode(body))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200) | st.builds(lambda b, cut: _encode(b)[:cut], _near, st.integers(0, 60)))
def test_predict_survives_bytes_that_are_not_json(client, body):
    _check(client, "/v1/predict", body)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_feedback | _json)
def test_feedback_never_answers_500_and_keeps_answering(client, body):
    _check(client, "/v1/feedback", _encode(body))
