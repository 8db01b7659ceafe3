"""`domainfit watch replay`: the live pipeline over a file of past texts (a backtest), into out/: alerts.jsonl,
series.parquet (counts per key and window at each step), report.html (charts with the alerts marked) and the
replay's own store (watch.db), which the dashboard can open."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from domainfit.apps.watch.config import WatchConfig
from domainfit.apps.watch.pipeline import Processor
from domainfit.apps.watch.records import read_records
from domainfit.apps.watch.report import write_backtest_report
from domainfit.apps.watch.store import WatchStore
from domainfit.i18n import _

__all__ = ["refresh_report", "replay"]


def replay(cfg: WatchConfig, stream: str | Path, out: str | Path, *, reporter=None, send: bool = False,
           records: list[dict] | None = None, processor: Processor | None = None) -> dict:
    """Run the stream file (or `records`) through a fresh store in `out`; returns a summary with the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records = records if records is not None else read_records(stream)
    records = sorted(records, key=lambda r: r["time"])
    if processor is None:
        db = out / "watch.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        processor = Processor(cfg.model_copy(update={"store": str(db)}), store=WatchStore(str(db)), send=send)
    processor.detector.log = []
    advance = reporter.progress(_("replaying"), len(records)) if reporter else (lambda n: None)
    start = time.perf_counter()
    stored = copies = 0
    chunk = 16 * cfg.batch_size  # records per transaction: the model still sees batches of batch_size
    for i in range(0, len(records), chunk):
        batch = records[i:i + chunk]
        done = processor.process(batch)
        stored, copies = stored + done.stored, copies + done.copies
        advance(len(batch))
    elapsed = time.perf_counter() - start
    alerts = processor.store.alerts()
    with (out / "alerts.jsonl").open("w", encoding="utf-8") as fh:
        for a in alerts:
            fh.write(json.dumps(public_alert(a), ensure_ascii=False) + "\n")
    series = pd.DataFrame(processor.detector.log)
    if len(series):
        series["window_end"] = pd.to_datetime(series["window_end"], unit="s", utc=True)
    series.to_parquet(out / "series.parquet", index=False)
    summary = {"items": len(records), "stored": stored, "copies": copies, "stories": stored - copies,
               "alerts": len(alerts), "seconds": round(elapsed, 3),
               "items_per_s": round(len(records) / elapsed, 1) if elapsed else None,
               "alerts_file": str(out / "alerts.jsonl"), "series_file": str(out / "series.parquet"),
               "report": str(out / "report.html"), "store": str(processor.store.engine.url)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    write_backtest_report(out / "report.html", series, alerts, processor.store.feedback(), summary)
    return summary


def public_alert(a: dict) -> dict:
    """An alert as alerts.jsonl shows it: times in ISO 8601 (the *_s epoch copies are the store's)."""
    return {k: v for k, v in a.items() if not k.endswith("_s")}


def refresh_report(out: str | Path) -> Path:
    """Write out/report.html again from out/series.parquet and out/watch.db: the alerts as they stand now, with the
    feedback given on the dashboard since the replay."""
    out = Path(out)
    store = WatchStore(str(out / "watch.db"))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return write_backtest_report(out / "report.html", pd.read_parquet(out / "series.parquet"), store.alerts(),
                                 store.feedback(), summary)
