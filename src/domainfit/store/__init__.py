"""Where domainfit keeps rows that outlive a process: one engine factory over SQLAlchemy (SQLite by default, any
SQLAlchemy URL such as PostgreSQL for teams). Each feature defines its own tables with SQLAlchemy Core."""

from domainfit.store.engine import open_engine, redact_url

__all__ = ["open_engine", "redact_url"]
