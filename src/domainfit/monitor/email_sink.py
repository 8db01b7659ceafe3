"""The `email:` alert sink: one message per alert through the standard library's SMTP client (smtplib).

    email:smtp://mail.example.com:587/?to=ops@example.com,risk@example.com&from=domainfit@example.com&starttls=1
    email:smtp://user:password@mail.example.com:465/?to=ops@example.com&ssl=1
    email:smtp://mail.example.com/?to=ops@example.com&password_env=SMTP_PASSWORD&user=alerts

The subject is the alert's one line, the body that line and the alert as indented JSON. Delivered means the server
accepted the message for every recipient; a refused recipient or a network error is a failed delivery (the other
sinks still get the alert). The URL is only ever shown redacted, like a webhook's.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from domainfit.errors import DomainfitError
from domainfit.i18n import _
from domainfit.monitor.alerts import SINKS, Sink, redact_url

__all__ = ["EmailSink"]


@dataclass
class EmailSink:
    host: str
    port: int
    to: list[str]
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    use_ssl: bool = False
    timeout: float = 10.0
    shown: str = ""

    def send(self, message: str, payload: dict) -> dict:
        mail = EmailMessage()
        mail["Subject"] = message.splitlines()[0][:200]
        mail["From"], mail["To"] = self.sender, ", ".join(self.to)
        mail.set_content(message + "\n\n" + json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        client = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if self.use_ssl else {}
        with client(self.host, self.port, timeout=self.timeout, **kwargs) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            refused = smtp.send_message(mail)
        if refused:
            raise ConnectionError(f"the SMTP server refused {', '.join(refused)}")
        return {"recipients": len(self.to)}


def _truthy(values: dict, name: str) -> bool:
    return (values.get(name, ["0"])[0]).lower() in ("1", "true", "yes", "on")


@SINKS.register("email")
def _email_sink(target: str) -> Sink:
    shown = f"email:{redact_url(target)}"
    hint = _("e.g. email:smtp://mail.example.com:587/?to=ops@example.com&from=domainfit@example.com&starttls=1")
    parts = urlsplit(target)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise DomainfitError(_("{shown}: the target must be an smtp://host[:port]/?to=... URL").format(shown=shown),
                             where="--alert", hint=hint)
    query = parse_qs(parts.query)
    to = [a.strip() for v in query.get("to", []) for a in v.split(",") if a.strip()]
    if not to or not all("@" in a for a in to):
        raise DomainfitError(_("{shown}: name the recipients with ?to=a@example.com,b@example.com").format(shown=shown),
                             where="--alert", hint=hint)
    use_ssl = parts.scheme == "smtps" or _truthy(query, "ssl")
    password = unquote(parts.password) if parts.password else None
    if "password_env" in query:
        password = os.environ.get(query["password_env"][0])
        if password is None:
            raise DomainfitError(_("{shown}: the environment variable {name} is not set").format(
                                     shown=shown, name=query["password_env"][0]),
                                 where="--alert", hint=_("export it, or drop password_env"))
    user = unquote(parts.username) if parts.username else (query.get("user", [None])[0])
    sender = query.get("from", [f"domainfit@{parts.hostname}"])[0]
    return EmailSink(parts.hostname, parts.port or (465 if use_ssl else 25), to, sender, user=user, password=password,
                     starttls=_truthy(query, "starttls"), use_ssl=use_ssl,
                     timeout=float(query.get("timeout", ["10"])[0]), shown=shown)
