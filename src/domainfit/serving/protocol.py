"""The HTTP/1.1 protocol `domainfit serve` runs: uvicorn's h11 protocol plus a deadline for reading each request.

Why h11 and not httptools (uvicorn's choice when it is installed): h11 bounds the request head
(`h11_max_incomplete_event_size`; over it, a JSON 431 here), httptools buffers a header of any size (an 8 MB
Authorization header was accepted). And uvicorn has no read timeout at all: `timeout_keep_alive` runs only between
requests, so a client that opens a connection and sends its request a byte at a time (slow loris) held the socket
for ever. Here a request, head and body, must arrive within `request_timeout_s` of its first byte (or of the
connection opening): a partial request is then answered 408 and the connection closed; a connection that sent
nothing is closed. Written by hand because uvicorn 0.54 has neither; it subclasses uvicorn's `H11Protocol`
(uvicorn is pinned) and overrides only connection_made, connection_lost, data_received and send_400_response.
"""

from __future__ import annotations

import asyncio
import json
import logging

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["guarded_protocol"]

log = logging.getLogger("domainfit.serve")

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _Connection(h11.Connection):
    """h11's connection, remembering its last protocol error (whose status hint is 431 for an oversized head)."""

    last_error: h11.RemoteProtocolError | None = None

    def next_event(self):
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            self.last_error = exc
            raise


class _GuardedH11Protocol(H11Protocol):
    read_timeout: float = 10.0

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_head = config.h11_max_incomplete_event_size or DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
        self.conn = _Connection(h11.SERVER, self.max_head)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading():
            self._arm()  # a new request starts: its deadline runs from its first byte
        super().data_received(data)
        if not self._reading():
            self._disarm()  # received whole (or the connection failed): the model's time is not the client's

    def _reading(self) -> bool:
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.read_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or not self._reading():
            return
        partial = self.conn.their_state is h11.SEND_BODY or bool(self.conn.trailing_data[0])
        answered = self.conn.their_state is h11.SEND_BODY and self.cycle is not None and self.cycle.response_started
        log.info("request not received in time; connection closed",
                 extra={"fields": {"client": "%s:%d" % self.client if self.client else None, "partial": partial,
                                   "request_timeout_s": self.read_timeout}})
        if partial and not answered:
            self._reply(408, "request_timeout", f"the request did not arrive within request_timeout_s={self.read_timeout:g}",
                        limit=self.read_timeout)
        else:
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        error = self.conn.last_error
        if error is not None and error.error_status_hint == 431:
            self._reply(431, "headers_too_large", f"request head larger than max_header_bytes={self.max_head}",
                        limit=self.max_head)
        else:
            self._reply(400, "bad_request", "invalid HTTP request (not HTTP/1.1 as RFC 9112 writes it)")

    def _reply(self, status: int, code: str, message: str, **details) -> None:
        """Answer in the service's JSON shape and close: written raw, as h11 cannot send on a request it never parsed."""
        body = json.dumps({"error": {"code": code, "message": message, **details}, "request_id": None}, separators=(",", ":")).encode()
        head = (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
                % (status, _REASONS[status], len(body)))
        self.transport.write(head + body)
        self.transport.close()


def guarded_protocol(request_timeout_s: float) -> type[asyncio.Protocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with this read deadline."""
    return type("GuardedH11Protocol", (_GuardedH11Protocol,), {"read_timeout": float(request_timeout_s)})
