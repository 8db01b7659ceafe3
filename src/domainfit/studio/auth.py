"""The studio's gate: off on a loopback bind; on any other bind every request needs one of the server's API keys
(`domainfit.serving.auth.KeyStore`, the same keys and hashes as `domainfit serve`), sent as a header
(`Authorization: Bearer`, `X-API-Key`) or, for a browser, the cookie the login page sets."""

from __future__ import annotations

from urllib.parse import quote

from domainfit.serving.auth import KeyStore, presented_key

__all__ = ["COOKIE", "StudioGate", "is_loopback"]

COOKIE = "domainfit_studio_key"
OPEN_PREFIXES = ("/login", "/static/", "/healthz")


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


class StudioGate:
    """ASGI middleware: 303 to /login for a page without a key, 401 JSON for anything else."""

    def __init__(self, app, *, keys: KeyStore) -> None:
        self.app, self.keys = app, keys

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PREFIXES):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        raw = presented_key(headers) or _cookie(headers.get(b"cookie", b"").decode("latin-1"), COOKIE)
        key = await self.keys.verify(raw)
        if key is not None:
            scope.setdefault("state", {})["key_name"] = key.name
            return await self.app(scope, receive, send)
        if scope["method"] == "GET" and b"text/html" in headers.get(b"accept", b""):
            target = quote(scope["path"] + ("?" + scope["query_string"].decode() if scope.get("query_string") else ""))
            return await _send(send, 303, b"", [(b"location", f"/login?next={target}".encode())])
        return await _send(send, 401, b'{"error":{"code":"unauthorized","message":"an API key is required: sign in at '
                                      b'/login or send Authorization: Bearer <key>"}}',
                           [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")])


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


async def _send(send, status: int, body: bytes, headers: list) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
