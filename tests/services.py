"""Real services for the tests that need one: headless Chromium (Playwright), PostgreSQL, Redis and an SMTP server.

Each is started for real on loopback (a temporary data folder, a free port) and stopped at the end of the session.
Where the program is not installed the test is skipped with a message saying what to install; `make test` (and so
`.ci/run`) installs them first through tools/ci_services.sh, so in CI nothing is skipped.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["chromium_page", "chromium_browser", "postgres_server", "postgres_url", "redis_server", "redis_url",
           "smtp_server"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# Without these Chromium tries to reach Google's hosts at every start, and this machine's closed network refuses them.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
_INSTALL_HINT = "run tools/ci_services.sh as root (apt-get install chromium redis-server postgresql), or `make test`"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen | None, what: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


# --- headless Chromium through Playwright --------------------------------------------------------------------------

@pytest.fixture()
def chromium_browser():
    """A headless Debian Chromium driven by Playwright (no browser download: Debian's binary). One per test, not per
    session: Playwright's sync API keeps an event loop running in the main thread until it stops, and every later
    `asyncio.run` in the session would fail."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: {_INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    manager = sync_playwright().start()
    browser = manager.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        manager.stop()


@pytest.fixture()
def chromium_page(chromium_browser):
    """A fresh page (its own context: no cookies or storage shared between tests)."""
    context = chromium_browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


# --- PostgreSQL ----------------------------------------------------------------------------------------------------

@dataclass
class PostgresServer:
    port: int
    user: str = "postgres"
    _names: itertools.count = field(default_factory=itertools.count)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new, empty database on this server; its SQLAlchemy URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server: initdb in a temporary folder, a free port, trust auth on loopback only."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL is not installed ({PG_BIN}/initdb): {_INSTALL_HINT}")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install -e '.[dev]'")
    folder = Path(tempfile.mkdtemp(prefix="domainfit-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_postgres_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                      "-E", "UTF8", "--locale=C"]), check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    subprocess.run(_as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                      str(folder / "server.log"), "-w", "-t", "60", "start"]),
                   check=True, capture_output=True)
    try:
        _wait_for_port(port, None, "PostgreSQL")
        yield PostgresServer(port)
    finally:
        subprocess.run(_as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def postgres_url(postgres_server) -> str:
    """The SQLAlchemy URL of a fresh database on the session's real PostgreSQL server."""
    return postgres_server.fresh_database()


# --- Redis ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_server():
    """A real redis-server on a free port, no persistence; yields its port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(f"redis-server is not installed: {_INSTALL_HINT}")
    folder = Path(tempfile.mkdtemp(prefix="domainfit-redis-"))
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, proc, "redis-server")
        yield port
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def redis_url(redis_server) -> str:
    """redis://… of the session's real server, emptied for this test."""
    import redis

    url = f"redis://127.0.0.1:{redis_server}/0"
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    return url


# --- SMTP ----------------------------------------------------------------------------------------------------------

@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list = field(default_factory=list)


@pytest.fixture()
def smtp_server():
    """A real SMTP server (aiosmtpd) on loopback; every message it receives lands, parsed, in `.messages`."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        pytest.skip("aiosmtpd is not installed: pip install -e '.[dev]'")

    server = SmtpServer("127.0.0.1", _free_port())

    class Collect:
        async def handle_DATA(self, _server, _session, envelope):
            server.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    controller = Controller(Collect(), hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
