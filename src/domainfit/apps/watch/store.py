"""Where the monitor keeps everything: items with their scores, alerts, false-alarm feedback, processed files and
the detector's clock, in SQLite (WAL, the default) or PostgreSQL through `domainfit.store.open_engine`.

An item is acknowledged (HTTP 200, Redis XACK, a file recorded as done) only after the transaction holding it has
committed, so a killed process loses nothing it acknowledged; `item_id` is unique, so whatever is sent again after a
crash (a file read again, a message claimed by another worker, a client's retry) is skipped, never counted twice.

Alerts are sent once whatever the number of workers: every worker's detector counts the same stored items, so two
workers on one stream open the same alert (same `alert_id`); before sending, a worker inserts (alert_id, event) into
`watch_sent`, whose primary key lets one insert win, and only the winner sends (insert-or-ignore, on SQLite and
PostgreSQL alike). At most once: a worker killed between its claim and its send leaves the alert stored and shown on
the dashboard, but not sent.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable, Sequence

from sqlalchemy import JSON, Boolean, Column, Float, Integer, MetaData, String, Table, Text, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from domainfit.store.engine import open_engine

__all__ = ["WatchStore"]

metadata = MetaData()

items = Table(
    "watch_items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(200), nullable=False, unique=True),
    Column("time", Float, nullable=False, index=True),
    Column("text", Text, nullable=False),  # as the sentiment bundle cleans it (normalised, redacted if it was trained so)
    Column("source", String(200)),
    Column("url", Text),
    Column("story", String(200), nullable=False, index=True),  # item_id of the story's first item (itself if first)
    Column("label", String(100)),
    Column("score", Float),
    Column("negative", Boolean, nullable=False),
    Column("keys", JSON, nullable=False),  # the watchlist names and topics it counts for, and "all"
    Column("topics", JSON),
    Column("entities", JSON),
    Column("ingested", Float, nullable=False),
)

alerts = Table(
    "watch_alerts", metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("key", String(200), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("window", String(20), nullable=False),
    Column("status", String(10), nullable=False),  # open | closed
    Column("record", JSON, nullable=False),  # the alert as alerts.jsonl shows it
    Column("updated", Float, nullable=False),
)

feedback = Table(
    "watch_feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(64), nullable=False, index=True),
    Column("verdict", String(20), nullable=False),
    Column("note", Text),
    Column("at", Float, nullable=False),
)

sent = Table(
    "watch_sent", metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("event", String(20), primary_key=True),
    Column("at", Float, nullable=False),
)

files = Table(
    "watch_files", metadata,
    Column("path", String(1000), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("done", Float, nullable=False),
)

state = Table(
    "watch_state", metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Float, nullable=False),
)

ITEM_FIELDS = ("item_id", "time", "text", "source", "url", "story", "label", "score", "negative", "keys", "topics",
               "entities")


class WatchStore:
    def __init__(self, target: str) -> None:
        self.engine = open_engine(target)
        metadata.create_all(self.engine)

    # ------------------------------------------------------------------ items
    def known(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(select(items.c.item_id).where(items.c.item_id.in_(list(ids)))).all()
        return {r[0] for r in rows}

    def add_items(self, rows: Sequence[dict], *, clock: float | None = None) -> list[dict]:
        """Insert the rows not stored yet (one transaction, with the detector clock); returns those inserted."""
        if not rows:
            return []
        now = _time.time()
        fresh = [dict(r, ingested=now) for r in rows]
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(items), fresh)
                if clock is not None:
                    self._set(conn, "clock", clock)
            return fresh
        except IntegrityError:  # another worker stored one of them meanwhile: one by one, skipping those
            kept = []
            for row in fresh:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(insert(items), [row])
                    kept.append(row)
                except IntegrityError:
                    continue
            if clock is not None:
                self.set_state("clock", clock)
            return kept

    def item_rows(self, *, since: float | None = None, until: float | None = None, ids: Iterable[str] | None = None,
                  columns: Sequence[str] = ITEM_FIELDS) -> list[dict]:
        query = select(*[items.c[c] for c in columns]).order_by(items.c.time, items.c.id)
        if since is not None:
            query = query.where(items.c.time >= since)
        if until is not None:
            query = query.where(items.c.time < until)
        if ids is not None:
            query = query.where(items.c.item_id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def rows_after(self, pk: int, *, since: float | None = None) -> list[dict]:
        """Items stored after primary key `pk` (by any worker), oldest first; `since`: only those from that time on."""
        cols = [items.c.id, items.c.item_id, items.c.time, items.c.text, items.c.story, items.c.label, items.c.negative,
                items.c.score, items.c["keys"]]
        query = select(*cols).where(items.c.id > pk).order_by(items.c.id)
        if since is not None:
            query = query.where(items.c.time >= since)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def copies(self, stories: Sequence[str]) -> dict[str, int]:
        if not stories:
            return {}
        query = select(items.c.story, func.count()).where(items.c.story.in_(list(stories))).group_by(items.c.story)
        with self.engine.connect() as conn:
            return {s: n for s, n in conn.execute(query)}

    def count_items(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(items)).scalar_one()

    # ------------------------------------------------------------------ alerts and feedback
    def save_alert(self, record: dict) -> None:
        values = {"key": record["key"], "kind": record["kind"], "window": record["window"], "status": record["status"],
                  "record": record, "updated": _time.time()}
        try:
            with self.engine.begin() as conn:
                done = conn.execute(update(alerts).where(alerts.c.alert_id == record["alert_id"]).values(**values)).rowcount
                if not done:
                    conn.execute(insert(alerts).values(alert_id=record["alert_id"], **values))
        except IntegrityError:  # another worker inserted the same alert meanwhile: update it
            with self.engine.begin() as conn:
                conn.execute(update(alerts).where(alerts.c.alert_id == record["alert_id"]).values(**values))

    def claim_send(self, alert_id: str, event: str = "open") -> bool:
        """True for the one worker that may send this alert's `event`; False when another already claimed it."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(sent).values(alert_id=alert_id, event=event, at=_time.time()))
            return True
        except IntegrityError:
            return False

    def sent_events(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [(r.alert_id, r.event) for r in conn.execute(select(sent.c.alert_id, sent.c.event))]

    def alerts(self, *, key: str | None = None) -> list[dict]:
        query = select(alerts.c.record)
        if key is not None:
            query = query.where(alerts.c.key == key)
        with self.engine.connect() as conn:
            found = [r[0] for r in conn.execute(query)]
        return sorted(found, key=lambda a: (a["time"], a["alert_id"]))

    def alert(self, alert_id: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(alerts.c.record).where(alerts.c.alert_id == alert_id)).first()
        return row[0] if row else None

    def add_feedback(self, alert_id: str, verdict: str, note: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(feedback).values(alert_id=alert_id, verdict=verdict, note=note, at=_time.time()))

    def feedback(self) -> dict[str, dict]:
        """alert_id -> its latest feedback {verdict, note, at}."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(feedback.c.alert_id, feedback.c.verdict, feedback.c.note, feedback.c.at)
                                .order_by(feedback.c.id)).all()
        return {r.alert_id: {"verdict": r.verdict, "note": r.note, "at": r.at} for r in rows}

    # ------------------------------------------------------------------ files and state
    def file_done(self, path: str, size: int) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(files.c.path).where(and_(files.c.path == path, files.c.size == size))).first() is not None

    def record_file(self, path: str, size: int, rows: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(files.delete().where(files.c.path == path))
            conn.execute(insert(files).values(path=path, size=size, rows=rows, done=_time.time()))

    def _set(self, conn, name: str, value: float) -> None:
        if not conn.execute(update(state).where(state.c.name == name).values(value=value)).rowcount:
            conn.execute(insert(state).values(name=name, value=value))

    def set_state(self, name: str, value: float) -> None:
        with self.engine.begin() as conn:
            self._set(conn, name, value)

    def get_state(self, name: str) -> float | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(state.c.value).where(state.c.name == name)).first()
        return row[0] if row else None
