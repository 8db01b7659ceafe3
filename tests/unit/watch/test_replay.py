"""`replay` end to end on the tiny bundle: a known surge in a stream with reposts -> one alert, the outputs written."""

import json

import pandas as pd

from domainfit.apps.watch.config import load_watch_config
from domainfit.apps.watch.replay import replay
from tests.unit.watch.streams import T0, H, make_stream, write_stream


def test_replay_finds_the_surge_and_collapses_reposts(tmp_path, watch_yaml):
    cfg = load_watch_config(watch_yaml)
    rows = make_stream(40, 60, surge=(30, 33), reposts=3)
    summary = replay(cfg, write_stream(tmp_path / "stream.csv", rows), tmp_path / "out")
    assert summary["items"] == len(rows) and summary["stored"] == len(rows)
    assert summary["copies"] == sum(1 for r in rows if "-copy" in r["id"])  # each counted once, as its story
    alerts = [json.loads(line) for line in (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()]
    negative = [a for a in alerts if a["kind"] == "negative_share"]
    assert [a["key"] for a in negative if a["key"] == "Alpha"] == ["Alpha"]  # one event, one alert
    alpha = next(a for a in negative if a["key"] == "Alpha")
    assert T0 + 30 * H <= pd.Timestamp(alpha["time"]).timestamp() <= T0 + 31.5 * H
    assert {"time", "key", "kind", "window_start", "window_end", "observed", "expected", "p_value", "top_ids"} <= set(alpha)
    assert alpha["top_ids"] and all(i.startswith("r") for i in alpha["top_ids"])
    assert not any(a["kind"] == "negative_share" and a["key"] == "Beta" for a in alerts)
    series = pd.read_parquet(tmp_path / "out" / "series.parquet")
    assert {"key", "window", "window_end", "stories", "negative", "negative_share"} <= set(series.columns)
    assert set(series["key"]) >= {"Alpha", "all"}
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Alpha" in html and "negative_share" in html
