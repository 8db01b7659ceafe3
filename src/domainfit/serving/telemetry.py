"""What the service tells operators: Prometheus metrics (one registry per app) and structured JSON logs."""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from domainfit.serving.contract import REASONS

__all__ = ["JsonFormatter", "ServiceMetrics", "configure_logging", "multiprocess_dir"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServiceMetrics:
    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series: they double the output and no dashboard reads them
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("domainfit_requests_total", "HTTP requests by route, method and status", ["route", "method", "status"], registry=r)
        self.latency = Histogram("domainfit_request_latency_seconds", "request latency by route", ["route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("domainfit_batch_size", "texts per model call (micro-batching coalesces requests)", buckets=_BATCH_BUCKETS, registry=r)
        self.texts = Counter("domainfit_texts_total", "texts predicted", registry=r)
        self.predictions = Counter("domainfit_predictions_total", "predictions by label", ["model", "label"], registry=r)
        # Under several workers (Prometheus' multiprocess mode) each worker's series is kept, with a `pid` label, so
        # that /metrics shows which version every worker serves; the in-flight count is summed over the live ones.
        self.model_info = Gauge("domainfit_model_info", "the model being served (value 1)", ["model", "version", "variant"],
                                registry=r, multiprocess_mode="liveall")
        self.swaps = Counter("domainfit_model_swaps_total", "hot swaps to a new model version", registry=r)
        self.reload_refused = Counter("domainfit_reload_refused_total", "hot swaps refused, the served version kept: "
                                      "its task or labels differ, its bundle fails its checks, or it does not load",
                                      ["reason"], registry=r)
        for reason in REASONS:  # every series there from the start, at 0: an alert on increase() sees the first one
            self.reload_refused.labels(reason)
        self.logged = Counter("domainfit_logged_predictions_total", "predictions written to the prediction log", registry=r)
        self.log_errors = Counter("domainfit_prediction_log_errors_total", "model calls whose predictions could not be logged", registry=r)
        self.feedback = Counter("domainfit_feedback_total", "corrections received through /v1/feedback", registry=r)
        self.in_flight = Gauge("domainfit_in_flight_requests", "requests being handled", registry=r, multiprocess_mode="livesum")
        self._model_labels: tuple[str, str, str] | None = None

    def set_model(self, name: str, version: str, variant: str) -> None:
        if multiprocess_dir() is None:
            self.model_info.clear()
        elif self._model_labels is not None:  # a shared file keeps every series: the old version goes to 0
            self.model_info.labels(*self._model_labels).set(0)
        self._model_labels = (name, version, variant)
        self.model_info.labels(name, version, variant).set(1)

    def exposed(self) -> CollectorRegistry:
        """What GET /metrics reports: this registry, or, under several workers, the sum over every worker's files."""
        folder = multiprocess_dir()
        if folder is None:
            return self.registry
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)
        return registry


def multiprocess_dir() -> str | None:
    """The folder of Prometheus' multiprocess mode (set by `domainfit serve --workers N` before its workers start)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and the record's `fields` (passed as extra={"fields": {...}})."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("domainfit", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
