"""Run the studio under uvicorn with the service's server configuration (`serving.run.server_config`: the same
HTTP limits and JSON logs as `domainfit serve`)."""

from __future__ import annotations

from domainfit.serving import ServeSettings
from domainfit.serving.auth import KeyStore
from domainfit.serving.run import server_config
from domainfit.serving.telemetry import configure_logging
from domainfit.studio.app import create_studio
from domainfit.studio.settings import StudioSettings

__all__ = ["run_studio"]


def run_studio(settings: StudioSettings) -> None:
    import uvicorn

    configure_logging()
    keys = KeyStore.from_sources(settings.api_keys_file)
    app = create_studio(settings, keys=keys)  # refuses a non-loopback bind without keys, before binding
    uvicorn.Server(server_config(app, ServeSettings(host=settings.host, port=settings.port))).run()
