"""The assistant's server: the model service's app (`domainfit.serving.create_app` over the intent bundle, with its
API keys, limits, metrics, micro-batcher and prediction log) with the assistant's API and chat page mounted on it.
Two ways to run it, one app: `domainfit assist serve assistant.yaml` (the config's `serve:` settings), or mounted into
`domainfit serve BUNDLE --assistant assistant.yaml` (serve's settings; BUNDLE must be the config's intents.bundle,
or, for a `models:/` source, have every intent the answers name).

The other bundles (FAQ, person classifier, sentiment) load in the lifespan, before the service reports ready. The
FAQ's calls go through a micro-batcher of their own (concurrent messages that need the FAQ share one call); the
person classifier and sentiment run one call at a time on the assistant's thread. The config, its bundles and the
store are checked when the app is built, so a bad config fails before start-up.
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
from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.serving.app import create_app
from domainfit.serving.auth import KeyStore
from domainfit.serving.batching import MicroBatcher
from domainfit.serving.edge import PublicRoutes
from domainfit.serving.settings import ServeSettings

__all__ = ["CHAT_ROUTES", "AssistContext", "create_assist_app", "mounted_assist_app", "serve_app_factory", "serve_assistant"]

CHAT_ROUTES = PublicRoutes.of(PAGE_PREFIX + "/*")  # the page holds no data; the API calls it makes need a key


@dataclass
class AssistContext:
    config: AssistantConfig
    assistant: Assistant
    store: ConversationStore
    executor: ThreadPoolExecutor
    turns: Any  # Counter by source
    handoffs: Any  # Counter by reason
    faq_batcher: MicroBatcher | None = None  # the FAQ model's calls, coalesced like the intent model's

    async def run(self, fn):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    async def faq_hit(self, message: str):
        """The FAQ's answer to `message` (None without an FAQ), through the FAQ's micro-batcher: under load, the
        messages that need the FAQ share one model call instead of one call each."""
        if self.faq_batcher is None:
            return None
        return (await self.faq_batcher.submit([message])).outputs[0]


def _faq_batch(assistant: Assistant):
    """The FAQ batcher's model call: every waiting request's texts in one `faq_hits` call."""
    def run(items):
        texts = [t for request_texts, _options in items for t in request_texts]
        hits, out, at = assistant.faq_hits(texts), [], 0
        for request_texts, _options in items:
            out.append(hits[at:at + len(request_texts)])
            at += len(request_texts)
        return out, None
    return run


def _served_problems(config: AssistantConfig, source, labels: tuple[str, ...]) -> list[tuple[str, str]]:
    """Why the served model cannot be the assistant's intent model (mounted into `domainfit serve SOURCE`)."""
    if isinstance(source, (str, Path)) and not str(source).startswith("models:/"):
        if Path(source).resolve() != Path(config.intents.bundle).resolve():
            why = _("{bundle} is not the served bundle {source}: mounted into `domainfit serve`, the "
                    "assistant answers from the served model; point intents.bundle at it "
                    "(or serve that bundle)").format(
                        bundle=config.intents.bundle, source=source)
            return [("intents.bundle", why)]
        return []
    return [(f"answers.{intent}", _("{intent} is not an intent of the served model {source} ({n} labels)").format(
                intent=repr(intent), source=source, n=len(labels)))
            for intent in config.answers if intent not in labels]


def create_assist_app(config: str | Path | dict | AssistantConfig, settings: ServeSettings | None = None, *,
                      keys: KeyStore | None = None, source=None) -> FastAPI:
    """The assistant's FastAPI app. `settings` replaces the config's `serve:` section when given (its prediction log
    kept when `settings` has none). `source`: the model the server serves (default the config's intents.bundle;
    `domainfit serve SOURCE --assistant` passes its own, which must be that bundle)."""
    config = load_assistant_config(config)
    settings = settings or config.serve
    if settings.prediction_log is None:
        settings = settings.model_copy(update={"prediction_log": config.serve.prediction_log})
    if settings.assistant is not None:  # the app is built here; the key only tells `domainfit serve` to build it
        settings = settings.model_copy(update={"assistant": None})
    served = config.intents.bundle if source is None else source
    store = ConversationStore(config.store, texts=config.store_texts, keep_turns=config.keep_turns)
    app = create_app(served, settings, keys=keys, public=CHAT_ROUTES)
    problems = _served_problems(config, served, app.state.slot.contract.labels)
    if problems:
        raise ConfigError(problems, source=_("assistant config (mounted into domainfit serve)"))
    app.title, app.description = "domainfit support assistant", f"Answers from {len(config.answers)} intents' answers" + (
        ", an FAQ" if config.faq else "") + " and a hand-off queue; the model service's routes beside them."
    registry = app.state.metrics.registry
    turns = Counter("domainfit_assist_turns_total", "assistant replies by source", ["source"], registry=registry)
    handoffs = Counter("domainfit_handoffs_total", "conversations handed to a person, by reason", ["reason"], registry=registry)
    for where in ("intent", "faq", "handoff", "clarify"):
        turns.labels(where)
    for reason in HANDOFF_REASONS:
        handoffs.labels(reason)
    threads = settings.threads or max(1, available_cores() - 1)
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="domainfit-assist")
        faq_batcher = None
        try:
            assistant = await asyncio.get_running_loop().run_in_executor(
                executor, lambda: Assistant.load(config, threads=threads))
            if assistant.faq is not None:
                faq_batcher = MicroBatcher(_faq_batch(assistant), max_batch_size=settings.max_batch_size)
                await faq_batcher.start()
            app.state.assist = AssistContext(config, assistant, store, executor, turns, handoffs, faq_batcher)
            async with service_lifespan(app) as state:
                yield state
        finally:
            app.state.assist = None
            if faq_batcher is not None:
                await faq_batcher.stop()
            executor.shutdown(wait=False)

    app.router.lifespan_context = lifespan
    app.state.assist = None
    app.include_router(assist_router())
    app.include_router(page_router())
    return app


def serve_app_factory(settings: ServeSettings):
    """`domainfit serve`'s app factory for `settings` (`run_server(..., app_factory=)`): with `settings.assistant`,
    the model service with the assistant mounted (its config checked now, before start-up); None without."""
    if settings.assistant is None:
        return None
    load_assistant_config(settings.assistant)  # every problem now, before a worker starts
    return mounted_assist_app


def mounted_assist_app(source, settings: ServeSettings, keys=None):
    """The model service with the assistant of `settings.assistant` mounted. A module-level function, so that each
    process of `serve --workers N` imports it and reads the config itself (nothing pickled)."""
    return create_assist_app(load_assistant_config(settings.assistant), settings, keys=keys, source=source)


def serve_assistant(config: str | Path | AssistantConfig, settings: ServeSettings | None = None) -> None:
    """Run the assistant's server until SIGTERM/SIGINT (the model service's runner: keys, port and drain checks)."""
    from domainfit.serving.run import run_server

    config = load_assistant_config(config)
    settings = settings or config.serve
    run_server(config.intents.bundle, settings,
               app_factory=lambda _source, s, keys: create_assist_app(config, s, keys=keys))
