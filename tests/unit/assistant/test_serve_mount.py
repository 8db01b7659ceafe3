"""The assistant mounted into `domainfit serve BUNDLE --assistant assistant.yaml`: one real server process, one port,
/v1/predict and /v1/assist behind the same API keys, limits, metrics and prediction log, the chat page open; and the
one way apps open routes without a key (`PublicRoutes`, shared with the watch dashboard)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from domainfit.apps.assistant.service import serve_app_factory
from domainfit.errors import ConfigError
from domainfit.monitor.log import PredictionLog
from domainfit.serving import ServeSettings
from domainfit.serving.edge import PublicRoutes
from tests.conftest import free_port, stop_server, wait_ready
from tests.unit.assistant.conftest import write_config

SRC = str(Path(__file__).resolve().parents[3] / "src")
KEY = "dfk_" + "m" * 43


def test_public_routes_open_exact_paths_and_whole_folders_only():
    public = PublicRoutes.of("/healthz", "/chat/*") | PublicRoutes.of(["/watch", "/watch/"])
    assert all(public.admits(p) for p in ("/healthz", "/chat", "/chat/", "/chat/app.js", "/chat/i18n/zh.json", "/watch/"))
    assert not any(public.admits(p) for p in ("/chatty", "/v1/assist", "/healthz/x", "/watch/api/state", "/"))


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_with_assistant_answers_predict_and_assist_on_one_port(tiny_bundle, faq_bundle, tmp_path, workers):
    config = write_config(tmp_path, tiny_bundle, faq_bundle)
    plog = tmp_path / "served.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "domainfit.cli.main", "serve", str(tiny_bundle), "--port", str(port),
           "--assistant", str(config), "--prediction-log", str(plog), "--max-batch-size", "8", "--workers", str(workers)]
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": SRC, "DOMAINFIT_API_KEYS": KEY},
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_ready(proc, url, tmp_path / "server.log", seconds=180)
        auth = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.get("/chat/").status_code == 200 and "<html" in http.get("/chat/").text.lower()  # open
            assert http.post("/v1/assist", json={"conversation_id": "c1", "message": "hi"}).status_code == 401
            assert http.post("/v1/predict", json={"texts": ["loan"]}).status_code == 401
            predicted = http.post("/v1/predict", json={"texts": ["my card lost stolen"]}, headers=auth)
            assert predicted.status_code == 200 and predicted.json()["predictions"][0]["label"] == "card"
            said = http.post("/v1/assist", json={"conversation_id": "c1", "message": "my card lost stolen 4242"}, headers=auth)
            assert said.status_code == 200, said.text
            assert said.json()["intent"] == "card" and said.json()["source"] == "intent"
            too_long = http.post("/v1/assist", json={"conversation_id": "c1", "message": "x" * 6000}, headers=auth)
            assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "text_too_long"  # serve's max_chars
            assert http.get("/v1/handoffs", headers=auth).status_code == 200
            metrics = http.get("/metrics").text
            assert 'domainfit_assist_turns_total{source="intent"} 1.0' in metrics
            assert 'route="/v1/assist"' in metrics and 'route="/v1/predict"' in metrics
        requests = {predicted.json()["request_id"], said.json()["request_id"]}
        logged = PredictionLog(plog, create=False).predictions()
        assert requests <= set(logged["request_id"])  # both routes write serve's prediction log
    finally:
        code = stop_server(proc)
    assert code == 0, (tmp_path / "server.log").read_text()[-3000:]


def test_the_mounted_assistant_must_answer_from_the_served_bundle(tiny_bundle, faq_bundle, refuse_like_bundle, tmp_path):
    config = write_config(tmp_path, tiny_bundle, faq_bundle)
    factory = serve_app_factory(ServeSettings(assistant=config))
    with pytest.raises(ConfigError) as err:
        factory(str(refuse_like_bundle), ServeSettings(assistant=config), None)
    assert "intents.bundle" in str(err.value) and "not the served bundle" in str(err.value)
    assert serve_app_factory(ServeSettings()) is None  # without assistant: serve's own app


@pytest.fixture()
def refuse_like_bundle(tiny_bundle, tmp_path):
    """Another folder holding a copy of the intent bundle: a different served bundle."""
    import shutil

    return Path(shutil.copytree(tiny_bundle, tmp_path / "other"))
