"""The support assistant (智能客服): intents answered from templates, an FAQ for the rest, and a person for what it
cannot answer — out of scope, uncertain, a customer asking for one, failed turns, negative sentiment.

    config.py     assistant.yaml, typed and checked against its bundles before start-up
    slots.py      {card_last4}, {amount}, ... filled from the message (domainfit.data's personal-data detectors)
    decision.py   the decision per message: a pure function, with the hand-off reason
    engine.py     the signals of a message and the reply in the customer's language
    store.py      conversations, turns and the hand-off queue (SQLAlchemy Core, domainfit.store)
    routes.py     POST /v1/assist, the hand-off queue, agent corrections (→ the prediction log's feedback)
    page.py       the chat page (customer and agent views, English and Chinese), shipped in page/
    service.py    the app: the model service's (domainfit.serving) with the above mounted on it
    evaluate.py   `domainfit assist eval`: automation rate, answer accuracy, wrong answers, hand-off precision
"""

from __future__ import annotations

from typing import Any

from domainfit.apps.assistant.config import AssistantConfig, load_assistant_config
from domainfit.registry import apps

__all__ = ["AssistantApp", "AssistantConfig", "load_assistant_config"]


@apps.register("assistant")
class AssistantApp:
    """The support assistant as a `domainfit.apps.App`."""

    name = "assistant"
    description = "support assistant: intent answers, FAQ, hand-off to a person, chat page (domainfit assist serve)"
    Config = AssistantConfig

    def run(self, config: Any, *, reporter: Any = None) -> None:
        from domainfit.apps.assistant.service import serve_assistant

        serve_assistant(config)

    def routes(self, config: Any):
        """The assistant's API and page; they read the loaded assistant from `app.state.assist`, which
        `service.create_assist_app` sets up (use that to mount them)."""
        from fastapi import APIRouter

        from domainfit.apps.assistant.page import page_router
        from domainfit.apps.assistant.routes import assist_router

        router = APIRouter()
        router.include_router(assist_router())
        router.include_router(page_router())
        return router
