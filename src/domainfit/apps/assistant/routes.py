"""The assistant's HTTP API, mounted on the model service's app (its keys, limits, metrics and prediction log):

    POST /v1/assist                       {conversation_id, message} → {reply, source, intent, confidence, out_of_scope,
                                          handoff_reason, ...}
    GET  /v1/conversations/{id}           its turns (the customer's page polls it for an agent's replies)
    GET  /v1/handoffs                     the hand-off queue (agent tools poll it), each entry with its last turns
    POST /v1/handoffs/{id}/intent         {intent}: the agent's correction → the feedback store `domainfit retrain` reads
    POST /v1/handoffs/{id}/reply          {message}: the agent answers in the conversation
    POST /v1/handoffs/{id}/resolve        closed; the conversation goes back to the assistant

The handlers read what they need from `request.app.state` (`assist`: the loaded assistant, its store and executor;
`batcher`, `slot`, `settings`, `prediction_log`: the model service's), so the router is built once, from nothing.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from domainfit.apps.assistant.decision import needs_faq, read_intent
from domainfit.serving.app import ApiError, check_text

__all__ = ["AssistRequest", "assist_router"]


class AssistRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"conversation_id": "c-1029", "message": "I lost my card ending 4242"}]})

    conversation_id: str = Field(..., min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$",
                                 description="the conversation this message belongs to (the client chooses it)")
    message: str = Field(..., min_length=1, description="what the customer wrote")


class AssistResponse(BaseModel):
    conversation_id: str
    reply: str
    source: Literal["intent", "faq", "handoff", "clarify"] = Field(..., description="where the reply came from: the "
                                                                   "intent's answer, the FAQ, a hand-off, or a request to rephrase")
    intent: str | None = Field(..., description="the intent model's reading (also when it was not trusted)")
    confidence: float
    out_of_scope: bool
    handoff_reason: str | None
    language: Literal["en", "zh"]
    faq_id: str | None
    handoff_id: int | None = Field(..., description="the queue entry this message opened, if any")
    request_id: str = Field(..., description="the prediction log's key of this message's intent prediction")


class CorrectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    intent: str = Field(..., min_length=1, max_length=256)


class AgentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(..., min_length=1)


def _checked(request: Request, text: str, where: str) -> str:
    limit = request.app.state.settings.max_chars
    if len(text) > limit:
        raise ApiError(422, "text_too_long", f"{where} has {len(text)} characters; the limit is max_chars={limit}",
                       limit=limit, where=where)
    check_text(text, where)
    return text


def _ready(request: Request):
    ctx = getattr(request.app.state, "assist", None)
    if not request.app.state.ready or ctx is None:
        raise ApiError(503, "not_ready", "the assistant is not loaded yet (or the server is shutting down)")
    return ctx


def _entry_or_404(entry, handoff_id: int):
    if entry is None:
        raise ApiError(404, "unknown_handoff", f"no hand-off {handoff_id}", where="handoff_id")
    return entry


def assist_router() -> APIRouter:
    router = APIRouter(tags=["assistant"])
    errors = {401: {}, 403: {}, 404: {}, 413: {}, 422: {}, 500: {}, 503: {}}

    @router.post("/v1/assist", response_model=AssistResponse, summary="Answer one customer message", responses=errors)
    async def assist(body: AssistRequest, request: Request):
        message = _checked(request, body.message, "message")
        ctx = _ready(request)
        scope_state = request.scope["state"]
        rid = scope_state["request_id"]
        conversation = await asyncio.to_thread(ctx.store.state, body.conversation_id)
        result = await request.app.state.batcher.submit([message], {
            "top_k": ctx.config.intents.top_k, "request_id": rid, "client_request_id": scope_state.get("client_request_id"),
            "key_id": scope_state.get("key_id")})
        reading = read_intent(result.outputs[0])
        assistant = ctx.assistant
        hit = await ctx.faq_hit(message) if needs_faq(reading, assistant.policy) else None  # asked only when needed
        reply = await ctx.run(lambda: assistant.respond(message, reading, conversation, faq=hit))
        decision = reply.decision
        recorded = await asyncio.to_thread(ctx.store.record, body.conversation_id, message, decision, reply.text,
                                           language=reply.language, request_id=rid, top=reading.top)
        ctx.turns.labels(decision.source).inc()
        if decision.new_handoff:
            ctx.handoffs.labels(decision.handoff_reason).inc()
        return {"conversation_id": body.conversation_id, "reply": reply.text, "source": decision.source,
                "intent": decision.intent, "confidence": decision.confidence, "out_of_scope": decision.out_of_scope,
                "handoff_reason": decision.handoff_reason, "language": reply.language,
                "faq_id": decision.faq.id if decision.source == "faq" else None, "handoff_id": recorded.handoff_id,
                "request_id": rid}

    @router.get("/v1/conversations/{conversation_id}", summary="A conversation's turns", responses=errors)
    async def conversation(conversation_id: str, request: Request, after: int = Query(0, ge=0)):
        ctx = _ready(request)
        return {"conversation_id": conversation_id,
                "turns": await asyncio.to_thread(ctx.store.turns, conversation_id, after=after)}

    @router.get("/v1/handoffs", summary="The hand-off queue (oldest first), each with its last turns", responses=errors)
    async def handoffs(request: Request, status: Literal["open", "resolved", "all"] = "open",
                       after: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)):
        ctx = _ready(request)
        entries = await asyncio.to_thread(ctx.store.handoffs, status=None if status == "all" else status, limit=limit, after=after)
        return {"handoffs": entries}

    @router.post("/v1/handoffs/{handoff_id}/intent", summary="Correct the intent of a handed-off message", responses=errors)
    async def correct(handoff_id: int, body: CorrectRequest, request: Request):
        ctx = _ready(request)
        intent = _checked(request, body.intent, "intent")
        labels = request.app.state.slot.current.labels
        if intent not in labels:
            raise ApiError(422, "bad_label", f"{intent!r} is not one of the intent model's {len(labels)} intents "
                           "(GET /v1/models lists them)", where="intent")
        entry = _entry_or_404(await asyncio.to_thread(ctx.store.handoff, handoff_id, with_turns=False), handoff_id)
        state = request.scope["state"]
        plog = request.app.state.prediction_log
        recorded = plog is not None and entry["request_id"] is not None and await asyncio.to_thread(
            plog.add_feedback, entry["request_id"], 0, intent, source=state.get("key_name") or "agent", key_id=state.get("key_id"))
        if not recorded:
            raise ApiError(404, "unknown_prediction", f"hand-off {handoff_id}'s message is not in the prediction log, so the "
                           "correction cannot become a training row", where="handoff_id")
        request.app.state.metrics.feedback.inc()
        entry = await asyncio.to_thread(ctx.store.correct, handoff_id, intent, by=state.get("key_name"))
        return {"status": "recorded", "handoff": entry}

    @router.post("/v1/handoffs/{handoff_id}/reply", summary="An agent's message in the conversation", responses=errors)
    async def agent_reply(handoff_id: int, body: AgentMessage, request: Request):
        ctx = _ready(request)
        text = _checked(request, body.message, "message")
        return _entry_or_404(await asyncio.to_thread(ctx.store.agent_reply, handoff_id, text), handoff_id)

    @router.post("/v1/handoffs/{handoff_id}/resolve", summary="Close a hand-off (the assistant answers again)",
                 responses=errors)
    async def resolve(handoff_id: int, request: Request):
        ctx = _ready(request)
        return {"handoff": _entry_or_404(await asyncio.to_thread(ctx.store.resolve, handoff_id), handoff_id)}

    return router
