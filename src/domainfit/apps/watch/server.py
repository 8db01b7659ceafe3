"""The monitor's web side, one FastAPI app: `POST /v1/ingest` (batches of texts, behind the same API keys and limits
as `domainfit serve`: its KeyGate and RequestContext middleware and its JSON error shape) and the dashboard under
`/watch/` (page, state, chart SVG, false-alarm feedback).

The dashboard's paths are open (no API key: a browser sends none), so bind it to loopback or put it behind the
team's proxy; ingest always needs a key once keys are configured.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from domainfit.apps.watch.config import HttpIngest, WatchConfig
from domainfit.apps.watch.dashboard import catalogue, chart_for, page_html, pick_language, snapshot
from domainfit.apps.watch.records import check_record
from domainfit.apps.watch.store import WatchStore
from domainfit.errors import DataError
from domainfit.serving.app import _install_error_handlers
from domainfit.serving.auth import KeyStore
from domainfit.serving.edge import ApiError, KeyGate, PublicRoutes, RequestContext
from domainfit.serving.telemetry import ServiceMetrics

__all__ = ["watch_app", "watch_router"]

DASHBOARD_PATHS = frozenset({"/", "/healthz", "/watch", "/watch/", "/watch/api/state", "/watch/api/chart.svg",
                             "/watch/api/alerts", "/watch/api/feedback"})


class IngestItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    time: float | str | None = Field(None, description="ISO 8601 or epoch seconds; default: when it arrives")
    source: str | None = None
    id: str | None = None
    url: str | None = None


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[IngestItem] = Field(min_length=1)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alert_id: str = Field(min_length=1, max_length=64)
    verdict: Literal["false_alarm", "confirmed"] = "false_alarm"
    note: str | None = Field(None, max_length=2000)


def watch_router(cfg: WatchConfig, *, store: WatchStore | None = None, poll_seconds: float = 5.0) -> APIRouter:
    """The dashboard's routes over the config's store."""
    store = store or WatchStore(cfg.store)
    router = APIRouter()
    languages = list(cfg.languages)
    cached: dict = {"at": 0.0, "snap": None}

    def snapshot_now() -> dict:
        """One read of the store per poll, whatever the number of charts the page asks for."""
        if cached["snap"] is None or time.monotonic() - cached["at"] > min(poll_seconds / 2, 2.0):
            cached["snap"], cached["at"] = snapshot(store), time.monotonic()
        return cached["snap"]

    @router.get("/watch/", response_class=HTMLResponse)
    def page(request: Request, lang: str | None = None):
        chosen = pick_language(lang, request.headers.get("accept-language"), languages)
        return HTMLResponse(page_html(snapshot(store), chosen, languages, store.feedback(), poll_seconds=poll_seconds))

    @router.get("/watch", include_in_schema=False)
    def page_slash():
        return RedirectResponse("/watch/")

    @router.get("/watch/api/state")
    def state(lang: str = "en"):
        snap = snapshot_now()
        clock = snap["clock"]
        return {"clock": clock, "clock_text": "" if clock is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(clock)),
                "items": snap["items"], "keys": snap["keys"], "alert_count": len(snap["alerts"])}

    @router.get("/watch/api/chart.svg")
    def chart(key: str, lang: str = "en"):
        svg = chart_for(snapshot_now(), key, lang if lang in languages else languages[0])
        if not svg:
            raise ApiError(404, "unknown_key", f"no data for key {key!r}", where="key")
        return Response(svg, media_type="image/svg+xml")

    @router.get("/watch/api/alerts")
    def alerts():
        feedback = store.feedback()
        return {"alerts": [dict(a, feedback=feedback.get(a["alert_id"])) for a in store.alerts()]}

    @router.post("/watch/api/feedback")
    def give_feedback(body: FeedbackRequest):
        if store.alert(body.alert_id) is None:
            raise ApiError(404, "unknown_alert", f"no alert {body.alert_id!r}", where="alert_id")
        store.add_feedback(body.alert_id, body.verdict, body.note)
        return {"status": "recorded", "alert_id": body.alert_id, "verdict": body.verdict}

    return router


def watch_app(cfg: WatchConfig, *, processor=None, store: WatchStore | None = None, keys: KeyStore | None = None,
              poll_seconds: float = 5.0) -> FastAPI:
    """The dashboard, and with a `processor` the ingest endpoint, behind serve's edge middleware."""
    http = cfg.ingest.http or HttpIngest()
    store = store or (processor.store if processor is not None else WatchStore(cfg.store))
    app = FastAPI(title="domainfit watch", version="1")
    app.include_router(watch_router(cfg, store=store, poll_seconds=poll_seconds))

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/watch/")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    if processor is not None:
        @app.post("/v1/ingest", responses={401: {}, 413: {}, 422: {}})
        async def ingest(body: IngestRequest):
            if len(body.items) > http.max_texts:
                raise ApiError(422, "too_many_texts", f"{len(body.items)} items in one request; the limit is "
                               f"max_texts={http.max_texts}", limit=http.max_texts, where="items")
            now = time.time()
            records = []
            for i, item in enumerate(body.items):
                if len(item.text) > http.max_chars:
                    raise ApiError(422, "text_too_long", f"items[{i}].text has {len(item.text)} characters; the limit "
                                   f"is max_chars={http.max_chars}", limit=http.max_chars, where=f"items[{i}].text")
                raw = item.model_dump()
                raw["time"] = now if raw["time"] is None else raw["time"]
                try:
                    records.append(check_record(raw, f"items[{i}]"))
                except DataError as exc:
                    raise ApiError(422, "invalid_item", exc.message + (f" ({exc.hint})" if exc.hint else ""),
                                   where=exc.where) from None
            done = await asyncio.to_thread(processor.process, records)
            return {"received": done.received, "stored": done.stored, "already": done.already, "copies": done.copies,
                    "alerts": done.alerts}

    _install_error_handlers(app)
    keys = keys if keys is not None else KeyStore.from_sources(http.api_keys_file)
    if keys.enabled:
        app.add_middleware(KeyGate, keys=keys, public=PublicRoutes.of(DASHBOARD_PATHS), model_name=lambda: None)
    app.add_middleware(RequestContext, metrics=ServiceMetrics(), max_body=http.max_body_bytes, max_headers=100,
                       max_header_bytes=16_384)
    catalogue(cfg.languages[0])  # fail at start, not on the first page view, if a catalogue is missing
    return app
