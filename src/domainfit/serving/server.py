"""The uvicorn server of the service: its config (timeouts, header limits, the guarded protocol), a draining
shutdown, and the checks made before it binds (port free, auth on a non-loopback address). Used by `run.py` (one
process) and `workers.py` (several)."""

from __future__ import annotations

import ipaddress
import logging
import socket

from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.serving.protocol import guarded_protocol
from domainfit.serving.settings import ServeSettings

__all__ = ["check_before_bind", "draining_server", "server_config"]

log = logging.getLogger("domainfit.serve")


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError([("port", _("cannot listen on {host}:{port}: {reason}; pick another with --port").format(
                host=host, port=port, reason=exc.strerror))]) from None


def draining_server(config, *, on_stop=None):
    """uvicorn's Server, with one change to its shutdown: after the listening sockets close, connections already
    accepted get a moment to deliver their request before idle connections are closed (uvicorn closes a connection
    whose request has not been parsed yet at once, which drops a request the client has already sent).
    `on_stop()` is called as the shutdown begins (a worker process starts its exit deadline there)."""
    import asyncio

    import uvicorn

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets=None):
            if on_stop is not None:
                on_stop()
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
        how_shown = _("set DOMAINFIT_API_KEYS or --api-keys FILE (`domainfit keygen NAME --file FILE` makes a key)")
        raise ConfigError([("host", _("{host} is reachable from the network and no API key is configured, so "
                                      "anyone who can reach it could use the model: {how}, or pass --insecure-no-auth "
                                      "(insecure_no_auth: true) if something in front of the server checks "
                                      "callers").format(
                                          host=settings.host, how=how_shown))])
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


def check_before_bind(settings: ServeSettings, keys) -> None:
    """What is refused before the port is bound: no API keys on an open address (unless allowed), a port in use."""
    _check_auth(settings, keys.enabled if settings.require_auth is None else settings.require_auth)
    _check_port(settings.host, settings.port)
