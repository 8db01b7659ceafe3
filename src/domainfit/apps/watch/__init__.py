"""The financial news and opinion monitor (金融舆情监测): a stream of texts → sentiment per company and topic →
surge alerts, with a dashboard. `domainfit watch run | replay | dashboard`.

    config.py     watch.yaml, typed and checked first        records.py  input records (files, requests)
    watchlist.py  names and aliases, word boundaries         dedup.py    near-duplicates (MinHash LSH)
    pipeline.py   clean → dedup → classify → store → detect  store.py    SQLAlchemy Core tables
    stats.py      the tests (beta-binomial, Poisson)         detect.py   counts, windows, alert life cycle
    replay.py     backtest over a file                       report.py   backtest report.html
    sources.py    HTTP, watched folder, Redis Streams        server.py   the dashboard and POST /v1/ingest
"""

from __future__ import annotations

from domainfit.registry import apps

__all__ = ["WatchApp"]


class WatchApp:
    name = "watch"
    description = "financial news and opinion monitor: sentiment per company and topic, surge alerts, dashboard"

    @property
    def Config(self) -> type:
        from domainfit.apps.watch.config import WatchConfig

        return WatchConfig

    def run(self, config, *, reporter=None):
        from domainfit.apps.watch.config import WatchConfig, load_watch_config
        from domainfit.apps.watch.service import run_watch

        return run_watch(config if isinstance(config, WatchConfig) else load_watch_config(config), reporter=reporter)

    def routes(self, config):
        from domainfit.apps.watch.config import WatchConfig, load_watch_config
        from domainfit.apps.watch.server import watch_router

        return watch_router(config if isinstance(config, WatchConfig) else load_watch_config(config, check=False))


apps.register("watch")(WatchApp())
