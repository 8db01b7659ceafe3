"""`domainfit serve` as a real process: it answers over HTTP, and SIGTERM during load drains every in-flight request
(each one that reached the server gets its 200), refuses new connections, and exits with status 0. Following a
registry alias, it refuses a promoted version whose labels differ and says why in its JSON log, /metrics and /readyz.

"In flight" means the request reached the application (the server logs every such request with its id). A connection
still in the kernel's accept queue when the listening socket closes is reset by the kernel, never seen by the server;
a client sees that as a read error, which no server can turn into a response (a load balancer retries it)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port, wait_ready

SRC = str(Path(__file__).resolve().parents[2] / "src")
TEXTS = ["my card was stolen", "loan rate please", "transfer not arrived", "pin blocked today"]


def _start(source: Path | str, port: int, *extra: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    """The server's JSON log goes to a file: a pipe nobody reads would fill up and block the server. `source`: a
    bundle folder or a models:/ URI."""
    where = ["--model", source] if str(source).startswith("models:/") else [str(source)]
    cmd = [sys.executable, "-m", "domainfit.cli.main", "serve", *where, "--port", str(port), *extra]
    return subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": SRC, "DOMAINFIT_API_KEYS": "", **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"), text=True)


async def _load_until_refused(url: str, proc: subprocess.Popen, clients: int) -> dict:
    """Clients send requests (a new connection each) until the server refuses them; SIGTERM after the first 40 answers."""
    outcome = {"ok": 0, "refused": 0, "broken": [], "reset": [], "in_flight_at_term": 0}
    in_flight = 0
    terminated = asyncio.Event()
    limits = httpx.Limits(max_keepalive_connections=0)

    async def client(i: int) -> None:
        nonlocal in_flight
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
            k = 0
            while True:
                in_flight += 1
                k += 1
                rid = f"c{i}-{k}"
                try:
                    r = await http.post("/v1/predict", json={"texts": TEXTS * 8}, headers={"X-Request-ID": rid})
                except httpx.ConnectError:
                    outcome["refused"] += 1
                    return
                except (httpx.ReadError, httpx.RemoteProtocolError):
                    outcome["reset"].append(rid)  # checked against the server's log below
                    return
                except httpx.TransportError as exc:
                    outcome["broken"].append(repr(exc))
                    return
                finally:
                    in_flight -= 1
                if r.status_code != 200:
                    outcome["broken"].append(f"HTTP {r.status_code}: {r.text[:200]}")
                    return
                outcome["ok"] += 1
                if outcome["ok"] >= 40 and not terminated.is_set():
                    terminated.set()
                    outcome["in_flight_at_term"] = in_flight
                    proc.send_signal(signal.SIGTERM)

    await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(clients))), timeout=180)
    return outcome


def test_sigterm_under_load_drains_in_flight_requests_and_exits_0(tiny_bundle, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = _start(tiny_bundle, port, "--max-wait-ms", "5", log=log)
    try:
        wait_ready(proc, url, log)
        outcome = asyncio.run(_load_until_refused(url, proc, clients=12))
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = (tmp_path / "serve.log").read_text()
    assert outcome["in_flight_at_term"] > 0, "the test sent SIGTERM with nothing in flight"
    assert outcome["broken"] == [], f"requests dropped by the shutdown: {outcome['broken'][:5]}"
    assert outcome["refused"] + len(outcome["reset"]) == 12, "every client should end on a refused connection after shutdown"
    assert code == 0, f"exit status {code}; log tail: {stderr[-2000:]}"
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    handled = {e["client_request_id"]: e["status"] for e in logged if e["msg"] == "request" and e["client_request_id"]}
    assert sum(1 for s in handled.values() if s == 200) >= outcome["ok"] > 0
    assert set(handled.values()) == {200}, "a request that reached the server did not get its 200"
    dropped = [rid for rid in outcome["reset"] if rid in handled]
    assert dropped == [], f"requests that reached the server got no response: {dropped}"
    assert any("Shutting down" in e["msg"] for e in logged)


def test_serve_refuses_a_busy_port_with_a_clear_error(tiny_bundle, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _start(tiny_bundle, port, log=tmp_path / "serve.log")
        proc.wait(timeout=120)
    err = (tmp_path / "serve.log").read_text()
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err and "Traceback" not in err
    warning = next(json.loads(line) for line in err.splitlines() if line.startswith("{") and "API keys are off" in line)
    assert warning["level"] == "warning" and "DOMAINFIT_API_KEYS" in warning["msg"]


def test_serve_without_keys_refuses_a_network_address_unless_told(tiny_bundle, tmp_path):
    proc = _start(tiny_bundle, free_port(), "--host", "0.0.0.0", log=tmp_path / "serve.log")
    proc.wait(timeout=120)
    err = (tmp_path / "serve.log").read_text()
    assert proc.returncode == 2, err[-2000:]
    assert "0.0.0.0 is reachable from the network and no API key is configured" in err and "--insecure-no-auth" in err
    assert "Traceback" not in err


def test_a_killed_server_has_logged_every_prediction_it_answered(tiny_bundle, tmp_path):
    """SIGKILL (no shutdown, no flush) right after concurrent clients got their answers: every answered request is in
    the prediction log, because the log commits on the worker thread before the response leaves."""
    import sqlite3

    port, db = free_port(), tmp_path / "predictions.db"
    log = tmp_path / "serve.log"
    proc = _start(tiny_bundle, port, "--prediction-log", str(db), log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, url, log)

        async def send(i: int, http: httpx.AsyncClient) -> str | None:
            r = await http.post("/v1/predict", json={"texts": TEXTS[: 1 + i % 4]}, headers={"X-Request-ID": f"k{i}"})
            return r.json()["request_id"] if r.status_code == 200 else None

        async def burst() -> list[str]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                return [rid for rid in await asyncio.gather(*(send(i, http) for i in range(60))) if rid]

        answered = asyncio.run(burst())
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(answered) == 60
    with sqlite3.connect(db) as con:
        logged = {rid: (client, n) for rid, client, n in con.execute(
            "SELECT request_id, client_request_id, COUNT(*) FROM predictions GROUP BY request_id").fetchall()}
    assert [logged.get(rid) for rid in answered] == [(f"k{i}", 1 + i % 4) for i in range(60)]


def test_a_followed_alias_refuses_a_version_with_other_labels_and_says_why(tiny_bundle, tiny_backbone, tmp_path):
    """Serve models:/tickets@champion (v1: card, loan, transfer); promote v2, trained on the same texts with
    `transfer` renamed `payment`: the server keeps v1, logs one JSON line saying why, counts it, shows it in /readyz."""
    import domainfit
    from domainfit.model_registry import ModelRegistry
    from tests.conftest import make_rows, write_csv

    data = write_csv(tmp_path / "renamed.csv", [(t, "payment" if y == "transfer" else y) for t, y in make_rows(30, seed=2)])
    renamed = tmp_path / "renamed"
    domainfit.train({"data": {"train": str(data)}, "model": {"backbone": str(tiny_backbone), "max_length": 32},
                     "training": {"epochs": 3, "batch_size": 8, "lr": 5e-3}, "baselines": [], "output": str(renamed)})
    uri = f"sqlite:///{tmp_path}/reg/registry.db"
    cache = {"DOMAINFIT_CACHE": str(tmp_path / "cache")}
    registry = ModelRegistry(uri)
    registry.push(tiny_bundle, "tickets")
    registry.push(renamed, "tickets")
    registry.promote("tickets", 1)
    port, log = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    proc = _start("models:/tickets@champion", port, "--registry", uri, "--poll-seconds", "0.2", log=log, env=cache)
    try:
        wait_ready(proc, url, log)
        schema = httpx.get(f"{url}/openapi.json").json()
        registry.promote("tickets", 2)
        deadline = time.time() + 60
        while not (ready := httpx.get(f"{url}/readyz").json())["last_reload_error"]:
            assert time.time() < deadline, "the promotion was not noticed in 60 s"
            time.sleep(0.2)
        answer = httpx.post(f"{url}/v1/predict", json={"texts": TEXTS, "top_k": 3}).json()
        metrics = httpx.get(f"{url}/metrics").text
        after = httpx.get(f"{url}/openapi.json").json()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert ready["status"] == "ready" and ready["version"] == "1"
    assert ready["last_reload_error"] == ("version 2 has other labels than the served version 1: added ['payment'], "
                                          "removed ['transfer']; version 1 keeps serving")
    assert answer["version"] == "1" and {s["label"] for p in answer["predictions"] for s in p["top_k"]} == {"card", "loan", "transfer"}
    assert 'domainfit_reload_refused_total{reason="labels_differ"} 1.0' in metrics and "domainfit_model_swaps_total 0.0" in metrics
    assert after == schema
    assert schema["components"]["schemas"]["ClassificationPrediction"]["properties"]["label"]["enum"] == ["card", "loan", "transfer"]
    logged = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    refused = [e for e in logged if e["msg"].startswith("model reload refused")]
    assert len(refused) == 1 and refused[0]["level"] == "error" and refused[0]["reason"] == "labels_differ"
    assert (refused[0]["version"], refused[0]["served_version"], refused[0]["added"], refused[0]["removed"]) == \
           ("2", "1", ["payment"], ["transfer"])
