"""Where a drift alert goes: a registry of sinks, each named by a spec string `kind:target`.

    file:alerts.jsonl                 one JSON object appended per alert (a log shipper or a cron job reads it)
    webhook:https://hooks.example/x   an HTTP POST of JSON {"text": one line, "status", "report": {...}}; "text" is
                                      the field Slack, Mattermost and Rocket.Chat show; WeCom/DingTalk robots need a
                                      relay that maps it to their own message shape
    email:smtp://host:587/?to=a@x.com one message per alert through smtplib (`email_sink.py`)

A webhook counts as delivered only on a 2xx answer. A redirect is not followed (it would turn the POST into a GET to
another URL) and is a failed delivery; a 5xx, 408, 425, 429 or a network error is retried with backoff; every attempt
has a timeout. A webhook URL usually holds its secret (a token in the query, user:password, or a long path segment as
Slack's and Discord's), so it is only ever shown redacted (`redact_url`): in the terminal, in drift.json and in logs.

A new sink is one factory registered here: the target in, a `Sink` out (its `shown` name and `send`). Sinks are called
only when the status reaches the `--alert-on` level.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from domainfit.errors import DomainfitError
from domainfit.i18n import _
from domainfit.registry import Registry

__all__ = ["SINKS", "Sink", "WebhookPolicy", "parse_sink", "redact_url", "send_alert"]


class Sink(Protocol):
    shown: str  # how the sink is named in the terminal and in drift.json: never a secret

    def send(self, message: str, payload: dict) -> dict:
        """Deliver one alert; returns details of the delivery (attempts, ...); raises when it was not delivered."""
        ...


SINKS: Registry[Callable[[str], Sink]] = Registry("alert sink", "domainfit.monitor.email_sink")

SECRET_SEGMENT = 16  # a path segment this long is taken for a token (Slack, Discord and Teams hooks hold theirs there)


def redact_url(url: str) -> str:
    """A URL safe to print and store: scheme, host, port and path, with the user:password, the query, the fragment
    and every path segment of 16 characters or more replaced by `…` (`https://host/hooks/…?…`)."""
    try:
        parts = urlsplit(str(url).strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return "…"
    if not parts.scheme or not host:
        return "…"
    netloc = ("…@" if parts.username or parts.password else "") + (f"[{host}]" if ":" in host else host)
    netloc += f":{port}" if port else ""
    path = "/".join("…" if len(segment) >= SECRET_SEGMENT else segment for segment in parts.path.split("/"))
    return urlunsplit((parts.scheme, netloc, path, "…" if parts.query else "", "…" if parts.fragment else ""))


class _Undelivered(ConnectionError):
    """A sink that did not take the alert, after `attempts` tries."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass
class _FileSink:
    path: Path
    shown: str = ""

    def __post_init__(self) -> None:
        self.shown = self.shown or f"file:{self.path}"

    def send(self, message: str, payload: dict) -> dict:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"text": message, **payload}, ensure_ascii=False, default=str) + "\n")
        return {}


@SINKS.register("file")
def _file_sink(target: str) -> Sink:
    return _FileSink(Path(target))


@dataclass(frozen=True)
class WebhookPolicy:
    """How hard a webhook is tried: `timeout` seconds to connect and for each read of every attempt, `attempts` in
    all, `backoff` seconds before the second attempt, doubled before each next one."""

    timeout: float = 10.0
    attempts: int = 3
    backoff: float = 1.0


_RETRIED = frozenset({408, 425, 429})  # besides every 5xx: the hook may take it a moment later


@dataclass
class _WebhookSink:
    url: str
    policy: WebhookPolicy = field(default_factory=WebhookPolicy)
    shown: str = ""

    def __post_init__(self) -> None:
        self.shown = f"webhook:{redact_url(self.url)}"
        _hide_in_logs(self.url)

    def send(self, message: str, payload: dict) -> dict:
        import httpx

        body = json.dumps({"text": message, **payload}, ensure_ascii=False, default=str).encode("utf-8")
        problems: list[str] = []
        with httpx.Client(follow_redirects=False, timeout=self.policy.timeout,
                          headers={"Content-Type": "application/json"}) as client:
            for attempt in range(1, self.policy.attempts + 1):
                if attempt > 1:
                    time.sleep(self.policy.backoff * 2 ** (attempt - 2))
                try:
                    response = client.post(self.url, content=body)
                except httpx.TimeoutException:
                    problems.append(f"no answer within {self.policy.timeout:g} s")
                    continue
                except httpx.HTTPError as exc:  # refused, reset, DNS, TLS: the network, worth another try
                    problems.append(f"{type(exc).__name__}: {exc}")
                    continue
                code = response.status_code
                if response.is_success:
                    return {"attempts": attempt, "status_code": code}
                if 300 <= code < 400:
                    where = response.headers.get("location")
                    raise _Undelivered(f"the webhook answered {code}, a redirect{f' to {redact_url(where)}' if where else ''}; "
                                       "an alert is never sent on to another URL: give the final URL in --alert", attempts=attempt)
                if code >= 500 or code in _RETRIED:
                    problems.append(f"HTTP {code}")
                    continue
                raise _Undelivered(f"the webhook refused the alert: HTTP {code} {response.reason_phrase}; check the URL "
                                   "and its token", attempts=attempt)
        raise _Undelivered(f"the webhook did not take the alert in {self.policy.attempts} attempts: {'; '.join(problems)}",
                           attempts=self.policy.attempts)


@SINKS.register("webhook")
def _webhook_sink(target: str, policy: WebhookPolicy | None = None) -> Sink:
    if not target.startswith(("http://", "https://")) or redact_url(target) == "…":
        raise DomainfitError(_("webhook:{target}: the target must be an http(s) URL").format(
                                 target=redact_url(target) if "://" in target else "…"),
                             where="--alert", hint=_("e.g. --alert webhook:https://hooks.example.com/domainfit"))
    return _WebhookSink(target, policy or WebhookPolicy())


class _Scrub(logging.Filter):
    """httpx logs every request's full URL ("HTTP Request: POST https://host/x?token=..." at INFO) and httpcore the
    response headers at DEBUG (a redirect's Location often repeats the query): the webhooks' secrets are replaced by
    `…` in every such record before any handler sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def hide(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "…")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            if any(secret in text for secret in self.secrets):
                record.msg, record.args = self.hide(text), None
        return True


_SCRUB = _Scrub()
# a logger's filters see only the records made on that very logger, so each of httpx's and httpcore's is named
_HTTP_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy",
                 "httpcore.socks")


def _secrets(url: str) -> set[str]:
    """The parts of a URL that `redact_url` hides, as they may appear in a log line (4 characters or more)."""
    from urllib.parse import parse_qsl

    parts = urlsplit(url)
    found = {parts.query, parts.fragment, parts.password or "", parts.username or "",
             *(seg for seg in parts.path.split("/") if len(seg) >= SECRET_SEGMENT),
             *(value for _key, value in parse_qsl(parts.query, keep_blank_values=True))}
    return {piece for piece in found if len(piece) >= 4}


def _hide_in_logs(url: str) -> None:
    for name in _HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _SCRUB not in logger.filters:
            logger.addFilter(_SCRUB)
    _SCRUB.secrets.update(_secrets(url))


def parse_sink(spec: str) -> Sink:
    """`kind:target` -> the sink. Raises DomainfitError naming the spec and the known kinds."""
    kind, sep, target = spec.partition(":")
    if not sep or not target:
        raise DomainfitError(_("{spec} is not kind:target").format(spec=repr(spec)), where="--alert",
                             hint=_("kinds: {kinds}; e.g. file:alerts.jsonl, webhook:https://...").format(
                                 kinds=", ".join(SINKS.names())))
    if kind not in SINKS:
        raise DomainfitError(SINKS.unknown_message(kind), where="--alert", hint=_("e.g. file:alerts.jsonl, webhook:https://..."))
    return SINKS.get(kind)(target)


def send_alert(sinks: list[Sink], message: str, payload: dict) -> list[dict]:
    """Send to every sink; one failing does not stop the others. Returns what happened per sink, each named by its
    `shown` form (a webhook without its secrets)."""
    results = []
    for sink in sinks:
        try:
            results.append({"sink": sink.shown, "sent": True, **sink.send(message, payload)})
        except Exception as exc:  # a dead webhook must not hide the alert from the other sinks
            results.append({"sink": sink.shown, "sent": False, "error": _SCRUB.hide(str(exc)),  # no secret in any message
                            "attempts": getattr(exc, "attempts", 1)})
    return results
