"""`domainfit watch run`: the sources (HTTP, folder, Redis) feeding one Processor until SIGTERM or Ctrl-C, with the
dashboard in the same server. Without `ingest.http` the dashboard is still served (on the default port) when
`serve_dashboard` is on."""

from __future__ import annotations

import logging
import threading

from domainfit.apps.watch.config import HttpIngest, WatchConfig
from domainfit.apps.watch.pipeline import Processor
from domainfit.apps.watch.server import watch_app
from domainfit.apps.watch.sources import FolderSource, RedisSource
from domainfit.i18n import _

__all__ = ["run_watch"]

log = logging.getLogger("domainfit.watch")


def run_watch(cfg: WatchConfig, *, reporter=None, serve_dashboard: bool = True) -> None:
    from domainfit.serving import ServeSettings
    from domainfit.serving.run import server_config

    processor = Processor(cfg)
    sources = []
    if cfg.ingest.folder:
        sources.append(FolderSource(cfg.ingest.folder, processor, batch_size=cfg.batch_size))
    if cfg.ingest.redis:
        sources.append(RedisSource(cfg.ingest.redis, processor))
    threads = [threading.Thread(target=s.loop, name=type(s).__name__, daemon=True) for s in sources]
    for thread in threads:
        thread.start()
    if reporter is not None:
        reporter.log(_("watch: {n} items in {url}; sources: {sources}").format(
                         n=processor.store.count_items(), url=processor.store.engine.url.render_as_string(),
                         sources=", ".join(type(s).__name__ for s in sources) or _("none"))
                     + (" + HTTP" if cfg.ingest.http else ""))
    try:
        if cfg.ingest.http or serve_dashboard:
            import uvicorn

            http = cfg.ingest.http or HttpIngest()
            app = watch_app(cfg, processor=processor if cfg.ingest.http else None)
            settings = ServeSettings(host=http.host, port=http.port, max_body_bytes=http.max_body_bytes)
            uvicorn.Server(server_config(app, settings)).run()
        else:
            threading.Event().wait()
    finally:
        for s in sources:
            s.stop.set()
        for thread in threads:
            thread.join(timeout=10)
