"""Two workers on one stream and one store send each alert once: the first to claim it in the store sends it."""

import json

from domainfit.apps.watch.config import load_watch_config
from domainfit.apps.watch.pipeline import Processor
from domainfit.apps.watch.store import WatchStore
from tests.unit.watch.streams import make_stream, write_yaml


def test_two_workers_send_each_alert_once(tmp_path, tiny_bundle):
    sink = tmp_path / "sent.jsonl"
    cfg = load_watch_config(write_yaml(tmp_path, tiny_bundle, sinks=[f"file:{sink}"]))
    workers = [Processor(cfg), Processor(cfg)]
    rows = make_stream(40, 60, surge=(30, 33))
    # the consumer group's share: the batches go to one worker, then the other, as Redis hands them out
    for i in range(0, len(rows), 64):
        workers[(i // 64) % 2].process(rows[i:i + 64])
    assert all(w.alerts_raised >= 1 for w in workers)  # both detectors raised the surge's alert ...
    sent = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    ids = [s["alert"]["alert_id"] for s in sent]
    stored = WatchStore(cfg.store).alerts()
    assert len(ids) == len(set(ids)) == len(stored)  # ... and each stored alert went out exactly once
    assert sorted(ids) == sorted(a["alert_id"] for a in stored)
    assert any(s["alert"]["key"] == "Alpha" and s["alert"]["kind"] == "negative_share" for s in sent)
    assert sorted(WatchStore(cfg.store).sent_events()) == sorted((i, "open") for i in ids)


def test_a_claimed_alert_is_not_claimed_again(tmp_path):
    first, second = WatchStore(str(tmp_path / "w.db")), WatchStore(str(tmp_path / "w.db"))
    assert first.claim_send("a1") is True
    assert second.claim_send("a1") is False and first.claim_send("a1") is False
    assert second.claim_send("a1", "close") is True and second.claim_send("a2") is True
