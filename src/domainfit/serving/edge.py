"""The ASGI layer in front of the routes: request ids, header and body limits, API keys, the catch-all 500, metrics.

Pure ASGI middleware, so each check runs on the headers alone, before any route reads (or FastAPI parses) the body:
a request without a key is a 401 whatever its body holds. Every error is the service's JSON shape
`{"error": {"code", "message", ...}, "request_id"}`; a 500 names only the request id (the traceback goes to the log).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from domainfit.i18n import speaking
from domainfit.serving.auth import KeyStore, presented_key
from domainfit.serving.telemetry import ServiceMetrics

__all__ = ["ApiError", "BodyTooLarge", "KeyGate", "PublicRoutes", "RequestContext", "SafeJSONResponse", "error_body",
           "internal_error_message"]

log = logging.getLogger("domainfit.serve")


class ApiError(Exception):
    """An error response: HTTP status, a stable machine-readable code, a message, and details (e.g. the limit)."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, **details) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.details = status, code, message, headers, details


class BodyTooLarge(StarletteHTTPException):
    """Raised by the size-limited `receive`. An HTTPException because FastAPI's body reader passes those on as they
    are (any other error there becomes a 400); the app's handler answers it with a 413 `body_too_large`."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than max_body_bytes={limit}")
        self.limit = limit


class SafeJSONResponse(JSONResponse):
    """A JSON response that survives text that is not Unicode (a lone surrogate in a field name a client sent, echoed
    in a 422): written with \\u escapes then, instead of failing with a 500."""

    def render(self, content) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, separators=(",", ":")).encode("ascii")


def error_body(request_id: str | None, code: str, message: str, **details) -> dict:
    return {"error": {"code": code, "message": message, **details}, "request_id": request_id}


def internal_error_message(request_id: str | None) -> str:
    return f"internal error; the server logged the details under request_id {request_id}"


async def _send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()  # ASCII: a message never carries a client's text, but stay safe if one did
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


class RequestContext:
    """Outermost: a server-made request id (the client's X-Request-ID kept beside it), header-count and header-size
    limits (431), the body-size limit (413), a JSON 500 for anything unhandled, metrics and one JSON access-log line.
    Requests are handled in English whatever the server's locale: clients read the error bodies, and a message from
    domainfit's own layers (a label cell that is not a number) must not switch language with `DOMAINFIT_LANG`."""

    def __init__(self, app, *, metrics: ServiceMetrics, max_body: int, max_headers: int, max_header_bytes: int) -> None:
        self.app, self.metrics, self.max_body = app, metrics, max_body
        self.max_headers, self.max_header_bytes = max_headers, max_header_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = scope.get("headers") or []
        headers = dict(raw)
        rid = uuid.uuid4().hex  # the log's key: never the client's choice (a reused id would merge two requests)
        client_rid = (headers.get(b"x-request-id") or b"").decode("latin-1").strip()[:128] or None
        state = scope.setdefault("state", {})
        state["request_id"], state["client_request_id"] = rid, client_rid
        start = time.perf_counter()
        status, started = [500], [False]

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status[0], started[0] = message["status"], True
                out = MutableHeaders(scope=message)
                out.append("x-request-id", rid)
                if client_rid:
                    out.append("x-client-request-id", client_rid)
            await send(message)

        seen = [0]

        async def receive_limited():
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        self.metrics.in_flight.inc()
        try:
            problem = self._head_problem(raw, headers)
            if problem is not None:
                code, limit, message = problem
                await _send_json(send_with_id, 431 if code != "body_too_large" else 413,
                                 error_body(rid, code, message, limit=limit), [(b"connection", b"close")])
            else:
                with speaking("en"):
                    await self.app(scope, receive_limited, send_with_id)
        except BodyTooLarge as exc:  # read outside a route (FastAPI's own reader is answered by the app's handler)
            if not started[0]:
                await _send_json(send_with_id, 413, error_body(rid, "body_too_large", exc.detail, limit=exc.limit))
        except Exception as exc:
            log.error("request failed", exc_info=exc, extra={"fields": {"request_id": rid, "path": scope.get("path")}})
            if started[0]:
                raise  # half a response is out: let the server close the connection
            await _send_json(send_with_id, 500, error_body(rid, "internal_error", internal_error_message(rid)))
        finally:
            self.metrics.in_flight.dec()
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - start
            self.metrics.requests.labels(route, scope["method"], str(status[0])).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            if route != "/metrics":
                log.info("request", extra={"fields": {"request_id": rid, "client_request_id": client_rid,
                                                      "key_id": state.get("key_id"), "method": scope["method"],
                                                      "path": scope["path"], "status": status[0],
                                                      "ms": round(elapsed * 1000, 2)}})

    def _head_problem(self, raw, headers) -> tuple[str, int, str] | None:
        """(code, limit, message) when the head breaks a limit. Under `domainfit serve` the HTTP protocol enforces the
        head size before this sees it; this check covers any other ASGI server."""
        if len(raw) > self.max_headers:
            return "too_many_headers", self.max_headers, f"{len(raw)} header lines; the limit is max_headers={self.max_headers}"
        size = sum(len(k) + len(v) + 4 for k, v in raw)
        if size > self.max_header_bytes:
            return "headers_too_large", self.max_header_bytes, \
                f"request headers of {size} bytes; the limit is max_header_bytes={self.max_header_bytes}"
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return "body_too_large", self.max_body, f"request body larger than max_body_bytes={self.max_body}"
        return None


@dataclass(frozen=True)
class PublicRoutes:
    """The routes that pass the API-key gate without a key: exact paths, and folders (every path under one, e.g. a
    browser page and its files: a browser sends no key). The one way every app opens routes (the model service's
    health and docs, the assistant's chat page, the watch dashboard); the APIs those pages call still need a key.

        PublicRoutes.of("/healthz", "/chat/*")     # "/chat/*": /chat and everything under /chat/
    """

    paths: frozenset[str] = frozenset()
    folders: tuple[str, ...] = ()

    @classmethod
    def of(cls, *routes: str | Iterable[str]) -> PublicRoutes:
        flat = [r for item in routes for r in ([item] if isinstance(item, str) else item)]
        folders = tuple(r[:-2] for r in flat if r.endswith("/*"))
        return cls(frozenset(r for r in flat if not r.endswith("/*")), folders)

    def __or__(self, other: PublicRoutes) -> PublicRoutes:
        return PublicRoutes(self.paths | other.paths, self.folders + tuple(f for f in other.folders if f not in self.folders))

    def admits(self, path: str) -> bool:
        return path in self.paths or any(path == f or path.startswith(f + "/") for f in self.folders)


class KeyGate:
    """API keys, from the headers alone: 401 without a known key, 403 for a key without access to the served model.
    `public` routes pass without one (health, readiness, metrics; the docs when they are public; an app's page)."""

    def __init__(self, app, *, keys: KeyStore, public: PublicRoutes, model_name: Callable[[], str | None]) -> None:
        self.app, self.keys, self.public, self.model_name = app, keys, public, model_name

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        root = scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root):]
        if self.public.admits(path):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        key = await self.keys.verify(presented_key(dict(scope.get("headers") or [])))
        if key is None:
            return await _send_json(send, 401, error_body(
                state.get("request_id"), "unauthorized",
                "missing or unknown API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"),
                [(b"www-authenticate", b"Bearer")])
        model = self.model_name()
        if model is not None and not key.allows(model):
            return await _send_json(send, 403, error_body(
                state.get("request_id"), "forbidden", f"API key {key.name!r} has no access to model {model!r}"))
        state["key_name"], state["key_id"] = key.name, key.key_id
        await self.app(scope, receive, send)
