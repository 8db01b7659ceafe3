"""The test services themselves work: a real page in Chromium, a real PostgreSQL, Redis and SMTP server."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from tests.conftest import live_server
from domainfit.store import open_engine


def test_chromium_renders_a_served_page(chromium_page):
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def index():
        return "<html><body><button id=b onclick=\"this.textContent='clicked'\">go</button></body></html>"

    with live_server(app) as port:
        chromium_page.goto(f"http://127.0.0.1:{port}/")
        chromium_page.click("#b")
        assert chromium_page.text_content("#b") == "clicked"


def test_postgres_through_open_engine(postgres_url):
    engine = open_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x text)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('招行')"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT x FROM t")).scalar_one() == "招行"
    assert engine.dialect.name == "postgresql"


def test_sqlite_engine_is_wal_and_shared(tmp_path):
    engine = open_engine(tmp_path / "sub" / "log.db")
    assert engine is open_engine(str(tmp_path / "sub" / "log.db"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_bad_store_url_names_it():
    from domainfit.errors import ConfigError

    with pytest.raises(ConfigError, match="store") as info:
        open_engine("nosuchdialect+nodriver://u:secret@h/db")
    assert "secret" not in str(info.value)


def test_redis_is_real_and_fresh(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.xadd("s", {"text": "hello"})
    assert client.xlen("s") == 1


def test_smtp_server_receives(smtp_server):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", "告警"
    msg.set_content("body")
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        client.send_message(msg)
    assert smtp_server.messages[0]["Subject"] == "告警"
