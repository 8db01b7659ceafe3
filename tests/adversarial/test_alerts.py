"""A drift alert is delivered or reported as not delivered, never "sent" by mistake, and the webhook's secrets never
leave the sink: a real HTTP server on a free local port answers each way a hook can (a redirect, a 500 then a 200,
a refusal, silence).

Each test is the reproduction of a finding of the adversarial review (issue 7), kept after the fix.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

import domainfit
from domainfit.cli.main import app
from domainfit.monitor.alerts import WebhookPolicy, parse_sink, redact_url, send_alert
from domainfit.monitor.log import PredictionLog
from tests.conftest import FILLER, INTENTS

TOKEN, PASSWORD = "s3cr3t-t0ken-value", "pa55w0rd"
FAST = WebhookPolicy(timeout=0.5, attempts=3, backoff=0.01)


class _Hook(BaseHTTPRequestHandler):
    """/redirect answers 302 to /target; /flaky 500 once, then 204; /refuse 404; /silent never answers; else 204."""

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.hits.append((self.command, self.path, self.rfile.read(length) if length else b""))

    def _answer(self) -> None:
        self._record()
        path = self.path.split("?")[0]
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"/target?token={TOKEN}")
        elif path == "/flaky" and sum(p.startswith("/flaky") for _, p, _ in self.server.hits) == 1:
            self.send_response(500)
        elif path == "/refuse":
            self.send_response(404)
        elif path == "/silent":
            self.server.release.wait(10)  # holds the connection without a word
            return
        else:
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET = _answer  # noqa: N815 (the http.server API)

    def log_message(self, *args):
        pass


@pytest.fixture()
def hook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.hits, server.release = [], threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}", server
    server.release.set()
    server.shutdown()
    server.server_close()


def _send(url: str, policy: WebhookPolicy = FAST) -> dict:
    from domainfit.monitor.alerts import SINKS

    (result,) = send_alert([SINKS.get("webhook")(url, policy)], "drift alert", {"status": "alert"})
    return result


def test_a_redirect_is_a_failed_delivery_and_its_target_gets_nothing(hook):
    """Before: urlopen followed the 302, the POST became a GET to /target, and the monitor printed "sent"."""
    host, server = hook
    result = _send(f"http://{host}/redirect?token={TOKEN}")
    assert result["sent"] is False and "302" in result["error"] and "redirect" in result["error"]
    assert [(m, p.split("?")[0]) for m, p, _ in server.hits] == [("POST", "/redirect")]  # tried once, never followed
    assert TOKEN not in json.dumps(result)


def test_a_500_then_a_200_is_retried_and_delivered(hook):
    host, server = hook
    result = _send(f"http://{host}/flaky")
    assert result["sent"] is True and result["attempts"] == 2 and result["status_code"] == 204
    assert [m for m, _, _ in server.hits] == ["POST", "POST"] and server.hits[0][2] == server.hits[1][2]
    assert json.loads(server.hits[1][2])["text"] == "drift alert"


def test_a_refusal_is_not_retried_and_a_dead_port_is_retried_then_reported(hook):
    host, server = hook
    refused = _send(f"http://{host}/refuse")
    assert refused["sent"] is False and "404" in refused["error"] and refused["attempts"] == 1 and len(server.hits) == 1
    dead = _send("http://127.0.0.1:9/dead")
    assert dead["sent"] is False and dead["attempts"] == 3 and "3 attempts" in dead["error"]


def test_a_server_that_never_answers_hits_the_timeout(hook):
    host, server = hook
    t = time.perf_counter()
    result = _send(f"http://{host}/silent", WebhookPolicy(timeout=0.3, attempts=2, backoff=0.01))
    elapsed = time.perf_counter() - t
    assert result["sent"] is False and "no answer within 0.3 s" in result["error"] and result["attempts"] == 2
    assert elapsed < 3  # two attempts of 0.3 s, not the server's 10 s hold
    assert len(server.hits) == 2


def test_redact_url_keeps_where_and_drops_the_secrets():
    assert redact_url(f"https://user:{PASSWORD}@hooks.example.com:8443/x/y?token={TOKEN}#frag") == \
        "https://…@hooks.example.com:8443/x/y?…#…"
    slack = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"
    assert redact_url(slack) == "https://hooks.slack.com/services/T0000/B0000/…"
    assert redact_url("http://127.0.0.1:8000/hook") == "http://127.0.0.1:8000/hook"
    assert redact_url("not a url") == "…"
    assert parse_sink(f"webhook:https://h.example/x?key={TOKEN}").shown == "webhook:https://h.example/x?…"


def _shifted_log(bundle, path):
    """A window that alerts: live traffic almost only about cards, and longer than the test split."""
    words = INTENTS["card"]
    texts = [" ".join([words[i % len(words)], words[(i + 1) % len(words)], *FILLER[: 6 + i % 5], "again and again"])
             for i in range(180)]
    preds = domainfit.load(bundle).predict(texts)
    with PredictionLog(path) as log:
        for i in range(0, len(texts), 16):
            log.append([(f"req-{i}", "tickets", "1", texts[i:i + 16], preds[i:i + 16])], ts=1000.0 + i)


def test_credentials_and_query_never_reach_stdout_logs_or_drift_json(hook, tiny_bundle, tmp_path, caplog):
    """Before: drift.json stored `webhook:https://...?token=...` and the terminal printed it."""
    host, server = hook
    _shifted_log(tiny_bundle, tmp_path / "log.db")
    caplog.set_level(logging.DEBUG)  # httpx logs each request's URL at INFO: it must come out redacted
    urls = [f"http://hook:{PASSWORD}@{host}/redirect?token={TOKEN}", f"http://{host}/flaky?token={TOKEN}"]
    args = ["monitor", str(tiny_bundle), "--log", str(tmp_path / "log.db"), "-o", str(tmp_path / "m"), "--min-rows", "100",
            "--alert-on", "warn", *[a for u in urls for a in ("--alert", f"webhook:{u}")]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = (tmp_path / "m" / "drift.json").read_text(encoding="utf-8")
    for text in (result.output, saved, caplog.text):
        assert TOKEN not in text and PASSWORD not in text
    alerts = json.loads(saved)["alerts"]
    assert [a["sink"] for a in alerts] == [f"webhook:http://…@{host}/redirect?…", f"webhook:http://{host}/flaky?…"]
    assert [a["sent"] for a in alerts] == [False, True] and alerts[1]["attempts"] == 2
    assert f"webhook:http://…@{host}/redirect?…: failed" in result.output and "sent after 2 attempts" in result.output
    assert "HTTP Request: POST" in caplog.text  # the log line is there, its URL redacted
    assert [p.split("?")[0] for _, p, _ in server.hits if p.startswith("/target")] == []
