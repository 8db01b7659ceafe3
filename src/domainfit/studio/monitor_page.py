"""The Monitor page: a prediction log (the file `domainfit serve --prediction-log` writes) against a bundle's
reference, as charts over time and alerts, with corrections.

The log's span is cut into equal windows and `domainfit.monitor` — the function `domainfit monitor` runs — judges
each one (its drift.json and drift.html go to <workdir>/monitoring/<log>/window-<i>/); each check's effect size is
drawn across the windows, coloured by its status, and every check that reached warn or alert is listed. A logged
prediction corrected here goes through `domainfit.correct` into the log's feedback table, the same call as
POST /v1/feedback, which `domainfit feedback export` (the button below the table) turns into the rows that
`domainfit retrain --new` reads. Written by hand: the windowing and the chart coordinates (presentation only).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from domainfit import api
from domainfit.bundle import read_meta
from domainfit.errors import DataError, DomainfitError, EmptyDataError
from domainfit.i18n import _
from domainfit.studio import files

__all__ = ["drift_timeline", "register"]

LOG_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_W, _H = 360, 90  # a chart's drawing area (the SVG viewBox)


def prediction_logs(workdir: Path, configured: str | None) -> list[str]:
    found = [p for p in files.listed(workdir) if p.suffix.lower() in LOG_SUFFIXES]
    return ([configured] if configured else []) + [p.relative_to(workdir).as_posix() for p in found]


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", Path(str(text)).stem)[:60] or "log"


def drift_timeline(bundle: Path, log: str, out: Path, *, windows: int, min_rows: int) -> dict:
    """Each window's report from `domainfit.monitor`, the checks drawn across the windows, the alerts."""
    with api.prediction_log(log) as plog:
        counts = plog.counts()
    if not counts["predictions"]:
        raise EmptyDataError(_("the prediction log holds no prediction yet"), where=str(log),
                             hint=_("serve the model with --prediction-log and send it some texts"))
    # The same log (no new prediction or correction) against the same bundle gives the same timeline: judged once,
    # not on every view of the page (each window is a whole `domainfit monitor` run).
    key = (str(bundle), str(log), windows, min_rows, counts["predictions"], counts["last"], counts["corrections"],
           max((f.stat().st_mtime_ns for f in Path(bundle).iterdir() if f.is_file()), default=0))
    if key in _timelines:
        return _timelines[key]
    _timelines[key] = timeline = _judge(bundle, log, out, counts, windows=windows, min_rows=min_rows)
    while len(_timelines) > 8:
        _timelines.pop(next(iter(_timelines)))
    return timeline


_timelines: dict[tuple, dict] = {}  # drift_timeline's last results (this process), oldest first


def _judge(bundle: Path, log: str, out: Path, counts: dict, *, windows: int, min_rows: int) -> dict:
    from domainfit.monitor.drift import DriftThresholds

    first, last = float(counts["first"]), float(counts["last"])
    step = max(last - first, 1e-6) / windows
    reports = []
    for i in range(windows):
        since, until = first + i * step, (first + (i + 1) * step if i < windows - 1 else last + 1e-3)
        try:
            report = api.monitor(bundle, log, since=since, until=until, thresholds=DriftThresholds(min_rows=min_rows),
                                 out_dir=out / f"window-{i}")
        except EmptyDataError:  # a quiet window: a gap in the charts
            continue
        reports.append({"index": i, "from": report["window"]["from"], "to": report["window"]["to"],
                        "status": report["status"], "n": report["live"]["n"], "checks": report["checks"],
                        "drift": (out / f"window-{i}").as_posix(), "corrections": report.get("corrections")})
    names = list(dict.fromkeys(c["name"] for r in reports for c in r["checks"]))
    charts = [_chart(name, reports, windows) for name in names]
    alerts = [{"window": r["from"], "name": c["name"], "status": c["status"], "statistic": c["statistic"], "value": c["value"],
               "p_value": c["p_value"], "what": c["what"], "drift": r["drift"]}
              for r in reports for c in r["checks"] if c["status"] in ("warn", "alert")]
    return {"windows": reports, "charts": charts, "alerts": alerts, "counts": counts}


def _chart(name: str, reports: list[dict], windows: int) -> dict:
    points = []
    for r in reports:
        check = next((c for c in r["checks"] if c["name"] == name), None)
        if check is not None and check["value"] is not None:
            points.append((r["index"], float(check["value"]), check["status"], r["from"], check["statistic"]))
    top = max([p[1] for p in points] + [1e-9])
    x = lambda i: round(8 + (_W - 16) * (i / max(windows - 1, 1)), 1)
    y = lambda v: round(_H - 6 - (_H - 12) * v / top, 1)
    dots = [{"x": x(i), "y": y(v), "status": s, "label": f"{when}: {stat} {v:.3f} ({s})"} for i, v, s, when, stat in points]
    return {"name": name, "statistic": points[0][4] if points else "", "top": top,
            "line": " ".join(f"{d['x']},{d['y']}" for d in dots), "dots": dots}


def register(app, *, page, inside, settings, workdir: Path) -> None:
    def log_target(log: str) -> str:
        if settings.prediction_log and log == settings.prediction_log:
            return log  # the one the studio was started with (a file anywhere, or a database URL)
        path = inside(log, "log")
        if not path.is_file():
            raise DataError(_("no prediction log {log} in the working folder").format(log=repr(log)), where="log",
                            hint=_("pick one from the list, or start the studio with --prediction-log"))
        return str(path)

    @app.get("/monitor")
    async def monitor_page(request: Request, log: str = "", bundle: str = "", windows: int = 6, min_rows: int = 200):
        context = {"logs": prediction_logs(workdir, settings.prediction_log), "bundles": files.bundles(workdir),
                   "log": log, "bundle": bundle, "windows": windows, "min_rows": min_rows, "timeline": None, "error": None,
                   "predictions": [], "labels": []}
        if log and bundle:
            target, folder = log_target(log), inside(bundle, "bundle")
            windows = min(max(int(windows), 1), 24)
            try:
                context["timeline"] = await asyncio.to_thread(drift_timeline, folder, target, workdir / "monitoring" / _slug(log),
                                                              windows=windows, min_rows=max(int(min_rows), 1))
            except DomainfitError as exc:
                context["error"] = exc
            context["predictions"] = await asyncio.to_thread(_latest, target)
            context["labels"] = list(read_meta(folder).labels)
        return page(request, "monitor.html", **context)

    @app.post("/monitor/correct")
    async def monitor_correct(request: Request):
        body = await request.json()
        target, label = log_target(str(body.get("log") or "")), str(body.get("label") or "").strip()
        if not label:
            raise DataError(_("the right label is empty"), where="label",
                            hint=_("pick the label the text should have had"))
        if body.get("bundle"):
            labels = list(read_meta(inside(str(body["bundle"]), "bundle")).labels)
            if labels and label not in labels:
                raise DataError(_("{label} is not among the model's labels").format(label=repr(label)), where="label",
                                hint=_("one of: {labels}").format(labels=", ".join(labels)))
        who = request.scope.get("state", {}).get("key_name") or "studio"
        if not await asyncio.to_thread(api.correct, target, str(body.get("request_id") or ""), int(body.get("item") or 0), label,
                                       source=who):
            raise DataError(_("no logged prediction {request_id} item {item}").format(
                                request_id=repr(body.get("request_id")), item=body.get("item")), where="request_id",
                            hint=_("correct a prediction listed on the Monitor page"))
        return {"status": "recorded", "label": label, "source": who}

    @app.get("/monitor/export")
    async def monitor_export(log: str):
        out = workdir / "corrections" / f"{_slug(log)}.csv"
        await asyncio.to_thread(api.export_corrections, log_target(log), out)
        return Response(out.read_bytes(), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="{out.name}"'})

    @app.get("/monitor/drift")
    async def monitor_drift(window: str):
        report = inside(window, "window") / "drift.html"
        if not report.is_file():
            raise DataError(_("no drift report in {window}").format(window=window), where="window",
                            hint=_("open the Monitor page for the log first"))
        return HTMLResponse(report.read_text(encoding="utf-8"))


def _latest(log: str, limit: int = 40) -> list[dict]:
    """The newest logged predictions with their correction, if one was made."""
    with api.prediction_log(log) as plog:
        rows = plog.predictions(limit=limit)
        fixed = plog.corrections()
    known = {(r.request_id, int(r.item)): r.label for r in fixed.itertuples()}
    return [{"request_id": r.request_id, "item": int(r.item), "text": r.text if isinstance(r.text, str) else "",
             "label": r.label, "score": r.score, "corrected": known.get((r.request_id, int(r.item)))}
            for r in rows.iloc[::-1].itertuples()]
