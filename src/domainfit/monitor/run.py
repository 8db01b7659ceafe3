"""`domainfit monitor`: one window of the prediction log against the bundle's reference -> drift.json, drift.html,
alerts. Also the corrections export that `domainfit feedback export` writes for retraining."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from domainfit.bundle import load_bundle, write_json
from domainfit.data.clean import normalize_text
from domainfit.data.pii import Redactor
from domainfit.errors import BundleError, DataError, EmptyDataError
from domainfit.i18n import _
from domainfit.interfaces import workflow_for
from domainfit.monitor.alerts import parse_sink, send_alert
from domainfit.monitor.drift import STATUSES, DriftThresholds, compare_stats, input_drift, overall_status
from domainfit.monitor.log import PredictionLog
from domainfit.monitor.report import render_drift
from domainfit.monitor.stats import live_stats

__all__ = ["export_corrections", "monitor", "parse_when", "reference_texts"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(value: str | float | None, *, now: float | None = None) -> float | None:
    """A window bound: unix seconds, an ISO date/time (`2026-11-01`, `2026-11-01T08:00`), or a duration before now
    (`24h`, `7d`, `30m`). None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    now = time.time() if now is None else now
    if text[:-1].replace(".", "", 1).isdigit() and text[-1] in _UNITS:
        return now - float(text[:-1]) * _UNITS[text[-1]]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise DataError(_("cannot read the time {value}").format(value=repr(value)), where="--since/--until",
                        hint=_("give a duration before now (24h, 7d, 30m), a date (2026-11-01) or a date and time "
                               "(2026-11-01T08:00)")) from None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(_local_zone())  # a time without a zone is this machine's local time
    return float(stamp.timestamp())


def _local_zone():
    from datetime import datetime

    return datetime.now().astimezone().tzinfo


def _iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))


def reference_texts(bundle, most: int = 5000) -> list[str]:
    """The texts the reference statistics were computed on (the bundle's saved test split), then validation ones."""
    texts: list[str] = []
    for role in ("test", "val"):
        csv, jsonl = bundle.path / "data" / f"{role}.csv", bundle.path / "data" / f"{role}.jsonl"
        if csv.is_file():
            texts += pd.read_csv(csv, dtype=str, keep_default_na=False)["text"].tolist()
        elif jsonl.is_file():
            texts += [json.loads(line)["text"] for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [t for t in texts if t][:most]


def monitor(bundle_path: str | Path, log_path: str | Path, *, since=None, until=None, model: str | None = None,
            thresholds: DriftThresholds = DriftThresholds(), out_dir: str | Path | None = None,
            alerts: Sequence[str] = (), alert_on: str = "alert", texts: bool = True) -> dict:
    """Compare the logged predictions of a window with the bundle's reference; write drift.json and drift.html in
    `out_dir` (default: <bundle>/monitoring/<date>); send an alert to each sink when the status reaches `alert_on`.
    `texts`: also compare the texts themselves (needs a log that stores them)."""
    if alert_on not in STATUSES[1:]:
        raise DataError(_("unknown alert level {level}").format(level=repr(alert_on)), where="--alert-on",
                        hint=_("use warn or alert"))
    sinks = [parse_sink(spec) for spec in alerts]  # bad specs fail before any work
    bundle = load_bundle(bundle_path)
    reference = bundle.read_json("reference_stats.json")
    if not reference:
        raise BundleError(_("the bundle has no reference_stats.json (it is written when the bundle has a test split)"),
                          where=str(bundle.path), hint=_("retrain with a test file or a test share (data.test_size)"))
    start, end = parse_when(since), parse_when(until)
    with PredictionLog(log_path, create=False) as log:
        rows = log.predictions(since=start, until=end, model=model)
        corrections = log.corrections(since=start, until=end, model=model)
        policy, where = log.texts, log.where  # a URL's password left out
    if rows.empty:
        raise EmptyDataError(_("no logged prediction in the window ({start} to {end})").format(
                                 start=_iso(start) or _("the start"), end=_iso(end) or _("now")),
                             where=where,
                             hint=_("widen --since/--until, or check --model against the served model's name"))
    live = live_stats(bundle.task, rows, reference)
    checks = compare_stats(reference, live, thresholds)
    if texts and policy != "none" and live["n"] >= thresholds.min_rows:
        redact = Redactor(True) if policy == "redacted" else None  # compare like with like: placeholders on both sides
        ref_texts = [redact(t) if redact else t for t in reference_texts(bundle)]
        live_texts = [normalize_text(t) for t in rows["text"].dropna().tolist()]
        checks.append(input_drift(ref_texts, live_texts, thresholds))
    status = overall_status(checks)
    report = {
        "model": model or (rows["model"].iloc[-1] if rows["model"].notna().any() else bundle.path.name),
        "bundle": str(bundle.path), "log": where, "status": status,
        "window": {"from": _iso(float(rows["ts"].min())), "to": _iso(float(rows["ts"].max())), "since": _iso(start), "until": _iso(end)},
        "versions": sorted(str(v) for v in rows["version"].dropna().unique()),
        "thresholds": thresholds.__dict__, "checks": [c.to_dict() for c in checks],
        "live": live, "reference": {k: reference[k] for k in ("n",) if k in reference},
        "corrections": _agreement(corrections),
        **_task_feedback(bundle.task, rows, corrections),
    }
    out = Path(out_dir) if out_dir else bundle.path / "monitoring" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    (out / "drift.html").write_text(render_drift(report), encoding="utf-8")
    if sinks and STATUSES.index(status) >= STATUSES.index(alert_on):
        report["alerts"] = send_alert(sinks, _message(report), {"status": status, "model": report["model"], "window": report["window"],
                                      "checks": [{k: c[k] for k in ("name", "statistic", "value", "p_value", "status")} for c in report["checks"]],
                                      "report": str(out / "drift.html")})
    write_json(out / "drift.json", report)
    report["output"] = str(out)
    return report


def _task_feedback(task: str, rows: pd.DataFrame, corrections: pd.DataFrame) -> dict:
    """A task's own reading of the feedback (`Workflow.feedback_stats`, optional; recommend: click-through)."""
    stats = getattr(workflow_for(task), "feedback_stats", None)
    return {"feedback": stats(rows, corrections)} if stats is not None else {}


def _agreement(corrections: pd.DataFrame) -> dict | None:
    if corrections.empty:
        return None
    return {"n": len(corrections), "agreement": float((corrections["label"] == corrections["predicted"]).mean())}


def _message(report: dict) -> str:
    moved = [f"{c['name']} ({c['statistic']} {c['value']})" for c in report["checks"] if c["status"] in ("warn", "alert")]
    return (f"domainfit drift {report['status']} for {report['model']}: {', '.join(moved) or 'nothing'} "
            f"over {report['live']['n']} predictions ({report['window']['from']} to {report['window']['to']})")


def export_corrections(log_path: str | Path, output: str | Path, *, since=None, until=None, model: str | None = None) -> dict:
    """The corrections as a training table (text, label, plus predicted label, when, who): the input of a retrain.
    Corrections whose text the log did not keep (text policy `none`) cannot be used and are counted."""
    with PredictionLog(log_path, create=False) as log:
        rows = log.corrections(since=parse_when(since), until=parse_when(until), model=model)
    usable = rows[rows["text"].notna() & (rows["text"].astype(str).str.len() > 0)]
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    usable.to_csv(out, index=False, encoding="utf-8-sig")
    return {"output": str(out), "corrections": len(rows), "written": len(usable), "without_text": len(rows) - len(usable),
            "changed_label": int((usable["label"] != usable["predicted"]).sum())}
