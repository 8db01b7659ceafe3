"""The email: alert sink against a real SMTP server (aiosmtpd)."""

import pytest

from domainfit.errors import DomainfitError
from domainfit.monitor.alerts import parse_sink, send_alert


def test_an_alert_arrives_as_one_message(smtp_server):
    sink = parse_sink(f"email:smtp://{smtp_server.host}:{smtp_server.port}/?to=ops@example.com,risk@example.com"
                      "&from=watch@example.com")
    results = send_alert([sink], "domainfit watch: negative_share alert for '招商银行'", {"alert": {"key": "招商银行", "n": 41}})
    assert results == [{"sink": sink.shown, "sent": True, "recipients": 2}]
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["Subject"] == "domainfit watch: negative_share alert for '招商银行'"
    assert mail["To"] == "ops@example.com, risk@example.com" and mail["From"] == "watch@example.com"
    assert '"n": 41' in mail.get_content() and "招商银行" in mail.get_content()


def test_a_dead_server_is_a_failed_delivery_and_secrets_stay_hidden():
    from tests.conftest import free_port

    sink = parse_sink(f"email:smtp://alerts:hunter2-secret@127.0.0.1:{free_port()}/?to=ops@example.com&timeout=2")
    assert "hunter2" not in sink.shown
    [result] = send_alert([sink], "x", {})
    assert result["sent"] is False and "hunter2" not in str(result)


@pytest.mark.parametrize("spec, problem", [("email:ops@example.com", "smtp://"), ("email:smtp://mail.example.com/", "?to="),
                                           ("email:smtp://mail.example.com/?to=nobody", "?to=")])
def test_bad_specs_say_how_to_fix(spec, problem):
    with pytest.raises(DomainfitError, match=problem.replace("?", r"\?")):
        parse_sink(spec)
