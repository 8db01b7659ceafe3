"""The prediction log: every served prediction and every correction, in one database: a SQLite file by default, or
any SQLAlchemy URL (postgresql+psycopg://user@host/db) that several servers share.

The tables are SQLAlchemy Core; their schema is versioned with Alembic (`store/migrations/log`), and a SQLite file
written before that (schema 1 or 2, with its `meta` row) is stamped at its version and upgraded when opened.

The server appends (one transaction per model call, committed before the answers leave, so a crashed or killed server
loses no prediction it answered), while `domainfit monitor` and `domainfit feedback` read from other processes at the
same time. SQLite runs in WAL mode with a busy timeout, so two server processes on one machine can share a file;
servers on several machines share a PostgreSQL database. Rows get their id from the database (an autoincrement key),
so concurrent writers neither collide nor duplicate.

Each prediction's key is the server's own request id (`request_id`, random, unique): the client's `X-Request-ID`
is kept beside it (`client_request_id`) and may repeat without merging requests. Which API key made a prediction and
which one corrected it are kept as key ids (`name#fingerprint`, never the key or its hash).

What is stored of each text is a choice (`texts`): `redacted` (the default: personal data replaced by
placeholders, every kind, whatever the model's own `data.redact`), `raw`, or `none` (only its length; drift is then
measured on labels, confidence and lengths, and corrections cannot become training rows).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from domainfit.data.pii import Redactor
from domainfit.errors import DataError
from domainfit.i18n import _
from domainfit.store import open_engine, redact_url, upgrade

__all__ = ["TEXT_POLICIES", "PredictionLog", "compact_output", "is_url"]

SCHEMA_VERSION = "2"  # 2: client_request_id, key_id; kept in `meta` beside Alembic's revision, for older readers
TEXT_POLICIES = ("redacted", "raw", "none")
TextPolicy = Literal["redacted", "raw", "none"]
_REVISIONS = {"1": "log_0001", "2": "log_0002"}  # a pre-Alembic file's meta.schema -> the revision its tables match

# The tables as the newest migration leaves them (store/migrations/log/versions): what the queries below use.
_meta = sa.MetaData()
predictions_table = sa.Table(
    "predictions", _meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False),          # unix seconds
    sa.Column("request_id", sa.Text),                   # the server's id of the request (the response's request_id)
    sa.Column("item", sa.Integer, nullable=False),      # the text's index in its request
    sa.Column("model", sa.Text),
    sa.Column("version", sa.Text),
    sa.Column("length", sa.Integer, nullable=False),    # characters of the text as received
    sa.Column("text", sa.Text),                         # per the log's text policy (NULL with "none")
    sa.Column("label", sa.Text),                        # the predicted label (NULL: none, e.g. retrieval's no-answer)
    sa.Column("score", sa.Float),                       # its score (regression: the value)
    sa.Column("output", sa.Text, nullable=False),       # the prediction as JSON, without the long ranked lists
    sa.Column("client_request_id", sa.Text),            # the client's X-Request-ID, as sent (not unique)
    sa.Column("key_id", sa.Text),                       # the API key that asked (its id, never the key)
)
feedback_table = sa.Table(
    "feedback", _meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("request_id", sa.Text, nullable=False),
    sa.Column("item", sa.Integer, nullable=False),
    sa.Column("label", sa.Text, nullable=False),        # the correct label, as a person said
    sa.Column("source", sa.Text),                       # who or what said it (an API key's name, a reviewer)
    sa.Column("key_id", sa.Text),                       # the API key that sent the correction (its id, never the key)
    sa.UniqueConstraint("request_id", "item"),
)
meta_table = sa.Table("meta", _meta, sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text, nullable=False))

_DROPPED = ("top_k", "scores", "answers", "answer")  # long, or recomputable: not kept in the log


def compact_output(prediction: dict) -> dict:
    """What the log keeps of a prediction: its label(s), score, entities, no-answer flag; for retrieval also the best
    answer id when it was refused (`top`), so the answer mix can be compared with the reference."""
    kept = {k: v for k, v in prediction.items() if k not in _DROPPED}
    ranked = prediction.get("answers")
    if ranked:
        kept["top"] = ranked[0]["id"]
    return kept


def is_url(target: str | os.PathLike) -> bool:
    """A SQLAlchemy URL (postgresql+psycopg://…, sqlite:///…) rather than a file path."""
    return "://" in str(target)


class PredictionLog:
    """Append predictions and corrections; read them back as tables. Safe to share between threads and processes.

    `target`: a file path (SQLite) or a SQLAlchemy URL. `create=False`: a reader; the log must exist already."""

    def __init__(self, target: str | os.PathLike, *, texts: TextPolicy = "redacted", create: bool = True) -> None:
        if texts not in TEXT_POLICIES:
            raise DataError(_("unknown text policy {policy}").format(policy=repr(texts)), where="log_texts",
                            hint=_("use one of {policies}").format(policies=", ".join(TEXT_POLICIES)))
        self.path = None if is_url(target) else Path(target)
        if not create and self.path is not None and not self.path.is_file():
            raise DataError(_("no prediction log at {path}").format(path=self.path.resolve()), where=str(target),
                            hint=_("serve with --prediction-log FILE (or prediction_log: in the settings) "
                                   "to write one"))
        self.where = redact_url(str(target)) if self.path is None else str(target)  # no password in messages
        try:
            self._engine = open_engine(target)
            if not create and not sa.inspect(self._engine).has_table("predictions"):
                raise DataError(_("no prediction log in {where}").format(where=self.where), where=self.where,
                                hint=_("serve with --prediction-log URL (or prediction_log: in the settings) "
                                       "to write one"))
            upgrade(self._engine, "log", legacy=_legacy_revision)
            with self._engine.begin() as conn:
                stored = dict(conn.execute(sa.select(meta_table.c.key, meta_table.c.value)).all())
                if create:  # a writer: its text policy is the one in force from now on
                    for key, value in (("schema", SCHEMA_VERSION), ("texts", texts)):
                        _upsert(conn, meta_table, {"key": key, "value": value}, ["key"])
        except sa.exc.SQLAlchemyError as exc:
            raise DataError(_("cannot open the prediction log: {kind}: {error}").format(
                                kind=exc.__class__.__name__, error=str(exc).splitlines()[0]),
                            where=self.where,
                            hint=_("check the URL (postgresql+psycopg://user:password@host:port/db), "
                                   "that the server is up and the database exists, or give a file path "
                                   "for a SQLite log")) from None
        self.texts: str = texts if create else stored.get("texts", texts)
        self._redact = Redactor(True)

    # ------------------------------------------------------------------------------------------------ writing

    def _stored_text(self, text: str) -> str | None:
        if self.texts == "none":
            return None
        return self._redact(text) if self.texts == "redacted" else text

    def append(self, entries: Iterable[tuple], *, ts: float | None = None) -> int:
        """Log the predictions of one model call: entries of (request_id, model name, version, texts, predictions[,
        client_request_id, key_id]), in one transaction (all or none). Returns the number of rows written."""
        now = time.time() if ts is None else ts
        rows = []
        for request_id, model, version, texts, predictions, *extra in entries:
            client_request_id, key_id = (*extra, None, None)[:2]
            for item, (text, pred) in enumerate(zip(texts, predictions)):
                score = pred.get("score")
                rows.append({"ts": now, "request_id": request_id, "item": item, "model": model, "version": version,
                             "length": len(text), "text": self._stored_text(text),
                             "label": None if pred.get("label") is None else str(pred["label"]),
                             "score": None if score is None else float(score),
                             "output": json.dumps(compact_output(pred), ensure_ascii=False),
                             "client_request_id": client_request_id, "key_id": key_id})
        if rows:
            with self._engine.begin() as conn:
                conn.execute(predictions_table.insert(), rows)
        return len(rows)

    def add_feedback(self, request_id: str, item: int, label: str, *, source: str | None = None, key_id: str | None = None,
                     ts: float | None = None) -> bool:
        """Record the correct label of one logged prediction (a later correction replaces an earlier one).
        False when no such prediction was logged."""
        p = predictions_table.c
        with self._engine.begin() as conn:
            known = conn.execute(sa.select(sa.literal(1)).where(p.request_id == request_id, p.item == item).limit(1)).first()
            if known is None:
                return False
            _upsert(conn, feedback_table, {"ts": time.time() if ts is None else ts, "request_id": request_id, "item": item,
                                           "label": label, "source": source, "key_id": key_id}, ["request_id", "item"])
        return True

    # ------------------------------------------------------------------------------------------------ reading

    def predictions(self, *, since: float | None = None, until: float | None = None, model: str | None = None,
                    limit: int | None = None) -> pd.DataFrame:
        """Logged predictions (newest last), `output` parsed. `limit`: the most recent ones only."""
        t = predictions_table
        query = sa.select(t).where(*_window(t, since, until, model)).order_by(t.c.id.desc())
        if limit:
            query = query.limit(int(limit))
        with self._engine.connect() as conn:
            frame = pd.read_sql_query(query, conn)
        frame = frame.iloc[::-1].reset_index(drop=True)
        frame["output"] = [json.loads(o) for o in frame["output"]]
        return frame

    def corrections(self, *, since: float | None = None, until: float | None = None, model: str | None = None) -> pd.DataFrame:
        """Each correction with its prediction: text, predicted label, correct label, when, who, which model, and the
        API keys that asked (`predicted_by`) and corrected (`corrected_by`)."""
        p, f = predictions_table.c, feedback_table.c
        query = (sa.select(p.text.label("text"), f.label.label("label"), p.label.label("predicted"), p.score, p.model,
                           p.version, p.request_id, p.item, p.ts.label("predicted_at"), f.ts.label("corrected_at"),
                           f.source, p.client_request_id, p.key_id.label("predicted_by"), f.key_id.label("corrected_by"))
                 .select_from(feedback_table.join(predictions_table, (p.request_id == f.request_id) & (p.item == f.item)))
                 .where(*_window(predictions_table, since, until, model)).order_by(f.id))
        with self._engine.connect() as conn:
            return pd.read_sql_query(query, conn)

    def counts(self) -> dict[str, Any]:
        p = predictions_table.c
        with self._engine.connect() as conn:
            n, first, last = conn.execute(sa.select(sa.func.count(), sa.func.min(p.ts), sa.func.max(p.ts))).one()
            corrected = conn.execute(sa.select(sa.func.count()).select_from(feedback_table)).scalar_one()
        return {"predictions": n, "first": first, "last": last, "corrections": corrected, "texts": self.texts}

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _legacy_revision(conn: sa.Connection) -> str | None:
    """The revision a log written before Alembic already matches (its meta.schema), or None for an empty database."""
    if not sa.inspect(conn).has_table("predictions"):
        return None
    schema = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema")).scalar_one_or_none() or "1"
    if schema not in _REVISIONS:
        raise DataError(_("prediction log schema {schema} is not {expected}").format(
                            schema=schema, expected=SCHEMA_VERSION),
                        where=str(conn.engine.url),
                        hint=_("write to a new file; this one was made by another domainfit version"))
    return _REVISIONS[schema]


def _upsert(conn: sa.Connection, table: sa.Table, values: dict, keys: list[str]) -> None:
    """Insert a row, or replace the row with the same `keys` (SQLite and PostgreSQL: one ON CONFLICT statement)."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(conn.dialect.name)
    if dialect is None:  # another database: delete then insert, in the caller's transaction
        conn.execute(table.delete().where(*(table.c[k] == values[k] for k in keys)))
        conn.execute(table.insert().values(**values))
        return
    statement = dialect.insert(table).values(**values)
    conn.execute(statement.on_conflict_do_update(index_elements=keys, set_={k: v for k, v in values.items() if k not in keys}))


def _window(table: sa.Table, since: float | None, until: float | None, model: str | None) -> list:
    clauses = []
    if since is not None:
        clauses.append(table.c.ts >= since)
    if until is not None:
        clauses.append(table.c.ts < until)
    if model is not None:
        clauses.append(table.c.model == model)
    return clauses

