"""Where domainfit keeps rows that outlive a process: one engine factory over SQLAlchemy (SQLite by default, any
SQLAlchemy URL such as PostgreSQL for teams). Each feature defines its own tables with SQLAlchemy Core; a feature whose
tables change over time keeps an Alembic script folder under `store/migrations/<name>` (`store.migrate.upgrade`)."""

from domainfit.store.engine import open_engine, redact_url
from domainfit.store.migrate import upgrade

__all__ = ["open_engine", "redact_url", "upgrade"]
