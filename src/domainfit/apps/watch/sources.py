"""Where `watch run` takes texts from besides HTTP: a watched folder and Redis Streams. Each hands batches to the
one `Processor` and acknowledges only what it has committed.

Folder: every .csv/.tsv/.jsonl file in it, oldest name first, once its size has stayed the same for one poll (a
file still being copied in is left for the next); it is recorded as done (path and size) after its last row is
stored; a file that cannot be read is recorded with rows = -1 and named in the log, not retried in a loop. A crash
mid-file reads it again on restart: the rows already stored are skipped by their id.

Redis Streams: a consumer group (XREADGROUP), so several workers share one stream and each message goes to one of
them; a message is XACKed after its item is stored. A worker that crashed holding messages leaves them pending; any
worker takes them over after `claim_idle` (XAUTOCLAIM). Delivered twice that way, an item is still stored once (its
id is unique). A message holds the record's fields (time, text, source, id, url) or one field `json` with them; a
message that is no valid record goes to `<stream>:dead` with the reason, and is acknowledged.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from pathlib import Path

from domainfit.apps.watch.config import FolderIngest, RedisIngest
from domainfit.apps.watch.records import check_record, read_records
from domainfit.errors import DomainfitError

__all__ = ["FolderSource", "RedisSource"]

log = logging.getLogger("domainfit.watch")

SUFFIXES = (".csv", ".tsv", ".jsonl")


class FolderSource:
    def __init__(self, cfg: FolderIngest, processor, *, batch_size: int = 64) -> None:
        self.cfg, self.processor, self.batch_size = cfg, processor, batch_size
        self._sizes: dict[str, int] = {}
        self.stop = threading.Event()

    def poll_once(self) -> int:
        """Process every new, settled file; returns how many were processed."""
        done = 0
        folder = Path(self.cfg.path)
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()):
            size = path.stat().st_size
            name = str(path.resolve())
            if self.processor.store.file_done(name, size):
                continue
            if self._sizes.get(name) != size:  # new or still growing: look again next time
                self._sizes[name] = size
                continue
            try:
                records = read_records(path)
            except DomainfitError as exc:
                log.error("watch: cannot read %s: %s", path, exc)
                self.processor.store.record_file(name, size, -1)
                continue
            for i in range(0, len(records), self.batch_size):
                self.processor.process(records[i:i + self.batch_size])
            self.processor.store.record_file(name, size, len(records))
            log.info("watch: %s done (%d records)", path, len(records))
            done += 1
        return done

    def loop(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a broken store or model must show, but not end the monitor's other sources
                log.exception("watch: the folder source failed; trying again")
            self.stop.wait(self.cfg.poll)


class RedisSource:
    def __init__(self, cfg: RedisIngest, processor) -> None:
        import redis

        self.cfg, self.processor = cfg, processor
        self.client = redis.Redis.from_url(cfg.url)
        self.consumer = cfg.consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.stop = threading.Event()
        try:
            self.client.xgroup_create(cfg.stream, cfg.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _records(self, messages) -> tuple[list[dict], list]:
        records, ids = [], []
        for message_id, fields in messages:
            ids.append(message_id)
            raw = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                   for k, v in (fields or {}).items()}
            try:
                if "json" in raw:
                    raw = json.loads(raw["json"])
                    if not isinstance(raw, dict):
                        raise ValueError("the json field is not an object")
                records.append(check_record(raw, f"{self.cfg.stream} message {message_id!r}"))
            except (DomainfitError, ValueError) as exc:
                self.client.xadd(f"{self.cfg.stream}:dead", {"id": str(message_id), "reason": str(exc)[:500]})
        return records, ids

    def read_once(self, *, block: bool = True) -> int:
        """Take over stale pending messages, else read new ones; process and acknowledge. Returns the messages."""
        cfg = self.cfg
        claimed = self.client.xautoclaim(cfg.stream, cfg.group, self.consumer, min_idle_time=int(cfg.claim_idle * 1000),
                                         start_id="0-0", count=cfg.batch)
        messages = claimed[1] if claimed else []
        if not messages:
            answer = self.client.xreadgroup(cfg.group, self.consumer, {cfg.stream: ">"}, count=cfg.batch,
                                            block=int(cfg.block * 1000) if block else None)
            messages = answer[0][1] if answer else []
        if not messages:
            return 0
        records, ids = self._records(messages)
        if records:
            self.processor.process(records)
        self.client.xack(cfg.stream, cfg.group, *ids)
        return len(ids)

    def loop(self) -> None:
        while not self.stop.is_set():
            try:
                self.read_once()
            except Exception:
                log.exception("watch: the Redis source failed; trying again")
                self.stop.wait(1.0)
