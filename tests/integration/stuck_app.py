"""An app factory for `test_serve_workers.py`'s worker processes, in a module of its own so that a worker imports it
without the test suite's fixtures."""

from __future__ import annotations


def stuck_on_shutdown(source, settings, keys=None):
    """An app factory for the workers (imported by them from this module): the model service, whose shutdown hook
    never returns and blocks the event loop, as a hung clean-up in a real app would."""
    import threading
    from contextlib import asynccontextmanager

    from domainfit.serving.app import create_app

    app = create_app(source, settings, keys=keys)
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app):
        async with service_lifespan(app) as state:
            yield state
        threading.Event().wait()

    app.router.lifespan_context = lifespan
    return app
