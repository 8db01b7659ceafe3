"""The prediction log (SQLite, read by another connection while written), `domainfit monitor` on a real bundle with
alerts to a file and to a real HTTP webhook, the corrections export, and the service's log and /v1/feedback."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import domainfit
from domainfit.cli.main import app
from domainfit.errors import DataError, DomainfitError, EmptyDataError
from domainfit.monitor.drift import DriftThresholds
from domainfit.monitor.log import PredictionLog
from domainfit.monitor.run import export_corrections, monitor, parse_when
from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore
from tests.conftest import FILLER, INTENTS, make_rows


def test_log_appends_in_one_transaction_and_redacts_texts(tmp_path):
    path = tmp_path / "log.db"
    with PredictionLog(path) as log:
        n = log.append([("r1", "tickets", "3", ["call 13812345678 please", "card"],
                         [{"label": "loans", "score": 0.9, "top_k": [1, 2]}, {"label": "cards", "score": 0.6}]),
                        ("r2", "tickets", "3", ["hello"], [{"label": None, "score": 0.2, "no_answer": True,
                                                           "answers": [{"id": "faq-7", "answer": "...", "score": 0.2}]}])], ts=100.0)
        assert n == 3
        other = sqlite3.connect(path)  # another reader (the monitor process) sees committed rows at once
        assert other.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 3
        rows = log.predictions()
        assert rows["text"].tolist() == ["call [PHONE] please", "card", "hello"] and rows["length"].tolist() == [23, 4, 5]
        assert rows["output"][0] == {"label": "loans", "score": 0.9} and rows["output"][2]["top"] == "faq-7"
        assert log.add_feedback("r1", 1, "transfers", source="crm") and not log.add_feedback("nope", 0, "cards")
        assert log.add_feedback("r1", 1, "loans")  # a later correction replaces the earlier one
        fixes = log.corrections()
        assert fixes[["text", "label", "predicted", "source"]].values.tolist() == [["card", "loans", "cards", None]]
        assert log.predictions(since=101.0).empty and len(log.predictions(limit=1)) == 1
    with PredictionLog(tmp_path / "none.db", texts="none") as log:
        log.append([("r", "m", "1", ["secret text"], [{"label": "a", "score": 1.0}])])
        assert log.predictions()["text"].isna().all()
    with pytest.raises(DataError, match="no prediction log"):
        PredictionLog(tmp_path / "missing.db", create=False)


def test_parse_when():
    assert parse_when("24h", now=100_000.0) == 100_000.0 - 86400 and parse_when("30m", now=0.0) == -1800.0
    assert parse_when(None) is None and parse_when("1700000000") == 1_700_000_000.0
    assert parse_when("2026-11-01T08:00") == datetime(2026, 11, 1, 8, 0).timestamp()  # local time, as a naive datetime
    with pytest.raises(DataError, match="cannot read the time"):
        parse_when("yesterday-ish")


def _log_predictions(bundle, path, texts, *, ts=1000.0):
    model = domainfit.load(bundle)
    preds = model.predict(texts)
    with PredictionLog(path) as log:
        for i in range(0, len(texts), 16):
            log.append([(f"req-{ts}-{i}", "tickets", "1", texts[i:i + 16], preds[i:i + 16])], ts=ts + i)
    return preds


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (the http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()


def test_monitor_quiet_traffic_then_a_shift_alerts_a_webhook(tiny_bundle, tmp_path, webhook):
    url, received = webhook
    t = DriftThresholds(min_rows=100)
    same = [text for text, _ in make_rows(60, seed=11)]  # the training distribution: three intents, mixed
    quiet = tmp_path / "quiet.db"
    _log_predictions(tiny_bundle, quiet, same)
    report = monitor(tiny_bundle, quiet, thresholds=t, out_dir=tmp_path / "q", alerts=[f"webhook:{url}"])
    assert report["status"] == "ok", report["checks"]
    # out_of_scope: the share the bundle's out-of-scope detector flags (every classification bundle has one)
    assert {c["name"] for c in report["checks"]} == {"labels", "confidence", "length", "input", "out_of_scope"}
    assert received == [] and (tmp_path / "q" / "drift.html").is_file()

    words = INTENTS["card"]  # live traffic is now almost only about cards, and longer
    shifted = [" ".join([words[i % len(words)], words[(i + 1) % len(words)], *FILLER[: 6 + i % 5], "again and again"]) for i in range(180)]
    moved = tmp_path / "moved.db"
    _log_predictions(tiny_bundle, moved, shifted)
    alerts_file = tmp_path / "alerts.jsonl"
    report = monitor(tiny_bundle, moved, thresholds=t, out_dir=tmp_path / "m",
                     alerts=[f"webhook:{url}", f"file:{alerts_file}", "webhook:http://127.0.0.1:9/dead"])
    checks = {c["name"]: c for c in report["checks"]}
    assert report["status"] == "alert" and checks["labels"]["status"] == "alert" and checks["length"]["status"] == "alert"
    assert [a["sent"] for a in report["alerts"]] == [True, True, False]  # a dead webhook does not stop the others
    (posted,) = received
    assert posted["status"] == "alert" and "labels" in posted["text"] and posted["report"].endswith("drift.html")
    assert json.loads(alerts_file.read_text())["status"] == "alert"
    html = (tmp_path / "m" / "drift.html").read_text(encoding="utf-8")
    assert "<svg" in html and "labels whose share moved most" in html and "drift (alert)" in html
    saved = json.loads((tmp_path / "m" / "drift.json").read_text())
    assert saved["live"]["n"] == 180 and saved["alerts"][2]["sent"] is False


def test_monitor_errors_say_what_to_do(tiny_bundle, tmp_path):
    path = tmp_path / "log.db"
    _log_predictions(tiny_bundle, path, ["card lost"], ts=10.0)
    with pytest.raises(EmptyDataError, match="no logged prediction in the window"):
        monitor(tiny_bundle, path, since=11.0, out_dir=tmp_path / "o")
    with pytest.raises(DomainfitError, match="Did you mean 'webhook'"):
        monitor(tiny_bundle, path, alerts=["webhok:http://x"], out_dir=tmp_path / "o")
    with pytest.raises(DataError, match="no prediction log"):
        monitor(tiny_bundle, tmp_path / "absent.db")


def test_cli_monitor_strict_exit_and_feedback_export(tiny_bundle, tmp_path):
    path = tmp_path / "log.db"
    _log_predictions(tiny_bundle, path, [text for text, _ in make_rows(10, seed=5)])
    runner = CliRunner()
    result = runner.invoke(app, ["monitor", str(tiny_bundle), "--log", str(path), "-o", str(tmp_path / "r"), "--strict"])
    assert result.exit_code == 0, result.output  # 30 rows: below --min-rows, nothing judged
    assert "insufficient" in result.output and (tmp_path / "r" / "drift.html").is_file()

    with PredictionLog(path) as log:
        first = log.predictions().iloc[0]
        log.add_feedback(first["request_id"], int(first["item"]), "transfer", source="reviewer")
    done = export_corrections(path, tmp_path / "fix.csv")
    table = pd.read_csv(tmp_path / "fix.csv", encoding="utf-8-sig")
    assert done["written"] == 1 and table.loc[0, "label"] == "transfer" and table.loc[0, "text"] == first["text"]
    result = runner.invoke(app, ["feedback", "export", "--log", str(path), "-o", str(tmp_path / "fix2.csv")])
    assert result.exit_code == 0 and "1 corrections written" in result.output


def test_service_logs_each_prediction_before_answering_and_takes_corrections(tiny_bundle, tmp_path):
    path = tmp_path / "served.db"
    settings = ServeSettings(prediction_log=path, log_texts="redacted")
    with TestClient(create_app(tiny_bundle, settings, keys=KeyStore([]))) as c:
        r = c.post("/v1/predict", json={"texts": ["card stolen, call 13812345678", "loan rate"]}, headers={"X-Request-ID": "abc"})
        assert r.status_code == 200
        rows = PredictionLog(path, create=False).predictions()  # written before the response came back
        rid = r.json()["request_id"]  # the server's own id; the client's X-Request-ID is kept beside it
        assert rows["request_id"].tolist() == [rid, rid] and rows["client_request_id"].tolist() == ["abc", "abc"]
        assert rows["item"].tolist() == [0, 1]
        assert rows["text"][0] == "card stolen, call [PHONE]" and rows["label"].tolist() == [p["label"] for p in r.json()["predictions"]]
        ok = c.post("/v1/feedback", json={"request_id": rid, "item": 1, "label": "loan"})
        assert ok.status_code == 200 and ok.json()["status"] == "recorded"
        bad = c.post("/v1/feedback", json={"request_id": rid, "label": "mortgage"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_label" and "labels" in bad.json()["error"]["message"]
        unknown = c.post("/v1/feedback", json={"request_id": "zzz", "label": "loan"})
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_prediction"
        metrics = c.get("/metrics").text
        assert "domainfit_logged_predictions_total 2.0" in metrics and "domainfit_feedback_total 1.0" in metrics
    assert PredictionLog(path, create=False).corrections()["label"].tolist() == ["loan"]
    with TestClient(create_app(tiny_bundle, ServeSettings(), keys=KeyStore([]))) as c:
        r = c.post("/v1/feedback", json={"request_id": "abc", "label": "loan"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "no_prediction_log"
