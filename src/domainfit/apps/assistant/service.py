"""The assistant's server: the model service's app (`domainfit.serving.create_app` over the intent bundle, with its
API keys, limits, metrics, micro-batcher and prediction log) with the assistant's API and chat page mounted on it.

The other bundles (FAQ, person classifier, sentiment) load in the lifespan, before the service reports ready; they
run one call at a time on a thread of their own. The config, its bundles and the store are checked when the app is
built, so a bad config fails before start-up.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from prometheus_client import Counter

from domainfit.apps.assistant.config import AssistantConfig, load_assistant_config
from domainfit.apps.assistant.decision import HANDOFF_REASONS
from domainfit.apps.assistant.engine import Assistant
from domainfit.apps.assistant.page import PAGE_PREFIX, page_router
from domainfit.apps.assistant.routes import assist_router
from domainfit.apps.assistant.store import ConversationStore
from domainfit.backbones.encoder import available_cores
from domainfit.serving.app import create_app
from domainfit.serving.auth import KeyStore
from domainfit.serving.settings import ServeSettings

__all__ = ["AssistContext", "create_assist_app", "serve_assistant"]


@dataclass
class AssistContext:
    config: AssistantConfig
    assistant: Assistant
    store: ConversationStore
    executor: ThreadPoolExecutor
    turns: Any  # Counter by source
    handoffs: Any  # Counter by reason

    async def run(self, fn):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)


def create_assist_app(config: str | Path | dict | AssistantConfig, settings: ServeSettings | None = None, *,
                      keys: KeyStore | None = None) -> FastAPI:
    """The assistant's FastAPI app. `settings` replaces the config's `serve:` section when given."""
    config = load_assistant_config(config)
    settings = settings or config.serve
    if settings.prediction_log is None:
        settings = settings.model_copy(update={"prediction_log": config.serve.prediction_log})
    store = ConversationStore(config.store, texts=config.store_texts, keep_turns=config.keep_turns)
    app = create_app(config.intents.bundle, settings, keys=keys, open_prefixes=(PAGE_PREFIX,))
    app.title, app.description = "domainfit support assistant", f"Answers from {len(config.answers)} intents' answers" + (
        ", an FAQ" if config.faq else "") + " and a hand-off queue; the model service's routes beside them."
    registry = app.state.metrics.registry
    turns = Counter("domainfit_assist_turns_total", "assistant replies by source", ["source"], registry=registry)
    handoffs = Counter("domainfit_handoffs_total", "conversations handed to a person, by reason", ["reason"], registry=registry)
    for source in ("intent", "faq", "handoff", "clarify"):
        turns.labels(source)
    for reason in HANDOFF_REASONS:
        handoffs.labels(reason)
    threads = settings.threads or max(1, available_cores() - 1)
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="domainfit-assist")
        try:
            assistant = await asyncio.get_running_loop().run_in_executor(
                executor, lambda: Assistant.load(config, threads=threads))
            app.state.assist = AssistContext(config, assistant, store, executor, turns, handoffs)
            async with service_lifespan(app) as state:
                yield state
        finally:
            app.state.assist = None
            executor.shutdown(wait=False)

    app.router.lifespan_context = lifespan
    app.state.assist = None
    app.include_router(assist_router())
    app.include_router(page_router())
    return app


def serve_assistant(config: str | Path | AssistantConfig, settings: ServeSettings | None = None) -> None:
    """Run the assistant's server until SIGTERM/SIGINT (the model service's runner: keys, port and drain checks)."""
    from domainfit.serving.run import run_server

    config = load_assistant_config(config)
    settings = settings or config.serve
    run_server(config.intents.bundle, settings,
               app_factory=lambda _source, s, keys: create_assist_app(config, s, keys=keys))
