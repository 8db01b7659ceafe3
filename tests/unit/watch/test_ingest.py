"""`watch run`'s intake: HTTP POST /v1/ingest behind serve's API keys and limits; the store on PostgreSQL; a real
`watch run` process killed with SIGKILL mid-stream and restarted loses nothing and counts nothing twice; two Redis
workers in one consumer group share a stream with nothing processed twice or lost, a crashed worker's messages
taken over."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from domainfit.apps.watch.config import load_watch_config
from domainfit.apps.watch.pipeline import Processor
from domainfit.apps.watch.server import watch_app
from domainfit.apps.watch.sources import RedisSource
from domainfit.apps.watch.store import WatchStore
from domainfit.serving.auth import add_key
from tests.conftest import ROOT, free_port, live_server
from tests.unit.watch.streams import make_stream, write_stream, write_yaml


def test_http_ingest_with_keys_and_limits(tmp_path, tiny_bundle):
    keys = tmp_path / "keys.yaml"
    key = add_key(keys, "feeder")
    cfg = load_watch_config(write_yaml(tmp_path, tiny_bundle, ingest={"http": {"api_keys_file": str(keys), "max_texts": 5}}))
    processor = Processor(cfg, send=False)
    with live_server(watch_app(cfg, processor=processor)) as port:
        url = f"http://127.0.0.1:{port}/v1/ingest"
        items = [{"text": "alpha card lost", "time": "2026-12-01T09:00:00Z", "id": "a"},
                 {"text": "loan rate today", "time": 1796115600, "id": "b"}]
        assert httpx.post(url, json={"items": items}).status_code == 401
        auth = {"Authorization": f"Bearer {key}"}
        answer = httpx.post(url, json={"items": items}, headers=auth)
        assert answer.status_code == 200 and answer.json()["stored"] == 2
        again = httpx.post(url, json={"items": items}, headers=auth).json()
        assert again["stored"] == 0 and again["already"] == 2  # a client's retry is idempotent
        bad = httpx.post(url, json={"items": [{"text": "x", "time": "yesterday"}]}, headers=auth)
        assert bad.status_code == 422 and bad.json()["error"]["where"] == "items[0], column time"
        many = httpx.post(url, json={"items": [{"text": "x"}] * 6}, headers=auth)
        assert many.status_code == 422 and many.json()["error"]["code"] == "too_many_texts"
        assert httpx.get(f"http://127.0.0.1:{port}/watch/").status_code == 200  # the dashboard, same server
    rows = processor.store.item_rows()
    assert [r["item_id"] for r in rows] == ["a", "b"] and rows[0]["keys"] == ["Alpha", "all"]


def test_the_store_on_postgresql(tmp_path, tiny_bundle, postgres_url):
    cfg = load_watch_config(write_yaml(tmp_path, tiny_bundle, store=postgres_url))
    processor = Processor(cfg, send=False)
    rows = make_stream(3, 20, reposts=2)
    done = processor.process(rows)
    assert done.stored == len(rows) and done.copies == sum("-copy" in r["id"] for r in rows)
    assert processor.process(rows).already == len(rows)
    store = WatchStore(postgres_url)
    assert sorted(r["item_id"] for r in store.item_rows()) == sorted(r["id"] for r in rows)
    assert store.get_state("clock") is not None


def _stored_ids(db: Path) -> list[str]:
    import sqlite3

    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return [r[0] for r in conn.execute("select item_id from watch_items")]
        except sqlite3.OperationalError:
            return []


def _watch_run(config: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.Popen([sys.executable, "-m", "domainfit.cli.main", "watch", "run", str(config)], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def test_sigkill_mid_stream_then_restart_loses_nothing(tmp_path, tiny_bundle):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = write_yaml(tmp_path, tiny_bundle, batch_size=8,
                        ingest={"folder": {"path": str(inbox), "poll": "0.2s"}, "http": {"port": free_port()}})
    rows = make_stream(12, 50, reposts=1)
    db, log = tmp_path / "watch.db", tmp_path / "run.log"
    proc = _watch_run(config, log)
    try:
        write_stream(inbox / "feed.csv", rows)
        deadline = time.time() + 240
        while len(_stored_ids(db)) < 40:
            assert proc.poll() is None, log.read_text()
            assert time.time() < deadline, "watch run stored nothing: " + log.read_text()[-2000:]
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    before = _stored_ids(db)
    assert 40 <= len(before) < len(rows), "the kill came after the whole file"
    proc = _watch_run(config, log)
    try:
        deadline = time.time() + 240
        while len(_stored_ids(db)) < len(rows) or not WatchStore(str(db)).file_done(str((inbox / "feed.csv").resolve()),
                                                                                     (inbox / "feed.csv").stat().st_size):
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.time() < deadline, "the restart did not finish the file"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    after = _stored_ids(db)
    assert sorted(after) == sorted(r["id"] for r in rows)  # every row once: none lost, none twice
    assert set(before) <= set(after)
    store = WatchStore(str(db))
    stored = {r["item_id"]: r for r in store.item_rows()}
    copies = [r for r in rows if "-copy" in r["id"]]
    assert all(stored[c["id"]]["story"] == c["id"].split("-copy")[0] for c in copies)


def test_two_redis_workers_share_a_stream(tmp_path, tiny_bundle, redis_url):
    import redis

    stream = "watch-test"
    cfg = load_watch_config(write_yaml(tmp_path, tiny_bundle, ingest={
        "redis": {"url": redis_url, "stream": stream, "group": "g", "batch": 16, "block": "0.2s", "claim_idle": "5s"}}))
    client = redis.Redis.from_url(redis_url)
    rows = make_stream(4, 50)
    crashed = RedisSource(cfg.ingest.redis.model_copy(update={"consumer": "crashed"}), processor=None)
    for r in rows:
        client.xadd(stream, {k: str(v) for k, v in r.items()})
    client.xadd(stream, {"time": "not a time", "text": "x"})  # a bad message: to the dead-letter stream, acknowledged
    # a worker that read 16 messages and died before storing them: they stay pending
    held = client.xreadgroup("g", "crashed", {stream: ">"}, count=16)[0][1]
    assert len(held) == 16 and crashed.consumer == "crashed"
    seen: dict[str, list[str]] = {"w1": [], "w2": []}
    workers = []
    for name in seen:
        processor = Processor(cfg, send=False)
        original = processor.process

        def process(records, _original=original, _name=name):
            seen[_name].extend(r["id"] for r in records)
            return _original(records)

        processor.process = process
        workers.append(RedisSource(cfg.ingest.redis.model_copy(update={"consumer": name}), processor))
    threads = [threading.Thread(target=w.loop, daemon=True) for w in workers]
    for t in threads:
        t.start()
    deadline = time.time() + 120
    store = WatchStore(cfg.store)
    while store.count_items() < len(rows) or client.xpending(stream, "g")["pending"]:
        assert time.time() < deadline, f"stored {store.count_items()} of {len(rows)}"
        time.sleep(0.2)
    for w in workers:
        w.stop.set()
    for t in threads:
        t.join(10)
    ids = [r["item_id"] for r in store.item_rows()]
    assert sorted(ids) == sorted(r["id"] for r in rows)  # nothing lost, nothing stored twice
    assert not set(seen["w1"]) & set(seen["w2"])  # no message processed by both workers
    assert seen["w1"] and seen["w2"]  # both took a share
    assert {m[0] for m in held} <= {m[0] for m in client.xrange(stream)}
    assert client.xlen(f"{stream}:dead") == 1


def test_topics_and_entities_are_stored_and_counted(tmp_path, tiny_bundle, tiny_ner_bundle):
    cfg = load_watch_config(write_yaml(tmp_path, tiny_bundle, topic={"bundle": str(tiny_bundle), "min_score": 0.0},
                                       ner={"bundle": str(tiny_ner_bundle), "types": ["CARD", "LOAN", "TRANSFER"]}))
    processor = Processor(cfg, send=False)
    rows = [{"time": 1796115600.0 + i, "text": text, "id": f"t{i}"} for i, text in
            enumerate(["alpha my card was lost today", "the loan rate is not why", "beta transfer sent to my account"])]
    processor.process(rows)
    stored = {r["item_id"]: r for r in processor.store.item_rows()}
    for r in stored.values():
        assert len(r["topics"]) == 1 and r["topics"][0] in {"card", "loan", "transfer"}
        assert r["keys"][-1] == "all" and r["topics"][0] in r["keys"]  # a topic is a key of its own
        assert isinstance(r["entities"], list) and all(set(e) == {"text", "type"} for e in r["entities"])
    assert stored["t0"]["keys"][0] == "Alpha" and stored["t2"]["keys"][0] == "Beta"
    assert set(processor.detector.series.names()) >= {"Alpha", "Beta", "all", *(r["topics"][0] for r in stored.values())}
