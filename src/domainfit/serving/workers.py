"""`domainfit serve --workers N`: N server processes sharing one listening socket, under uvicorn's own supervisor.

Why uvicorn's multi-process mode and not gunicorn: the server is already uvicorn (the guarded h11 protocol, the
draining shutdown, `server_config`), uvicorn's `Multiprocess` binds the socket once in the parent, starts workers
with `spawn`, health-checks them (a hung or dead worker is replaced; one that fails before it serves stops the
whole server) and handles SIGTERM/SIGINT/SIGHUP/TTIN/TTOU, which is what gunicorn's arbiter would add; gunicorn would
be one more dependency and would replace the protocol and shutdown code with its own worker class. This module is
the glue: it subclasses uvicorn's `Process` (the worker runs `server.py`'s draining server with the service's protocol,
exits 0 after a graceful stop, and reports a failed start as uvicorn's STARTUP_FAILURE) and `Multiprocess`'s
retirement of a worker (`mark_process_dead`).

What reaches a worker is text, never a pickled object of a bundle: the source (a bundle folder or a `models:/` URI),
the settings as JSON, and the import path of the app factory, in the environment variable `DOMAINFIT_SERVE_WORKER`;
each worker builds its app with `worker_app` (uvicorn's app factory), reads the API keys itself (the key file, or
DOMAINFIT_API_KEYS, which it inherits), and loads the model from the bundle's files. The parent checks the source,
the keys, the port and the prediction log (creating or upgrading its schema once, so that workers never race to
migrate it) before any worker starts.

Metrics: Prometheus' multiprocess mode. A fresh temporary folder per server start (PROMETHEUS_MULTIPROC_DIR, set
before the workers start, so every worker's metrics live in files there); `/metrics` from any worker reports the sum
over all of them (`ServiceMetrics.exposed`); a worker that exits is marked dead (its live gauges drop out); the
folder is removed when the server exits. The hot swap: every worker follows the registry alias on its own (the same
`poll_seconds` loop as one process), so a promotion or a roll-back reaches each worker within `poll_seconds`;
`domainfit_model_info{pid=...}` shows the version each worker serves. Every response carries `x-worker-pid`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pickle
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from uvicorn.supervisors.multiprocess import SIGNALS, Multiprocess, Process

from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.serving.settings import ServeSettings

__all__ = ["SPEC_ENV", "WorkerPid", "run_workers", "worker_app", "worker_threads"]

log = logging.getLogger("domainfit.serve")

SPEC_ENV = "DOMAINFIT_SERVE_WORKER"
APP_PATH = "domainfit.serving.workers:worker_app"
HEALTHCHECK_S = 60.0  # a worker importing torch and loading a model on a busy machine answers pings late
STOP_MARGIN_S = 10.0  # past graceful_timeout_s, how long a stopping worker may take to exit (then it exits at once)


def worker_threads(settings: ServeSettings, cores: int) -> int:
    """Inference threads of each worker: as given, else the cores shared out, one per worker left to its event loop."""
    return settings.threads or max(1, cores // settings.workers - 1)


def _factory_spec(app_factory) -> dict | None:
    """How a worker finds the app factory: an import path, and for a `functools.partial` its arguments (as JSON: an
    application passes its config file's path, never an object). None for `create_app`."""
    if app_factory is None:
        return None
    args, kwargs = (), {}
    if isinstance(app_factory, functools.partial):
        app_factory, args, kwargs = app_factory.func, app_factory.args, app_factory.keywords
    module, name = getattr(app_factory, "__module__", None), getattr(app_factory, "__qualname__", "")
    found = getattr(sys.modules.get(module), name, None) if module and "<" not in name else None
    if found is not app_factory:
        raise ConfigError([("workers", _("the app factory {factory} cannot be imported by a worker process: with "
                                         "--workers above 1 it must be a module-level function (or a functools.partial "
                                         "of one, with JSON arguments)").format(factory=repr(app_factory)))])
    try:
        json.dumps([args, kwargs])
    except TypeError as exc:
        raise ConfigError([("workers", _("the app factory's arguments must be JSON (paths as text) to reach a worker "
                                         "process: {exc}").format(exc=exc))]) from None
    return {"path": f"{module}:{name}", "args": [*args], "kwargs": kwargs}


def _spec() -> dict:
    raw = os.environ.get(SPEC_ENV)
    if not raw:
        raise ConfigError([(SPEC_ENV, _("not set: worker_app is started by `domainfit serve --workers N`, "
                                        "not by hand"))])
    return json.loads(raw)


def worker_app():
    """uvicorn's app factory in each worker: the service's app, built from the parent's source and settings."""
    from uvicorn.importer import import_from_string

    from domainfit.serving.app import create_app
    from domainfit.serving.auth import KeyStore

    spec = _spec()
    settings = ServeSettings.model_validate_json(spec["settings"])
    factory = create_app
    if spec.get("factory"):
        found = spec["factory"]
        factory = functools.partial(import_from_string(found["path"]), *found["args"], **found["kwargs"])
    app = factory(spec["source"], settings, keys=KeyStore.from_sources(settings.api_keys_file))
    app.add_middleware(WorkerPid)
    return app


class WorkerPid:
    """Outermost ASGI middleware of a worker: every response says which worker process answered (`x-worker-pid`)."""

    def __init__(self, app) -> None:
        self.app = app
        self.header = (b"x-worker-pid", str(os.getpid()).encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_pid(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_pid)


class _Worker(Process):
    """One worker: the service's draining server, built in the worker from the spec; exit 0 after a graceful stop.

    A stop asked for at any moment is kept: before the server's own signal handlers are in place (while the worker
    builds its server) a SIGTERM is recorded and the server exits as soon as it has started, instead of the signal
    being lost and the worker serving on while the parent waits for it. Once its shutdown begins, a worker has
    `graceful_timeout_s` + STOP_MARGIN_S to be gone; past that it logs what it was doing and exits at once (a stuck
    lifespan hook or thread never holds the whole server up)."""

    _stop_asked = False

    @property
    def server(self):
        if self._server is None:
            from domainfit.serving.server import draining_server, server_config
            from domainfit.serving.telemetry import configure_logging

            configure_logging()
            settings = ServeSettings.model_validate_json(_spec()["settings"])
            config = server_config(APP_PATH, settings)
            config.factory = True  # the app is built by worker_app, in this process, when the server starts
            self._server = draining_server(config, on_stop=lambda: _exit_deadline(settings.graceful_timeout_s + STOP_MARGIN_S))
            self._server.should_exit = self._stop_asked
        return self._server

    def _ask_stop(self, *_) -> None:
        self._stop_asked = True
        if self._server is not None:
            self._server.should_exit = True

    def target(self, sockets=None) -> None:  # runs in the worker
        from uvicorn.config import STARTUP_FAILURE

        # before the server's handlers are in place, and after it re-raises the signal it stopped on: recorded
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._ask_stop)
        _stop_with_parent()
        self.server  # built before the health-check thread first asks whether it started  # noqa: B018
        if self._stop_asked:
            return  # stopped before it served: a normal exit
        super().target(sockets)
        if not self.server.started and not self._stop_asked:
            sys.exit(STARTUP_FAILURE)  # the parent stops instead of restarting a worker that cannot start

    def join(self, timeout: float | None = None) -> None:  # runs in the parent, for every worker retired
        if timeout is None:
            super().join()
        else:
            self.process.join(timeout)
            if self.process.exitcode is None:
                log.error("a worker did not stop in time; killing it", extra={"fields": {"pid": self.pid, "waited_s": timeout}})
                self.process.kill()
                self.process.join()
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if folder and self.pid is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(self.pid, folder)


def _exit_deadline(seconds: float) -> None:
    """In a worker whose shutdown has begun: if the process still runs `seconds` later, log every thread's stack
    (what held it up) and exit at once."""
    import faulthandler
    import threading

    def expire() -> None:
        log.error("the worker did not stop within its deadline; exiting now", extra={"fields": {
            "pid": os.getpid(), "deadline_s": seconds}})
        faulthandler.dump_traceback(all_threads=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def _stop_with_parent() -> None:
    """On Linux, the kernel sends this worker SIGTERM (a graceful stop) if the parent dies, even by SIGKILL: no
    orphan worker keeps the port."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call
        os.kill(os.getpid(), signal.SIGTERM)


class _Listeners:
    """Where the workers accept connections. On Linux, one listening socket per worker slot, all bound to the port
    with SO_REUSEPORT: the kernel spreads new connections evenly over them (with one shared socket, whichever worker
    wakes first accepts a whole burst of connections, and keeps them: 32 keep-alive clients all on one worker).
    Elsewhere, one socket that every worker shares. The parent holds the sockets; a replacement worker takes over
    its slot's socket, and connections waiting there are accepted by it."""

    def __init__(self, config) -> None:
        self.config = config
        self.per_worker = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
        self.sockets: list[socket.socket] = []

    def _bind(self) -> socket.socket:
        host, port = self.config.host, self.port if self.sockets else self.config.port
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host.strip("[]"), port))
            sock.listen(self.config.backlog)
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        return sock

    def for_slot(self, idx: int) -> list[socket.socket]:
        if not self.per_worker:
            if not self.sockets:
                self.sockets.append(self.config.bind_socket())
            return self.sockets
        while len(self.sockets) <= idx:
            self.sockets.append(self._bind())
        return [self.sockets[idx]]

    def retire(self, idx: int) -> None:
        """The slot's socket closed (SIGTTOU: one worker fewer); connections still waiting in it are reset."""
        if self.per_worker and idx < len(self.sockets):
            self.sockets.pop(idx).close()

    @property
    def port(self) -> int:
        return self.sockets[0].getsockname()[1]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()


class _Supervisor(Multiprocess):
    def __init__(self, config, listeners: _Listeners, *, stop_timeout: float) -> None:
        super().__init__(config, listeners.for_slot(0))
        self.listeners = listeners
        self.failed_start = False
        self.stop_timeout = stop_timeout

    def init_processes(self) -> None:
        for _unused in range(self.processes_num):
            self._start_one()

    def _worker(self, idx: int) -> _Worker:
        return _Worker(self.config, self.listeners.for_slot(idx))

    def _start_one(self) -> _Worker:
        worker = self._worker(len(self.processes))
        worker.start()
        self.processes.append(worker)
        return worker

    def _stopping(self) -> bool:
        return self.should_exit.is_set() or any(sig in self.signal_queue for sig in (signal.SIGTERM, signal.SIGINT))

    def _answers(self, worker: _Worker) -> bool:
        """uvicorn's health check (a ping the worker answers within `timeout_worker_healthcheck`), waited for in short
        steps: a SIGTERM to the server is acted on at once, not after a slow worker's full health-check timeout."""
        if not worker.process.is_alive():
            return False
        try:
            worker.parent_conn.send(b"ping")
            deadline = time.monotonic() + self.config.timeout_worker_healthcheck
            while time.monotonic() < deadline:
                if worker.parent_conn.poll(0.25):
                    worker.parent_conn.recv()
                    return True
                if self._stopping():
                    return True  # no verdict while the server stops
        except (OSError, EOFError, pickle.UnpicklingError):
            return False
        return False

    def join_all(self) -> None:
        """Every worker's exit, waited for at most its drain time and a margin (then it is killed): the server always
        stops. The workers stop together, so one deadline covers them all."""
        deadline = time.monotonic() + self.stop_timeout
        for worker in self.processes:
            worker.join(timeout=max(0.1, deadline - time.monotonic()))

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, worker in enumerate(self.processes):
            if self._stopping():
                return
            if self._answers(worker):
                continue
            worker.kill()
            worker.join()
            from uvicorn.config import STARTUP_FAILURE

            if worker.exitcode == STARTUP_FAILURE:
                log.error("a worker failed to start; stopping the server", extra={"fields": {"pid": worker.pid}})
                self.failed_start = True
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            log.warning("a worker died; starting another", extra={"fields": {"pid": worker.pid, "exitcode": worker.exitcode}})
            self.processes.remove(worker)
            replacement = self._worker(idx)
            replacement.start()
            self.processes.insert(idx, replacement)

    def restart_all(self) -> None:  # SIGHUP: uvicorn's, with this module's worker class
        for idx, old in enumerate(list(self.processes)):
            if self.should_exit.is_set():
                return
            new = self._worker(idx)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                return
            old.terminate()
            old.join(timeout=self.stop_timeout)
            self.processes[idx] = new

    def handle_ttin(self) -> None:
        self.processes_num += 1
        self._start_one()

    def handle_ttou(self) -> None:  # uvicorn's, with the bounded wait for the retired worker
        if self.processes_num <= 1:
            log.info("SIGTTOU: already one worker, which stays")
            return
        self.processes_num -= 1
        worker = self.processes.pop()
        worker.terminate()
        worker.join(timeout=self.stop_timeout)
        self.listeners.retire(len(self.processes))


def _check_source(source, settings: ServeSettings) -> str:
    """The source as text for the workers; checked here (a bad folder or URI fails once, clearly, before any worker
    starts; a registry version is downloaded here once, so that the workers do not all download it)."""
    from domainfit.bundle import load_bundle
    from domainfit.serving.models import BundleSource, RegistrySource, open_source

    if isinstance(source, RegistrySource):
        source = source.uri
    elif isinstance(source, BundleSource):
        source = str(source.path)
    elif not isinstance(source, (str, Path)):
        raise ConfigError([("workers", _("with --workers above 1 the source must be a bundle folder or a models:/ URI, "
                                         "not {kind}").format(kind=type(source).__name__))])
    opened = open_source(source, settings.registry)
    load_bundle(opened.path_for(opened.current_version()))
    return str(source)


def run_workers(source, settings: ServeSettings, *, app_factory=None) -> None:
    """Serve `source` with `settings.workers` processes on one port until SIGTERM/SIGINT (then each drains)."""
    import uvicorn

    from domainfit.backbones.encoder import available_cores
    from domainfit.serving.auth import KeyStore
    from domainfit.serving.server import check_before_bind
    from domainfit.serving.telemetry import configure_logging

    configure_logging()
    factory = _factory_spec(app_factory)
    keys = KeyStore.from_sources(settings.api_keys_file)  # a bad key file fails here, once
    check_before_bind(settings, keys)
    source = _check_source(source, settings)
    if settings.prediction_log is not None:
        from domainfit.monitor.log import PredictionLog

        PredictionLog(settings.prediction_log, texts=settings.log_texts).close()  # schema made or upgraded once
    cores = available_cores()
    settings = settings.model_copy(update={"threads": worker_threads(settings, cores)})
    if settings.workers * (settings.threads + 1) > cores:
        log.warning(f"{settings.workers} workers × ({settings.threads} inference threads + 1 event loop) is more than the "
                    f"{cores} cores here: they will compete for them", extra={"fields": {"workers": settings.workers,
                                                                                          "threads": settings.threads}})
    folder = tempfile.mkdtemp(prefix="domainfit-metrics-")
    saved = {k: os.environ.get(k) for k in (SPEC_ENV, "PROMETHEUS_MULTIPROC_DIR")}
    os.environ[SPEC_ENV] = json.dumps({"source": source, "settings": settings.model_dump_json(), "factory": factory})
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    config = uvicorn.Config(APP_PATH, factory=True, host=settings.host, port=settings.port, workers=settings.workers,
                            log_config=None, access_log=False, timeout_worker_healthcheck=HEALTHCHECK_S)
    listeners, supervisor = _Listeners(config), None
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}  # the supervisor installs its own handlers
    try:
        listeners.for_slot(0)
        log.info("serving with several workers", extra={"fields": {
            "workers": settings.workers, "threads_per_worker": settings.threads, "host": settings.host,
            "port": listeners.port, "socket_per_worker": listeners.per_worker, "metrics_dir": folder, "pid": os.getpid()}})
        supervisor = _Supervisor(config, listeners, stop_timeout=settings.graceful_timeout_s + 2 * STOP_MARGIN_S)
        supervisor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listeners.close()
        shutil.rmtree(folder, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        log.info("server stopped", extra={"fields": {"metrics_dir": folder, "metrics_dir_removed": not os.path.exists(folder)}})
    if supervisor.failed_start:
        raise ConfigError([("serve", _("a worker did not start; see the log lines above"))])
