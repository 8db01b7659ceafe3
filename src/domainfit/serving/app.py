"""The FastAPI app factory: `create_app(source, settings)`; the model is loaded once, in the lifespan.

Routes: POST /v1/predict, POST /v1/feedback (with a prediction log), GET /v1/models, /healthz, /readyz, /metrics
(Prometheus), and the OpenAPI docs (which need a key when keys are on, unless `public_docs`). With `prediction_log`
set, every prediction is written to it (SQLite, `domainfit.monitor.log`) on the worker thread before its response is
sent, so a crash loses no answered prediction; a write that fails is counted and logged, and the request answered
(`on_log_error: answer`) or refused with 503 (`refuse`). Every response carries the server's `x-request-id`; every
error is JSON: {"error": {"code", "message", ...}, "request_id"}. The ASGI checks in front of the routes (keys,
limits, the 500) are in `edge.py`.

The response schema (and so /openapi.json) is built once, from the bundle of the version served first (read through
`load_bundle`, which checks its format version and manifest), and that same version is the one loaded; a hot swap to
a version with another task or other labels is refused (`models.ModelSlot.refresh`), so the schema stays true.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from domainfit.backbones.encoder import available_cores
from domainfit.bundle import Bundle, load_bundle
from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.interfaces import ReadsTargets, workflow_for
from domainfit.monitor.log import PredictionLog
from domainfit.serving.auth import KeyStore
from domainfit.serving.batching import MicroBatcher
from domainfit.serving.contract import Contract
from domainfit.serving.edge import ApiError, BodyTooLarge, KeyGate, PublicRoutes, RequestContext, SafeJSONResponse, error_body
from domainfit.serving.models import BundleSource, ModelSlot, RegistrySource, open_source
from domainfit.serving.settings import ServeSettings
from domainfit.serving.telemetry import ServiceMetrics

__all__ = ["ApiError", "check_text", "create_app"]

log = logging.getLogger("domainfit.serve")

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"texts": ["I lost my card yesterday", "how do I top up with a cheque?"], "top_k": 3}]})

    texts: list[str] = Field(..., min_length=1, description="one or more texts to predict")
    top_k: int = Field(1, ge=1, description="how many labels (most probable first) to return per text")
    explain: StrictBool = Field(False, description="also return `explanations`: per text, the words that made the prediction, "
                                             "weighted (costs many model calls per text; off by default)")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"request_id": "3f2a...", "item": 0, "label": "card_lost"}]})

    request_id: str = Field(..., min_length=1, max_length=128, description="the request_id of the prediction being "
                            "corrected (the one in its response, the server's)")
    item: int = Field(0, ge=0, le=2**31 - 1, description="which text of that request (0 for the first)")
    label: str = Field(..., min_length=1, description="the correct label (multilabel: joined with the task's separator; "
                                                      "regression: the number; retrieval: the answer id)")


_FROZEN = False


def _freeze_startup_objects() -> None:
    """The objects made while starting (modules, the model, tokenizer tables: millions) are kept out of the garbage
    collector's full passes (`gc.freeze`); otherwise each full pass walks them all and stalls every request in flight
    for a few hundred milliseconds, which is most of the server's p99 under load. Once per process: frozen objects
    are never collected, so a model swapped in later (or an app built again in the same process) is left to the
    collector."""
    import gc

    global _FROZEN
    if _FROZEN:
        return
    _FROZEN = True
    gc.collect()
    gc.freeze()


def _schemas(bundle: Bundle):
    prediction = bundle.make_task().prediction_model(bundle.labels)
    response = create_model("PredictResponse", model=(str, Field(..., description="served model name")),
                            version=(str, Field(..., description="its version")),
                            request_id=(str, ...), predictions=(list[prediction], Field(..., description="one per text, in order")),
                            explanations=(list[Explanation] | None, Field(None, description="with `explain: true`: one per text")))
    return response


def create_app(source: str | Path | BundleSource | RegistrySource, settings: ServeSettings | None = None, *,
               keys: KeyStore | None = None, public: PublicRoutes | None = None) -> FastAPI:
    """`source`: a bundle folder, a registry URI (`models:/name@champion`) or a source object
    (`current_version()`, `path_for(version)`, `load(version, variant=, threads=)`, `name`, `follows`).
    `public`: more routes that need no API key (an application's page; its API calls still do)."""
    settings = settings or ServeSettings()
    if isinstance(source, (str, Path)):
        source = open_source(source, settings.registry)
    keys = keys if keys is not None else KeyStore.from_sources(settings.api_keys_file)
    auth_on = keys.enabled if settings.require_auth is None else settings.require_auth
    if auth_on and not keys.enabled:
        raise ConfigError([("require_auth", _("is on but no API key is configured: set DOMAINFIT_API_KEYS or "
                                              "api_keys_file (`domainfit keygen` makes one)"))])
    version = source.current_version()  # the schema is built from this version, and it is the one loaded at startup
    served = load_bundle(source.path_for(version))
    response_model = _schemas(served)

    threads = settings.threads or max(1, available_cores() - 1)
    metrics = ServiceMetrics()
    slot = ModelSlot(source, contract=Contract.of(served), variant=settings.variant, threads=threads,
                     on_refused=lambda reason: metrics.reload_refused.labels(reason).inc())
    plog = None
    if settings.prediction_log is not None:
        plog = PredictionLog(settings.prediction_log, texts=settings.log_texts)
    batcher = MicroBatcher(lambda items: _run_batch(slot, items, plog, metrics, refuse=settings.on_log_error == "refuse"),
                           enabled=settings.batching,
                           max_batch_size=settings.max_batch_size, max_wait_ms=settings.max_wait_ms,
                           on_batch=metrics.batch_size.observe)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loaded = await asyncio.to_thread(slot.load_initial, version)
        metrics.set_model(loaded.name, loaded.version, loaded.predictor.variant)
        await batcher.start()
        follower = asyncio.create_task(_follow(slot, metrics, settings.poll_seconds)) if source.follows else None
        _freeze_startup_objects()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            if follower is not None:
                follower.cancel()
            await batcher.stop()
            if plog is not None:
                plog.close()

    app = FastAPI(title="domainfit model service", version="1", lifespan=lifespan,
                  description=f"Predictions of the `{source.name}` model ({served.task}, {len(served.labels)} labels).")
    app.state.ready = False
    app.state.slot, app.state.metrics, app.state.batcher, app.state.settings = slot, metrics, batcher, settings
    app.state.auth_on = auth_on
    app.state.prediction_log = plog  # an application mounted on this app (the assistant) logs and corrects through it

    @app.post("/v1/predict", response_model=response_model, summary="Predict one or many texts",
              responses={401: {}, 403: {}, 413: {}, 422: {}, 500: {}, 503: {}})
    async def predict(body: PredictRequest, request: Request):
        if len(body.texts) > settings.max_texts:
            raise ApiError(422, "too_many_texts", f"{len(body.texts)} texts in one request; the limit is max_texts={settings.max_texts}",
                           limit=settings.max_texts, where="texts")
        for i, text in enumerate(body.texts):
            if len(text) > settings.max_chars:
                raise ApiError(422, "text_too_long", f"texts[{i}] has {len(text)} characters; the limit is max_chars={settings.max_chars}",
                               limit=settings.max_chars, where=f"texts[{i}]")
            _check_text(text, f"texts[{i}]")
        if body.top_k > settings.max_top_k:
            raise ApiError(422, "top_k_too_large", f"top_k={body.top_k}; the limit is max_top_k={settings.max_top_k}",
                           limit=settings.max_top_k, where="top_k")
        if not app.state.ready:
            raise ApiError(503, "not_ready", "the model is not loaded yet (or the server is shutting down)")
        state = request.scope["state"]
        rid = state["request_id"]
        result = await batcher.submit(body.texts, {"top_k": body.top_k, "request_id": rid,
                                                   "client_request_id": state.get("client_request_id"),
                                                   "key_id": state.get("key_id")})
        model = result.model
        counter = metrics.predictions
        for p in result.outputs:
            counter.labels(model.name, p.get("label") or "").inc()  # retrieval: label null when no answer is good enough
        metrics.texts.inc(len(body.texts))
        if settings.log_predictions:
            log.info("predictions", extra={"fields": {"request_id": rid, "version": model.version,
                                                       "labels": [p.get("label") for p in result.outputs]}})
        body_out = {"model": model.name, "version": model.version, "request_id": rid, "predictions": result.outputs}
        if body.explain:
            body_out["explanations"] = await asyncio.to_thread(_explanations, model, body.texts)
        return JSONResponse(body_out)

    @app.post("/v1/feedback", summary="Correct a logged prediction", responses={401: {}, 403: {}, 404: {}, 422: {}})
    async def feedback(body: FeedbackRequest, request: Request):
        if plog is None:
            raise ApiError(404, "no_prediction_log", "corrections are kept with the predictions: start the server with "
                           "--prediction-log FILE (prediction_log: in the settings)")
        _check_text(body.request_id, "request_id")
        _check_text(body.label, "label")
        if len(body.label) > settings.max_chars:
            raise ApiError(422, "text_too_long", f"label has {len(body.label)} characters; the limit is max_chars={settings.max_chars}",
                           limit=settings.max_chars, where="label")
        model = slot.current
        problem = _feedback_problem(model, body.label) if model is not None else None
        if problem:
            raise ApiError(422, "bad_label", problem, where="label")
        state = request.scope["state"]
        if not await asyncio.to_thread(plog.add_feedback, body.request_id, body.item, body.label,
                                       source=state.get("key_name"), key_id=state.get("key_id")):
            raise ApiError(404, "unknown_prediction", f"no logged prediction for request_id {body.request_id!r}, item {body.item}",
                           where="request_id")
        metrics.feedback.inc()
        return {"status": "recorded", "request_id": body.request_id, "item": body.item, "label": body.label}

    @app.get("/v1/models", summary="The served model: name, version, task, labels, metrics")
    async def models():
        if slot.current is None:
            raise ApiError(503, "not_ready", "the model is not loaded yet")
        return {"models": [slot.current.describe()]}

    @app.get("/healthz", summary="Liveness: the process answers")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: a model is loaded and the server accepts work")
    async def readyz():
        current = slot.current
        body = {"status": "ready" if app.state.ready and current else "not_ready",
                "model": current.name if current else None, "version": current.version if current else None,
                "swaps": slot.swaps, "last_reload_error": slot.last_error}
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus():
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.exposed()), media_type=CONTENT_TYPE_LATEST)

    task_routes = getattr(workflow_for(served.task), "routes", None)  # a task's own endpoints (recommend: /v1/recommend)
    if task_routes is not None:
        app.include_router(task_routes(SimpleNamespace(slot=slot, settings=settings, metrics=metrics, plog=plog, error=ApiError,
                                                       check_text=_check_text, ready=lambda: app.state.ready)))
    _install_error_handlers(app)
    if auth_on:  # innermost of the three: CORS answers preflights (no key) itself, the request id is already set
        open_paths = OPEN_PATHS | DOCS_PATHS if settings.public_docs else OPEN_PATHS
        app.add_middleware(KeyGate, keys=keys, public=PublicRoutes.of(open_paths) | (public or PublicRoutes()),
                           model_name=lambda: slot.current.name if slot.current is not None else None)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"])
    app.add_middleware(RequestContext, metrics=metrics, max_body=settings.max_body_bytes, max_headers=settings.max_headers,
                       max_header_bytes=settings.max_header_bytes)
    return app


class ExplainedWord(BaseModel):
    word: str
    start: int = Field(..., description="character offsets in `text`")
    end: int
    weight: float = Field(..., description="how much the word raised (or, negative, lowered) the explained score")


class Explanation(BaseModel):
    model_config = ConfigDict(extra="allow")

    method: str = Field(..., description="the explainer: integrated_gradients or occlusion")
    target: str | None = Field(..., description="the label explained (the predicted one); null for regression")
    score: float
    text: str = Field(..., description="the text as the model read it (normalised, redacted)")
    words: list[ExplainedWord]


def _explanations(model, texts: list[str]) -> list[dict]:
    """Explanations of `texts` by the model that answered them (on a worker thread: they cost many model calls)."""
    from domainfit.errors import DomainfitError
    from domainfit.evaluation.explain import explain

    try:
        return explain(model.predictor, texts)
    except DomainfitError as exc:
        raise ApiError(422, "explain_unsupported", exc.message, where="explain") from None


def _check_text(text: str, where: str) -> None:
    """422 for text that is no Unicode text: a lone surrogate (JSON lets `\\ud800` through) cannot be encoded, so
    neither the tokenizer nor the log could take it, and it would fail the batch it joined."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(422, "invalid_text", f"{where} is not valid Unicode: a lone surrogate (U+{ord(text[exc.start]):04X}) "
                       f"at character {exc.start}; send UTF-8 text (in JSON, a \\ud800-\\udbff escape must be followed by "
                       "a \\udc00-\\udfff one)", where=where) from None


check_text = _check_text  # for the applications that take texts of their own (domainfit.apps)


def _run_batch(slot: ModelSlot, items, plog=None, metrics: ServiceMetrics | None = None, *, refuse: bool = False):
    """Runs on the worker thread: one model call for every text of every request in the batch; then, with a
    prediction log, one transaction writing them all before any answer leaves. When that write fails: counted,
    logged, and the answers sent anyway, or (`refuse`) each request answered 503 instead."""
    model = slot.current  # taken once: a swap during this batch does not affect it
    texts = [t for request_texts, _options in items for t in request_texts]
    scores = model.predictor.predict_scores(texts)
    task, labels = model.predictor.task, model.labels
    outputs, at = [], 0
    for request_texts, options in items:
        n = len(request_texts)
        outputs.append(task.format(scores[at:at + n], labels, options.get("top_k", 1)))
        at += n
    if plog is not None:
        try:
            written = plog.append((options.get("request_id"), model.name, model.version, request_texts, out,
                                   options.get("client_request_id"), options.get("key_id"))
                                  for (request_texts, options), out in zip(items, outputs))
            if metrics is not None:
                metrics.logged.inc(written)
        except Exception:  # a full disk need not take the service down: counted, logged, and answered or refused
            log.exception("prediction log write failed", extra={"fields": {
                "request_ids": [options.get("request_id") for _texts, options in items], "refused": refuse}})
            if metrics is not None:
                metrics.log_errors.inc()
            if refuse:
                return [ApiError(503, "prediction_log_failed", "the prediction could not be written to the prediction "
                                 "log, and this server answers only logged predictions (on_log_error: refuse); retry",
                                 headers={"Retry-After": "1"}) for _item in items], model
    return outputs, model


def _feedback_problem(model, label: str) -> str | None:
    """Why a corrected label cannot be right for this model (None: it can)."""
    task = model.predictor.task
    if not isinstance(task, ReadsTargets):  # a task whose target is one cell (not entity spans) checks the correction
        return None
    try:
        parsed = task.parse_target(label)
    except ValueError as exc:
        return f"{label!r} is not a label of this task: {exc}"
    unknown = [lab for lab in task.label_set([parsed]) if lab not in set(model.labels)]  # regression: ["score"]
    if unknown:
        return f"{', '.join(map(repr, unknown))} is not among the model's labels ({len(model.labels)}; GET /v1/models lists them)"
    return None


async def _follow(slot: ModelSlot, metrics: ServiceMetrics, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        if await asyncio.to_thread(slot.refresh):
            metrics.swaps.inc()
            metrics.set_model(slot.current.name, slot.current.version, slot.current.predictor.variant)


def _problem(error: dict) -> dict:
    """One validation problem as {where, message}; for bad JSON, where it broke and why (FastAPI puts the position
    in `loc`)."""
    if error.get("type") == "json_invalid":
        at = [p for p in error.get("loc", ()) if p != "body"]
        why = (error.get("ctx") or {}).get("error", "")
        return {"where": "body", "message": f"the body is not valid JSON: {why}" + (f" at character {at[0]}" if at else "")}
    return {"where": ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body", "message": error.get("msg", "")}


_UNREADABLE = {RecursionError: "the JSON nests too deeply", UnicodeDecodeError: "the body is not UTF-8 text",
               ValueError: "a number in the JSON has more digits than Python reads (4300)"}


def _install_error_handlers(app: FastAPI) -> None:
    def rid(request: Request) -> str | None:
        return request.scope.get("state", {}).get("request_id")

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return SafeJSONResponse(error_body(rid(request), exc.code, exc.message, **exc.details), status_code=exc.status,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = [_problem(e) for e in exc.errors()]
        message = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
        code = "malformed_json" if any(e.get("type") == "json_invalid" for e in exc.errors()) else "invalid_request"
        return SafeJSONResponse(error_body(rid(request), code, message, problems=problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if isinstance(exc, BodyTooLarge):
            return SafeJSONResponse(error_body(rid(request), "body_too_large", exc.detail, limit=exc.limit), status_code=413)
        why = _UNREADABLE.get(type(exc.__cause__)) if exc.status_code == 400 else None
        if why is not None:  # FastAPI read the body but could not parse it as JSON: malformed, like any bad JSON
            return SafeJSONResponse(error_body(rid(request), "malformed_json", why, problems=[{"where": "body", "message": why}]),
                                    status_code=422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = f"no route {request.method} {request.url.path}; see /docs" if exc.status_code == 404 else str(exc.detail)
        return SafeJSONResponse(error_body(rid(request), code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    # Anything else is answered by edge.RequestContext: a 500 naming only the request id, the traceback in the log
    # (there, not here, so that the 500 carries the x-request-id header too).
