"""The service's settings: typed, checked before the server starts (a YAML file, CLI flags or keyword arguments)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ServeSettings"]


class ServeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0 exposes the service to the network)")
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64, description="server processes sharing the port (`serving/workers.py`); each "
                         "loads the model and follows a registry alias on its own")
    variant: str = Field("auto", description="model variant: auto (fastest that passed its parity gate), torch, onnx-int8, ...")
    threads: int | None = Field(None, ge=1, description="inference threads (default: the cores available minus one, "
                                "which is left to the HTTP event loop: sharing it makes OpenMP threads spin against it)")
    batching: bool = Field(True, description="coalesce concurrent requests into one model call")
    max_batch_size: int = Field(64, ge=1, description="most texts in one coalesced model call")
    max_wait_ms: float = Field(0.0, ge=0, description="how long a free worker waits for more requests to join a batch "
                               "(0: none; while the worker is busy the next batch fills up anyway)")
    max_texts: int = Field(64, ge=1, description="most texts in one request (422 beyond)")
    max_chars: int = Field(5000, ge=1, description="most characters in one text (422 beyond)")
    max_body_bytes: int = Field(1_000_000, ge=1, description="largest request body (413 beyond)")
    max_top_k: int = Field(20, ge=1, description="largest top_k a request may ask for")
    max_headers: int = Field(100, ge=1, description="most header lines in one request (431 beyond)")
    max_header_bytes: int = Field(16_384, ge=1024, description="largest request head: request line and headers "
                                  "(431 beyond; uvicorn's h11_max_incomplete_event_size)")
    request_timeout_s: float = Field(10.0, gt=0, description="a request (head and body) must arrive within this many "
                                     "seconds of its first byte, or of the connection opening (408, connection closed)")
    keep_alive_s: float = Field(5.0, gt=0, description="an idle keep-alive connection is closed after this many seconds")
    api_keys_file: Path | None = Field(None, description="YAML of hashed API keys (`domainfit keygen` writes it)")
    require_auth: bool | None = Field(None, description="default: on when any API key is configured")
    public_docs: bool = Field(False, description="with API keys on, /docs, /redoc and /openapi.json need a key too "
                              "(they list the model's labels) unless this is true")
    insecure_no_auth: bool = Field(False, description="serve without API keys on an address other than loopback "
                                   "(refused otherwise: anyone on the network could call the model)")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS (empty: CORS off)")
    poll_seconds: float = Field(10.0, gt=0, description="how often a server following a registry alias checks it")
    registry: str | None = Field(None, description="MLflow registry URI for models:/ sources (default $DOMAINFIT_REGISTRY)")
    graceful_timeout_s: float = Field(30.0, gt=0, description="on SIGTERM, how long in-flight requests may take to finish")
    log_predictions: bool = Field(False, description="log each prediction (text length, label, score) in the JSON log")
    prediction_log: Path | str | None = Field(None, description="SQLite file (or SQLAlchemy URL: postgresql+psycopg://…) every "
                                        "prediction is written to before it is answered "
                                        "(for `domainfit monitor` and corrections through POST /v1/feedback)")
    log_texts: Literal["redacted", "raw", "none"] = Field("redacted", description="what the prediction log keeps of each text: "
                                                          "personal data replaced by placeholders, the text as sent, or nothing")
    on_log_error: Literal["answer", "refuse"] = Field("answer", description="when the prediction log cannot be written: "
                                                      "answer anyway (counted in domainfit_prediction_log_errors_total), "
                                                      "or refuse with 503 so that every answered prediction is logged")
    assistant: Path | None = Field(None, description="assistant.yaml: mount the support assistant (POST /v1/assist, the "
                                   "hand-off queue, the chat page at /chat/) into this server, with these same keys, "
                                   "limits, metrics and prediction log; its intents.bundle must be the served bundle")
