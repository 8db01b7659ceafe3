"""Run the service under uvicorn. SIGTERM (and Ctrl-C): stop accepting, let in-flight requests finish, exit 0."""

from __future__ import annotations

import signal
import socket

from domainfit.errors import ConfigError
from domainfit.serving.settings import ServeSettings

__all__ = ["run_server"]


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


def run_server(source, settings: ServeSettings | None = None) -> None:
    """Serve `source` (a bundle folder or `models:/name@alias`) until SIGTERM/SIGINT."""
    import uvicorn

    from domainfit.serving.app import create_app
    from domainfit.serving.telemetry import configure_logging

    settings = settings or ServeSettings()
    configure_logging()
    _check_port(settings.host, settings.port)
    app = create_app(source, settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, access_log=False, log_config=None,
                            timeout_graceful_shutdown=settings.graceful_timeout_s, lifespan="on")
    server = _draining_server(config)
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
