"""One way to open a database: a file path means SQLite (WAL, a busy timeout, foreign keys on), anything with `://`
is a SQLAlchemy URL (`postgresql+psycopg://user@host:5432/db`, `sqlite:////abs/path.db`).

Written by hand: only the glue between a user's `--store` value and `sqlalchemy.create_engine`; pooling, dialects and
transactions are SQLAlchemy's. Engines are cached per target so every part of one process shares one pool.
"""

from __future__ import annotations

import threading
from pathlib import Path

from domainfit.errors import ConfigError
from domainfit.i18n import _

__all__ = ["open_engine", "redact_url"]

_ENGINES: dict[str, object] = {}
_LOCK = threading.Lock()
_SQLITE_BUSY_MS = 30_000


def _url_for(target: str | Path) -> str:
    text = str(target)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a message helper must never raise
        return "<unparseable database URL>"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    import sqlite3
    import time

    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    # Switching a fresh file to WAL needs a moment of exclusive access, and SQLite answers "database is locked" at once
    # (no busy handler) when another process is doing the same: retry until the busy timeout has passed.
    deadline = time.monotonic() + _SQLITE_BUSY_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_engine(target: str | Path):
    """A SQLAlchemy Engine for a file path (SQLite) or a database URL; the same Engine for the same target."""
    import sqlalchemy
    from sqlalchemy import event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    url = _url_for(target)
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is not None:
            return engine
        try:
            parsed = sqlalchemy.engine.make_url(url)
        except ArgumentError as e:
            raise ConfigError([("store", _("{url} is not a database URL ({error}); give a file path "
                                           "(SQLite) or e.g. postgresql+psycopg://user@host:5432/dbname").format(
                                               url=repr(redact_url(url)), error=e))]) from None
        kwargs: dict = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": _SQLITE_BUSY_MS / 1000}
        try:
            engine = sqlalchemy.create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ModuleNotFoundError) as e:
            raise ConfigError([("store", _("no driver for {url} ({error}); for PostgreSQL use "
                                           "postgresql+psycopg://… (psycopg is installed with domainfit)").format(
                                               url=repr(redact_url(url)), error=e))]) from None
        if parsed.get_backend_name() == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        _ENGINES[url] = engine
        return engine
