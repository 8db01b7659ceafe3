"""The prediction log: every served prediction and every correction, in one SQLite file.

SQLite in WAL mode: the server appends (one transaction per model call, committed before the answers leave, so a
crashed or killed server loses no prediction it answered), while `domainfit monitor` and `domainfit feedback`
read the same file from other processes at the same time. `synchronous=NORMAL`: a committed transaction survives
the process dying; only a power cut may lose the last ones.

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
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from domainfit.data.pii import Redactor
from domainfit.errors import DataError

__all__ = ["TEXT_POLICIES", "PredictionLog", "compact_output"]

SCHEMA_VERSION = "2"  # 2: client_request_id, key_id (a version-1 file gains the columns when opened)
TEXT_POLICIES = ("redacted", "raw", "none")
TextPolicy = Literal["redacted", "raw", "none"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id          INTEGER PRIMARY KEY,
    ts          REAL    NOT NULL,              -- unix seconds
    request_id  TEXT,                          -- the server's id of the request (the response's request_id)
    item        INTEGER NOT NULL,              -- the text's index in its request
    model       TEXT,
    version     TEXT,
    length      INTEGER NOT NULL,              -- characters of the text as received
    text        TEXT,                          -- per the log's text policy (NULL with "none")
    label       TEXT,                          -- the predicted label (NULL: none, e.g. retrieval's no-answer)
    score       REAL,                          -- its score (regression: the value)
    output      TEXT    NOT NULL,              -- the prediction as JSON, without the long ranked lists
    client_request_id TEXT,                    -- the client's X-Request-ID, as sent (not unique)
    key_id      TEXT                           -- the API key that asked (its id, never the key)
);
CREATE INDEX IF NOT EXISTS predictions_ts ON predictions (ts);
CREATE INDEX IF NOT EXISTS predictions_request ON predictions (request_id, item);
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY,
    ts          REAL    NOT NULL,
    request_id  TEXT    NOT NULL,
    item        INTEGER NOT NULL,
    label       TEXT    NOT NULL,              -- the correct label, as a person said
    source      TEXT,                          -- who or what said it (an API key's name, a reviewer)
    key_id      TEXT,                          -- the API key that sent the correction (its id, never the key)
    UNIQUE (request_id, item) ON CONFLICT REPLACE
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_DROPPED = ("top_k", "scores", "answers", "answer")  # long, or recomputable: not kept in the log


def compact_output(prediction: dict) -> dict:
    """What the log keeps of a prediction: its label(s), score, entities, no-answer flag; for retrieval also the best
    answer id when it was refused (`top`), so the answer mix can be compared with the reference."""
    kept = {k: v for k, v in prediction.items() if k not in _DROPPED}
    ranked = prediction.get("answers")
    if ranked:
        kept["top"] = ranked[0]["id"]
    return kept


class PredictionLog:
    """Append predictions and corrections; read them back as tables. Safe to share between threads."""

    def __init__(self, path: str | os.PathLike, *, texts: TextPolicy = "redacted", create: bool = True) -> None:
        if texts not in TEXT_POLICIES:
            raise DataError(f"unknown text policy {texts!r}", where="log_texts", hint=f"use one of {', '.join(TEXT_POLICIES)}")
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise DataError(f"no prediction log at {self.path.resolve()}", where=str(path),
                            hint="serve with --prediction-log FILE (or prediction_log: in the settings) to write one")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(_SCHEMA)
            stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if stored.get("schema") not in (None, "1", SCHEMA_VERSION):
                raise DataError(f"prediction log schema {stored['schema']} is not {SCHEMA_VERSION}", where=str(path),
                                hint="write to a new file; this one was made by another domainfit version")
            _add_missing_columns(self._db)
            if create:  # a writer: its text policy is the one in force from now on
                self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [("schema", SCHEMA_VERSION), ("texts", texts)])
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
                rows.append((now, request_id, item, model, version, len(text), self._stored_text(text),
                             None if pred.get("label") is None else str(pred["label"]),
                             None if score is None else float(score),
                             json.dumps(compact_output(pred), ensure_ascii=False), client_request_id, key_id))
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT INTO predictions (ts, request_id, item, model, version, length, text, label, "
                                     "score, output, client_request_id, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return len(rows)

    def add_feedback(self, request_id: str, item: int, label: str, *, source: str | None = None, key_id: str | None = None,
                     ts: float | None = None) -> bool:
        """Record the correct label of one logged prediction (a later correction replaces an earlier one).
        False when no such prediction was logged."""
        with self._lock:
            known = self._db.execute("SELECT 1 FROM predictions WHERE request_id = ? AND item = ? LIMIT 1",
                                     (request_id, item)).fetchone()
            if known is None:
                return False
            self._db.execute("INSERT INTO feedback (ts, request_id, item, label, source, key_id) VALUES (?, ?, ?, ?, ?, ?)",
                             (time.time() if ts is None else ts, request_id, item, label, source, key_id))
        return True

    # ------------------------------------------------------------------------------------------------ reading

    def predictions(self, *, since: float | None = None, until: float | None = None, model: str | None = None,
                    limit: int | None = None) -> pd.DataFrame:
        """Logged predictions (newest last), `output` parsed. `limit`: the most recent ones only."""
        where, args = _window(since, until, model)
        query = f"SELECT * FROM predictions{where} ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        with self._lock:
            frame = pd.read_sql_query(query, self._db, params=args)
        frame = frame.iloc[::-1].reset_index(drop=True)
        frame["output"] = [json.loads(o) for o in frame["output"]]
        return frame

    def corrections(self, *, since: float | None = None, until: float | None = None, model: str | None = None) -> pd.DataFrame:
        """Each correction with its prediction: text, predicted label, correct label, when, who, which model, and the
        API keys that asked (`predicted_by`) and corrected (`corrected_by`)."""
        where, args = _window(since, until, model, table="p")
        query = ("SELECT p.text AS text, f.label AS label, p.label AS predicted, p.score AS score, p.model AS model, "
                 "p.version AS version, p.request_id AS request_id, p.item AS item, p.ts AS predicted_at, "
                 "f.ts AS corrected_at, f.source AS source, p.client_request_id AS client_request_id, "
                 "p.key_id AS predicted_by, f.key_id AS corrected_by FROM feedback f JOIN predictions p "
                 f"ON p.request_id = f.request_id AND p.item = f.item{where} ORDER BY f.id")
        with self._lock:
            return pd.read_sql_query(query, self._db, params=args)

    def counts(self) -> dict[str, Any]:
        with self._lock:
            n, first, last = self._db.execute("SELECT COUNT(*), MIN(ts), MAX(ts) FROM predictions").fetchone()
            corrected = self._db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]
        return {"predictions": n, "first": first, "last": last, "corrections": corrected, "texts": self.texts}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_ADDED = {"predictions": ("client_request_id", "key_id"), "feedback": ("key_id",)}  # since schema 1


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """A version-1 log gains the version-2 columns (NULL in its old rows)."""
    for table, columns in _ADDED.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            if column not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")


def _window(since: float | None, until: float | None, model: str | None, table: str = "") -> tuple[str, list]:
    prefix = f"{table}." if table else ""
    clauses, args = [], []
    if since is not None:
        clauses.append(f"{prefix}ts >= ?")
        args.append(since)
    if until is not None:
        clauses.append(f"{prefix}ts < ?")
        args.append(until)
    if model is not None:
        clauses.append(f"{prefix}model = ?")
        args.append(model)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args
