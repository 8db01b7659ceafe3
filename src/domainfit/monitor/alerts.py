"""Where a drift alert goes: a registry of sinks, each named by a spec string `kind:target`.

    file:alerts.jsonl                 one JSON object appended per alert (a log shipper or a cron job reads it)
    webhook:https://hooks.example/x   an HTTP POST of JSON {"text": one line, "status", "report": {...}}; "text" is
                                      the field Slack, Mattermost and Rocket.Chat show; WeCom/DingTalk robots need a
                                      relay that maps it to their own message shape

A new sink is one function registered here. Sinks are called only when the status reaches the `--alert-on` level.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from domainfit.errors import DomainfitError
from domainfit.registry import Registry

__all__ = ["SINKS", "parse_sink", "send_alert"]

Sink = Callable[[str, dict], None]
SINKS: Registry[Callable[[str], Sink]] = Registry("alert sink")


@SINKS.register("file")
def _file_sink(target: str) -> Sink:
    path = Path(target)

    def send(message: str, payload: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"text": message, **payload}, ensure_ascii=False, default=str) + "\n")

    return send


@SINKS.register("webhook")
def _webhook_sink(target: str) -> Sink:
    if not target.startswith(("http://", "https://")):
        raise DomainfitError(f"webhook:{target}: the target must be an http(s) URL", where="--alert",
                             hint="e.g. --alert webhook:https://hooks.example.com/domainfit")

    def send(message: str, payload: dict) -> None:
        body = json.dumps({"text": message, **payload}, ensure_ascii=False, default=str).encode("utf-8")
        request = urllib.request.Request(target, data=body, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise ConnectionError(f"webhook {target} did not take the alert: {exc}") from exc

    return send


def parse_sink(spec: str) -> tuple[str, Sink]:
    """`kind:target` -> (spec, the sink). Raises DomainfitError naming the spec and the known kinds."""
    kind, sep, target = spec.partition(":")
    if not sep or not target:
        raise DomainfitError(f"{spec!r} is not kind:target", where="--alert",
                             hint=f"kinds: {', '.join(SINKS.names())}; e.g. file:alerts.jsonl, webhook:https://...")
    if kind not in SINKS:
        raise DomainfitError(SINKS.unknown_message(kind), where="--alert", hint="e.g. file:alerts.jsonl, webhook:https://...")
    return spec, SINKS.get(kind)(target)


def send_alert(sinks: list[tuple[str, Sink]], message: str, payload: dict) -> list[dict]:
    """Send to every sink; one failing does not stop the others. Returns what happened per sink."""
    results = []
    for spec, sink in sinks:
        try:
            sink(message, payload)
            results.append({"sink": spec, "sent": True})
        except Exception as exc:  # a dead webhook must not hide the alert from the other sinks
            results.append({"sink": spec, "sent": False, "error": str(exc)})
    return results
