"""`domainfit serve --workers 2` as a real process tree: both workers answer on one port, /metrics sums them, a
registry promotion reaches both, the prediction log they both write loses and duplicates nothing, and SIGTERM stops
the parent and every worker (exit 0) and removes the Prometheus multiprocess folder. Bad values fail before any
worker starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from domainfit.cli.main import app
from domainfit.errors import ConfigError
from tests.conftest import free_port, stop_server, wait_ready

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _metric_lines(url: str, name: str) -> list[tuple[str, float]]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return [(line.split(" ")[0], float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
            if line.startswith((name + "{", name + " "))]


def _total(url: str, name: str, *, having: str = "") -> float:
    return sum(v for series, v in _metric_lines(url, name) if having in series)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_workers_share_a_port_sum_metrics_swap_together_log_once_and_stop_cleanly(tiny_bundle, tmp_path):
    from domainfit.model_registry import ModelRegistry
    from domainfit.monitor.log import PredictionLog

    uri = f"sqlite:///{tmp_path}/registry.db"
    env = {**os.environ, "PYTHONPATH": SRC, "DOMAINFIT_API_KEYS": "", "OMP_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false", "DOMAINFIT_CACHE": str(tmp_path / "cache")}
    registry = ModelRegistry(uri)
    registry.push(tiny_bundle, "tickets")
    registry.push(tiny_bundle, "tickets")  # version 2: same task and labels, so the hot swap takes it
    registry.promote("tickets", 1)
    db, log = tmp_path / "log.db", tmp_path / "serve.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "w") as err:  # a file: a pipe nobody reads would fill up and block the server
        proc = subprocess.Popen([sys.executable, "-m", "domainfit.cli.main", "serve", "--model", "models:/tickets@champion",
                                 "--registry", uri, "--port", str(port), "--workers", "2", "--threads", "1",
                                 "--poll-seconds", "0.5", "--prediction-log", str(db), "--log-texts", "raw"],
                                env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_ready(proc, url, log)
        started = next(json.loads(line) for line in log.read_text().splitlines()
                       if line.startswith("{") and "serving with several workers" in line)
        folder = Path(started["metrics_dir"])
        assert folder.is_dir() and started["workers"] == 2

        def call(i: int) -> tuple[int, str, list[str]]:
            texts = [f"card lost {i} {j}" for j in range(1 + i % 3)]
            r = httpx.post(f"{url}/v1/predict", json={"texts": texts}, headers={"X-Request-ID": f"client-{i}"},
                           timeout=60)  # a new connection each: the kernel hands each to whichever worker accepts
            assert r.status_code == 200, r.text
            return int(r.headers["x-worker-pid"]), r.json()["request_id"], texts

        assert started["socket_per_worker"] is True  # Linux: one SO_REUSEPORT socket per worker
        # keep-alive clients that connect at once are spread over the workers by the kernel (with one shared socket,
        # the worker that woke first took the whole burst: 32 benchmark clients on one worker)
        with ThreadPoolExecutor(16) as pool:
            clients = [httpx.Client(base_url=url, timeout=30) for _ in range(16)]
            try:
                first = list(pool.map(lambda c: int(c.get("/readyz").headers["x-worker-pid"]), clients))
                again = list(pool.map(lambda c: int(c.get("/readyz").headers["x-worker-pid"]), clients))
            finally:
                for c in clients:
                    c.close()
        assert len(set(first)) == 2 and first == again, first  # both workers; each connection stays with its worker

        answered, sent = [], 0
        with ThreadPoolExecutor(8) as pool:
            while sent < 800 and (sent == 0 or len({pid for pid, _, _ in answered}) < 2):
                answered += pool.map(call, range(sent, sent + 80))
                sent += 80
        pids = {pid for pid, _, _ in answered}
        assert len(pids) == 2 and proc.pid not in pids, f"one worker answered all {sent} requests"

        n_texts = sum(len(t) for _, _, t in answered)
        assert _total(url, "domainfit_texts_total") == n_texts  # both workers' counts, whichever worker answers
        assert _total(url, "domainfit_requests_total", having='route="/v1/predict"') == sent
        info = _metric_lines(url, "domainfit_model_info")
        assert {s for s, v in info if v == 1 and 'version="1"' in s} == \
               {s for s, v in info if v == 1}, info  # both serve version 1
        assert {pid for pid in pids if any(f'pid="{pid}"' in s and 'version="1"' in s for s, v in info if v == 1)} == pids

        registry.promote("tickets", 2)  # the hot swap: every worker follows the alias on its own
        versions: dict[int, str] = {}
        deadline = time.time() + 90
        while time.time() < deadline and (set(versions) != pids or set(versions.values()) != {"2"}):
            r = httpx.get(f"{url}/readyz", timeout=10)
            versions[int(r.headers["x-worker-pid"])] = r.json()["version"]
            time.sleep(0.05)
        assert versions == {pid: "2" for pid in pids}, versions
        assert _total(url, "domainfit_model_swaps_total") == 2
        serving = {s for s, v in _metric_lines(url, "domainfit_model_info") if v == 1}
        assert len(serving) == 2 and all('version="2"' in s for s in serving), serving

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:  # a failed assertion above: stop the tree gracefully, then for good
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert not any(_alive(pid) for pid in pids), "a worker outlived the server"
    assert not folder.exists(), "the multiprocess metrics folder was left behind"

    rows = PredictionLog(db, create=False).predictions()
    expected = {(rid, item, text) for _, rid, texts in answered for item, text in enumerate(texts)}
    logged = list(zip(rows["request_id"], rows["item"].astype(int), rows["text"]))
    assert len(logged) == len(expected) == n_texts  # nothing lost, nothing written twice
    assert set(logged) == expected and rows["id"].is_unique
    assert set(rows["client_request_id"]) == {f"client-{i}" for i in range(sent)}


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "workers: Input should be greater than or equal to 1"),
    (["--workers", "65"], "workers: Input should be less than or equal to 64"),
])
def test_bad_worker_counts_are_clear_errors(tiny_bundle, args, message):
    result = CliRunner().invoke(app, ["serve", str(tiny_bundle), "--port", str(free_port()), *args])
    assert isinstance(result.exception, ConfigError), result.output  # the CLI's entry point prints it, exit status 2
    assert message in str(result.exception)


def test_several_workers_check_the_source_and_the_factory_before_any_worker_starts(tmp_path):
    from domainfit.errors import BundleError
    from domainfit.serving import ServeSettings
    from domainfit.serving.workers import run_workers

    settings = ServeSettings(workers=2, port=free_port())
    with pytest.raises(ConfigError, match="must be a module-level function"):
        run_workers(tmp_path, settings, app_factory=lambda source, settings, keys: None)
    with pytest.raises(BundleError, match="is not a domainfit bundle"):
        run_workers(tmp_path, settings)


def test_an_app_factory_reaches_the_workers_as_an_import_path_and_json_arguments():
    import functools

    from domainfit.serving.app import create_app
    from domainfit.serving.workers import _factory_spec

    assert _factory_spec(None) is None
    spec = _factory_spec(functools.partial(create_app, open_prefixes=["/chat/"]))
    assert spec == {"path": "domainfit.serving.app:create_app", "args": [], "kwargs": {"open_prefixes": ["/chat/"]}}
    with pytest.raises(ConfigError, match="arguments must be JSON"):
        _factory_spec(functools.partial(create_app, open_prefixes=object()))


_STUCK_SERVER = """
import sys
sys.path[:0] = [{src!r}, {root!r}]
from domainfit.serving import ServeSettings
from domainfit.serving.workers import run_workers
from tests.integration.stuck_app import stuck_on_shutdown
run_workers({bundle!r}, ServeSettings(workers=2, threads=1, port={port}, graceful_timeout_s=1), app_factory=stuck_on_shutdown)
"""


def test_a_worker_stuck_in_its_shutdown_is_ended_and_the_server_still_stops(tiny_bundle, tmp_path):
    """A worker whose clean-up hangs exits by itself once its deadline (drain time + a margin) passes, saying so and
    dumping its threads' stacks; the parent's wait is bounded too: SIGTERM always stops the server."""
    port, log = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    script = _STUCK_SERVER.format(src=SRC, root=str(Path(SRC).parent), bundle=str(tiny_bundle), port=port)
    env = {**os.environ, "DOMAINFIT_API_KEYS": "", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_ready(proc, url, log)
        pids = {int(httpx.get(f"{url}/readyz", timeout=10).headers["x-worker-pid"]) for _ in range(20)}
        proc.send_signal(signal.SIGTERM)
        stop_server(proc, seconds=45)  # the worker's own deadline is 1 + 10 s; the parent's, 1 + 20 s
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "the worker did not stop within its deadline; exiting now" in text, text[-3000:]
    assert "Thread 0x" in text and "lifespan" in text  # faulthandler's dump: where each thread was
    assert not any(_alive(pid) for pid in pids), "a worker outlived the server"


def test_a_stop_asked_before_the_worker_has_its_server_is_kept(monkeypatch):
    """SIGTERM reaching a worker before uvicorn's own handlers are in place is recorded, not lost: the server is
    built already told to exit (before the fix, the signal was ignored and the worker served on)."""
    import uvicorn

    from domainfit.serving import ServeSettings
    from domainfit.serving.workers import SPEC_ENV, _Worker

    monkeypatch.setenv(SPEC_ENV, json.dumps({"source": "x", "settings": ServeSettings().model_dump_json()}))
    monkeypatch.setattr("domainfit.serving.telemetry.configure_logging", lambda *_: None)  # the test's own logging stays
    config = uvicorn.Config("domainfit.serving.workers:worker_app", factory=True)
    early, late = _Worker(config, []), _Worker(config, [])
    early._ask_stop(signal.SIGTERM, None)
    assert early.server.should_exit is True
    assert late.server.should_exit is False
    late._ask_stop(signal.SIGTERM, None)
    assert late.server.should_exit is True
