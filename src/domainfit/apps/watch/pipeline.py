"""The monitor's one processing path, shared by `replay`, HTTP, the watched folder and Redis: records in → cleaned as
the sentiment bundle was trained → near-duplicates collapsed → sentiment (and topic, entities) in batches through the
Predictor → stored (one transaction) → counted → tested → alerts stored and sent.

Every worker reads back what the store gained since it last looked (its own items and any other worker's), so the
counts and the duplicate index are the store's, whichever worker took an item.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from domainfit.apps.watch.config import WatchConfig
from domainfit.apps.watch.dedup import Deduplicator
from domainfit.apps.watch.detect import ALL, Detector, Story
from domainfit.apps.watch.store import WatchStore
from domainfit.apps.watch.watchlist import Watchlist
from domainfit.monitor.alerts import parse_sink, send_alert
from domainfit.predict import Predictor

__all__ = ["Processed", "Processor", "item_id"]


def item_id(record: dict) -> str:
    """The record's `id`, else a hash of what it says (time, text, source, url): sending it again is idempotent."""
    given = record.get("id")
    if given not in (None, ""):
        return str(given)[:200]
    raw = "\x1f".join(str(record.get(k) or "") for k in ("time", "text", "source", "url"))
    return "h:" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:20]


@dataclass
class Processed:
    received: int = 0
    stored: int = 0
    already: int = 0  # sent before (same id): skipped
    copies: int = 0  # stored as copies of an earlier story
    alerts: int = 0


class Processor:
    def __init__(self, cfg: WatchConfig, *, store: WatchStore | None = None, send: bool = True,
                 sentiment: Predictor | None = None) -> None:
        self.cfg = cfg
        self.store = store or WatchStore(cfg.store)
        self.sentiment = sentiment or Predictor.from_bundle(cfg.sentiment.bundle, variant=cfg.sentiment.variant,
                                                            batch_size=cfg.batch_size)
        self.negative = set(cfg.sentiment.negative_labels)
        self.topic = Predictor.from_bundle(cfg.topic.bundle, variant=cfg.topic.variant) if cfg.topic else None
        self.ner = Predictor.from_bundle(cfg.ner.bundle, variant=cfg.ner.variant) if cfg.ner else None
        self.watchlist = Watchlist([(w.name, w.aliases) for w in cfg.watchlist])
        self._names = set(self.watchlist.names)
        d = cfg.dedup
        self.dedup = Deduplicator(threshold=d.threshold, num_perm=d.num_perm, shingle=d.shingle, horizon=d.horizon)
        self.sinks = [parse_sink(s) for s in cfg.sinks] if send else []
        self.detector = Detector(cfg.windows, cfg.detect, on_alert=self._on_alert)
        self.lock = threading.RLock()
        self.alerts_raised = 0
        self._last_pk = 0
        self._resume()

    # ------------------------------------------------------------------ start and restart
    def _resume(self) -> None:
        clock = self.store.get_state("clock")
        self.detector.restore(self.store.alerts(), clock)
        if clock is None:
            return
        history = max(w.size + w.baseline for w in self.cfg.windows)
        self._sync(since=min(clock - history, clock - self.cfg.dedup.horizon))

    def _sync(self, since: float | None = None) -> list[dict]:
        """Count what the store gained since this worker last looked."""
        rows = self.store.rows_after(self._last_pk, since=since)
        for row in rows:
            self._last_pk = max(self._last_pk, row["id"])
            if row["story"] == row["item_id"]:
                self.dedup.remember(row["item_id"], row["text"], row["time"],
                                    keys=[k for k in row["keys"] if k in self._names])
                self.detector.add_story(Story(row["item_id"], row["time"], row["text"], bool(row["negative"]),
                                              row["score"], list(row["keys"]), label=row["label"]))
            else:
                self.detector.add_copy(row["story"])
        return rows

    # ------------------------------------------------------------------ one batch
    def process(self, records: Sequence[dict]) -> Processed:
        """Records {time (epoch seconds), text, source?, id?, url?} -> stored, counted and tested. Returns only after
        the items are committed (the caller may acknowledge them then)."""
        with self.lock:
            result = Processed(received=len(records))
            seen: dict[str, dict] = {}
            for r in records:
                seen.setdefault(item_id(r), r)
            known = self.store.known(list(seen))
            fresh = sorted(((i, r) for i, r in seen.items() if i not in known), key=lambda p: float(p[1]["time"]))
            result.already = len(records) - len(fresh)
            if fresh:
                rows = self._score(fresh)
                clock = self.detector.clock
                stored = self.store.add_items(rows, clock=clock)
                result.stored = len(stored)
                result.copies = sum(1 for r in stored if r["story"] != r["item_id"])
            before = self.alerts_raised
            self._sync()
            newest = max((float(r["time"]) for r in records), default=None)
            if newest is not None:
                self.detector.advance(newest)
                self.store.set_state("clock", self.detector.clock)
            result.alerts = self.alerts_raised - before
            return result

    def _score(self, fresh: list[tuple[str, dict]]) -> list[dict]:
        clean = self.sentiment.clean
        rows, originals = [], []
        for iid, r in fresh:
            text = clean(str(r["text"]))
            t = float(r["time"])
            names = self.watchlist.match(text)
            story = self.dedup.assign(iid, text, t, keys=names)
            row = {"item_id": iid, "time": t, "text": text, "source": _opt(r.get("source")), "url": _opt(r.get("url")),
                   "story": story, "label": None, "score": None, "negative": False, "keys": names, "topics": None,
                   "entities": None}
            rows.append(row)
            if story == iid:
                originals.append(row)
        texts = [row["text"] for row in originals]
        if texts:
            for row, p in zip(originals, self.sentiment.predict(texts)):
                row["label"], row["score"], row["negative"] = p["label"], p["score"], p["label"] in self.negative
            topics = self._topics(texts)
            entities = self._entities(texts)
            for i, row in enumerate(originals):
                row["topics"], row["entities"] = topics[i], entities[i]
                row["keys"] = [*row["keys"], *(topics[i] or []), ALL]
        by_id = {row["item_id"]: row for row in originals}
        for row in rows:
            if row["story"] != row["item_id"]:
                source = by_id.get(row["story"]) or self._stored_story(row["story"])
                if source is not None:
                    for name in ("label", "score", "negative", "keys", "topics", "entities"):
                        row[name] = source[name]
        return rows

    def _stored_story(self, story: str) -> dict | None:
        kept = self.detector.stories.get(story)
        if kept is not None:
            return {"label": kept.label, "score": kept.score, "negative": kept.negative, "keys": kept.keys, "topics": None,
                    "entities": None}
        found = self.store.item_rows(ids=[story])
        return found[0] if found else None

    def _topics(self, texts: list[str]) -> list[list[str] | None]:
        if self.topic is None:
            return [None] * len(texts)
        floor = self.cfg.topic.min_score
        out = []
        for p in self.topic.predict(texts):
            if "labels" in p:
                out.append([label for label in p["labels"] if p["scores"][label] >= floor])
            else:
                out.append([p["label"]] if p["score"] >= floor else [])
        return out

    def _entities(self, texts: list[str]) -> list[list[dict] | None]:
        if self.ner is None:
            return [None] * len(texts)
        types = set(self.cfg.ner.types)
        return [[{"text": e["text"], "type": e["label"]} for e in p["entities"] if e["label"] in types]
                for p in self.ner.predict(texts)]

    # ------------------------------------------------------------------ alerts
    def _on_alert(self, event: str, record: dict) -> None:
        self.store.save_alert(record)
        if event == "open":
            self.alerts_raised += 1
            if self.sinks and self.store.claim_send(record["alert_id"], event):  # one worker sends it (store.py)
                send_alert(self.sinks, alert_message(record), {"alert": record})


def _opt(value) -> str | None:
    return None if value in (None, "") else str(value)


def alert_message(a: dict) -> str:
    if a["kind"] == "negative_share":
        what = f"{a['observed']:.0%} negative of {a['n']} stories (usually {a['expected']:.0%})"
    else:
        what = f"{a['n']} stories (about {a['expected']:.0f} expected)"
    return f"domainfit watch: {a['kind']} alert for {a['key']!r} over {a['window']} to {a['window_end']}: {what}; p={a['p_value']:.2g}"
