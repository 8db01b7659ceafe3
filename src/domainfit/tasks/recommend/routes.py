"""The recommend task's own endpoints, mounted by the serving app beside /v1/predict (`Workflow.routes`):

    POST /v1/recommend  {user_id | history, k, exclude_seen} → the top-k items (why: history or popular)
    POST /v1/items      {items: [{id, text, category?}]}      → embedded and indexed at once (kept in serving/)

They sit behind the same key check, body limit and request metrics as /v1/predict (the app's middleware covers every
route); the server passes what they need (`ctx`: the model slot, settings, metrics, prediction log, its error type
and text check), so this module imports nothing of the serving layer. What a recommendation showed is written to the
prediction log; `POST /v1/feedback {request_id, label: the clicked item}` records the click (the monitor's
click-through, `click_through`).

A history entry is an item id when the catalogue has it, else a free text when it holds a space (a stated interest,
an item description); a single word that is no item id is refused as an unknown item (most likely a mistyped id).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from domainfit.errors import DomainfitError

__all__ = ["ItemsRequest", "RecommendRequest", "click_through", "routes"]


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"user_id": "u001", "k": 10},
                                                                              {"history": ["card-1", "a credit card for travel"], "k": 5}]})
    user_id: str | None = Field(None, min_length=1, max_length=256, description="a user the bundle knows (their history is used)")
    history: list[str] | None = Field(None, description="item ids or texts, oldest first (added after a known user's "
                                      "history); an empty list asks for the popular items")
    k: int = Field(10, ge=1, description="how many items")
    exclude_seen: bool = Field(True, description="leave the history's items out")


class NewItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(..., min_length=1, max_length=256)
    text: str = Field(..., min_length=1)
    category: str | None = None


class ItemsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [{"id": "sku-9", "text": "a new travel card"}]}]})
    items: list[NewItem] = Field(..., min_length=1, description="items to add, or to update (a known id)")


def routes(ctx: Any) -> APIRouter:
    router = APIRouter()
    settings, error = ctx.settings, ctx.error

    def current():
        if not ctx.ready() or ctx.slot.current is None:
            raise error(503, "not_ready", "the model is not loaded yet (or the server is shutting down)")
        return ctx.slot.current

    def check_texts(texts: list[str], where: str) -> None:
        if len(texts) > settings.max_texts:
            raise error(422, "too_many_texts", f"{len(texts)} entries in {where}; the limit is max_texts={settings.max_texts}",
                        limit=settings.max_texts, where=where)
        for i, text in enumerate(texts):
            if len(text) > settings.max_chars:
                raise error(422, "text_too_long", f"{where}[{i}] has {len(text)} characters; the limit is "
                            f"max_chars={settings.max_chars}", limit=settings.max_chars, where=f"{where}[{i}]")
            ctx.check_text(text, f"{where}[{i}]")

    @router.post("/v1/recommend", summary="Recommend items for a user or a history",
                 responses={401: {}, 403: {}, 404: {}, 413: {}, 422: {}, 503: {}})
    async def recommend(body: RecommendRequest, request: Request):
        if body.user_id is None and body.history is None:
            raise error(422, "no_user", "send user_id or history (an empty history list asks for the popular items)",
                        where="body")
        if body.k > settings.max_top_k:
            raise error(422, "k_too_large", f"k={body.k}; the limit is max_top_k={settings.max_top_k}",
                        limit=settings.max_top_k, where="k")
        history = body.history or []
        check_texts(history, "history")
        model = current()
        predictor = model.predictor
        unknown = [(i, h) for i, h in enumerate(history) if h not in predictor.index.row and " " not in h.strip()]
        if unknown:
            i, h = unknown[0]
            raise error(422, "unknown_item", f"history[{i}] = {h[:80]!r} is not an item of the catalogue ({len(unknown)} "
                        "unknown); send known item ids, or texts of several words", where=f"history[{i}]")
        if body.user_id is not None and body.user_id not in predictor.users and not history:
            raise error(404, "unknown_user", f"unknown user {body.user_id!r} and no history given: send their history "
                        "(item ids or texts), or an empty history for the popular items", where="user_id")
        try:
            result = await asyncio.to_thread(predictor.recommend, user=body.user_id, history=history or None, k=body.k,
                                             exclude_seen=body.exclude_seen)
        except DomainfitError as exc:
            raise error(422, "bad_request", str(exc).splitlines()[0], where=exc.where or "body") from None
        state = request.scope["state"]
        rid = state["request_id"]
        shown = result["items"]
        if ctx.plog is not None:  # what was shown, as one logged prediction (its label: the top item)
            text = f"user:{body.user_id}" if body.user_id and not history else " | ".join(result["history"])[:settings.max_chars]
            logged = {"label": shown[0]["id"] if shown else None, "score": shown[0]["score"] if shown else 0.0,
                      "items": [{"id": i["id"], "score": round(i["score"], 6)} for i in shown], "why": result["why"]}
            await asyncio.to_thread(ctx.plog.append, [(rid, model.name, model.version, [text], [logged],
                                                       state.get("client_request_id"), state.get("key_id"))])
            ctx.metrics.logged.inc()
        ctx.metrics.predictions.labels(model.name, result["why"]).inc()
        ctx.metrics.texts.inc(1)
        return JSONResponse({"model": model.name, "version": model.version, "request_id": rid, "user_id": body.user_id,
                             "why": result["why"], "items": shown})

    @router.post("/v1/items", summary="Add or update catalogue items (embedded and indexed at once)",
                 responses={401: {}, 403: {}, 413: {}, 422: {}, 503: {}})
    async def items(body: ItemsRequest):
        check_texts([i.text for i in body.items], "items")
        ids = [i.id for i in body.items]
        if len(set(ids)) != len(ids):
            twice = next(i for i in ids if ids.count(i) > 1)
            raise error(422, "duplicate_item", f"item {twice!r} is sent twice in one request", where="items")
        model = current()
        done = await asyncio.to_thread(model.predictor.add_items, [i.model_dump() for i in body.items])
        return {"model": model.name, "version": model.version, **done}

    return router


def click_through(predictions: pd.DataFrame, corrections: pd.DataFrame) -> dict:
    """Live click-through of logged recommendations: the share of shown lists whose clicked item (POST /v1/feedback)
    was among them, and the share of lists that got a click at all."""
    shown = {(r, i): {x["id"] for x in out.get("items", [])} for r, i, out in
             zip(predictions["request_id"], predictions["item"], predictions["output"])}
    clicks = [(r, i, label) for r, i, label in zip(corrections["request_id"], corrections["item"], corrections["label"])
              if (r, i) in shown]
    hit = sum(label in shown[(r, i)] for r, i, label in clicks)
    n = len(shown)
    return {"recommendations": n, "clicks": len(clicks), "click_through": hit / n if n else 0.0,
            "clicked_in_shown": hit / len(clicks) if clicks else None}
