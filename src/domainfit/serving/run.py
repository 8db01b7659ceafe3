"""Run the service under uvicorn. SIGTERM (and Ctrl-C): stop accepting, let in-flight requests finish, exit 0.

The HTTP layer is uvicorn's h11 protocol with a read deadline (`protocol.py`): request heads bounded
(`max_header_bytes`), requests that do not arrive in `request_timeout_s` dropped, idle keep-alive connections closed
after `keep_alive_s`. Without API keys the server warns, and refuses an address other than loopback unless
`insecure_no_auth` says so.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket

from domainfit.errors import ConfigError
from domainfit.serving.app import create_app
from domainfit.serving.auth import KeyStore
from domainfit.serving.protocol import guarded_protocol
from domainfit.serving.settings import ServeSettings
from domainfit.serving.telemetry import configure_logging

__all__ = ["run_server", "server_config"]

log = logging.getLogger("domainfit.serve")


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError([("port", f"cannot listen on {host}:{port}: {exc.strerror}; pick another with --port")]) from None


def _draining_server(config):
    """uvicorn's Server, with one change to its shutdown: after the listening sockets close, connections already
    accepted get a moment to deliver their request before idle connections are closed (uvicorn closes a connection
    whose request has not been parsed yet at once, which drops a request the client has already sent)."""
    import asyncio

    import uvicorn

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets=None):
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            await asyncio.sleep(0.5)
            await super().shutdown(sockets=None)

    return DrainingServer(config)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def _check_auth(settings: ServeSettings, auth_on: bool) -> None:
    """Without API keys: refuse a non-loopback address (unless insecure_no_auth), warn on loopback."""
    if auth_on:
        return
    how = "set DOMAINFIT_API_KEYS or --api-keys FILE (`domainfit keygen NAME --file FILE` makes a key)"
    if not _is_loopback(settings.host) and not settings.insecure_no_auth:
        raise ConfigError([("host", f"{settings.host} is reachable from the network and no API key is configured, so "
                                    f"anyone who can reach it could use the model: {how}, or pass --insecure-no-auth "
                                    "(insecure_no_auth: true) if something in front of the server checks callers")])
    log.warning(f"API keys are off: anyone who can reach {settings.host}:{settings.port} can call the model; {how}",
                extra={"fields": {"auth": False, "host": settings.host}})


def server_config(app, settings: ServeSettings):
    """uvicorn's configuration for `app` under `settings`: h11 with the read deadline, head and keep-alive limits."""
    import uvicorn

    return uvicorn.Config(app, host=settings.host, port=settings.port, access_log=False, log_config=None,
                          timeout_graceful_shutdown=settings.graceful_timeout_s, lifespan="on",
                          http=guarded_protocol(settings.request_timeout_s), ws="none",
                          h11_max_incomplete_event_size=settings.max_header_bytes,
                          timeout_keep_alive=settings.keep_alive_s, server_header=False)


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
    _check_auth(settings, keys.enabled if settings.require_auth is None else settings.require_auth)
    _check_port(settings.host, settings.port)
    app = (app_factory or create_app)(source, settings, keys=keys)
    server = _draining_server(server_config(app, settings))
    # uvicorn re-raises the signal it shut down on into the handler that was installed before it; with these no-op
    # handlers in place a graceful shutdown ends in a normal return (exit status 0) instead of death by signal.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        raise ConfigError([("serve", "the server did not start; see the log lines above")])
