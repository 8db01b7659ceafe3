"""Versioned schemas: each component that keeps tables (the prediction log, …) has its own Alembic script folder under
`store/migrations/<name>` and its own version table (`domainfit_<name>_version`), so several components share one
database without sharing one revision history.

`upgrade` runs a component's migrations to head in one transaction, holding a lock so that two processes opening the
same fresh database at once do not both create the tables: PostgreSQL's transaction-scoped advisory lock, SQLite's
`BEGIN IMMEDIATE` (the write lock). A database written before Alembic (the prediction log's schema 1 and 2 SQLite
files) is first stamped at the revision its tables already match (`legacy`), then upgraded like any other.

Glue only: Alembic does the DDL, version bookkeeping and revision order.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from domainfit.errors import DataError
from domainfit.i18n import _

__all__ = ["current_revision", "head_revision", "upgrade", "version_table"]

_HERE = Path(__file__).resolve().parent / "migrations"

Legacy = Callable[[sa.Connection], "str | None"]  # the revision an unversioned database already matches, or None


def version_table(name: str) -> str:
    return f"domainfit_{name}_version"


def _config(name: str, connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / name))
    cfg.set_main_option("version_table", version_table(name))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision(name: str) -> str:
    head = ScriptDirectory.from_config(_config(name)).get_current_head()
    assert head is not None, f"no migrations under {_HERE / name}"
    return head


def current_revision(connection: sa.Connection, name: str) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": version_table(name)})
    return context.get_current_revision()


def upgrade(engine: sa.Engine, name: str, *, legacy: Legacy | None = None) -> str:
    """Bring component `name`'s tables to the newest revision; returns it. Cheap when already there (one query)."""
    head = head_revision(name)
    with engine.connect() as probe:
        if current_revision(probe, name) == head:
            return head
    with engine.connect() as connection:
        _lock(connection, name)
        current = current_revision(connection, name)  # again, under the lock: another process may have just done it
        if current != head:
            cfg = _config(name, connection)
            stamped = legacy(connection) if current is None and legacy is not None else None
            try:
                if stamped is not None:
                    command.stamp(cfg, stamped)
                command.upgrade(cfg, "head")
            except CommandError as exc:  # a revision this version does not know: written by a newer domainfit
                raise DataError(_("the {name} tables are at revision {revision}, unknown to this domainfit "
                                  "({exc})").format(
                                    name=name, revision=repr(current), exc=exc),
                                where=engine.url.render_as_string(hide_password=True),
                                hint=_("upgrade domainfit, or use a new database")) from None
        connection.commit()
    return head


def _lock(connection: sa.Connection, name: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(version_table(name).encode())})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
