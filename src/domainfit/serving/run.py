"""Run the service under uvicorn. SIGTERM (and Ctrl-C): stop accepting, let in-flight requests finish, exit 0.

The HTTP layer is uvicorn's h11 protocol with a read deadline (`protocol.py`): request heads bounded
(`max_header_bytes`), requests that do not arrive in `request_timeout_s` dropped, idle keep-alive connections closed
after `keep_alive_s`. Without API keys the server warns, and refuses an address other than loopback unless
`insecure_no_auth` says so.
"""

from __future__ import annotations

import logging
import signal

from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.serving.app import create_app
from domainfit.serving.auth import KeyStore
from domainfit.serving.server import check_before_bind, draining_server, server_config
from domainfit.serving.settings import ServeSettings
from domainfit.serving.telemetry import configure_logging

__all__ = ["run_server", "server_config"]

log = logging.getLogger("domainfit.serve")


def run_server(source, settings: ServeSettings | None = None, *, app_factory=None) -> None:
    """Serve `source` (a bundle folder or `models:/name@alias`) until SIGTERM/SIGINT. `app_factory(source, settings,
    keys=)`: an application's app instead of `create_app`'s (the support assistant's builds on it). With
    `settings.workers` above 1: that many processes on one port (`workers.py`)."""
    settings = settings or ServeSettings()
    if settings.workers > 1:
        from domainfit.serving.workers import run_workers

        return run_workers(source, settings, app_factory=app_factory)
    configure_logging()
    keys = KeyStore.from_sources(settings.api_keys_file)
    check_before_bind(settings, keys)
    app = (app_factory or create_app)(source, settings, keys=keys)
    server = draining_server(server_config(app, settings))
    # uvicorn re-raises the signal it shut down on into the handler that was installed before it; with these no-op
    # handlers in place a graceful shutdown ends in a normal return (exit status 0) instead of death by signal.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        raise ConfigError([("serve", _("the server did not start; see the log lines above"))])
