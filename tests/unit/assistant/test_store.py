"""The conversation store on SQLite and on a real PostgreSQL server: turns, the hand-off queue with its last turns,
corrections, resolving; reopened from another engine (a restart) it holds the same rows."""

from __future__ import annotations

import pytest

from domainfit.apps.assistant.decision import Decision
from domainfit.apps.assistant.store import ConversationStore


def _exercise(target) -> None:
    store = ConversationStore(target, keep_turns=3)
    answer = Decision("intent", "card", 0.9, False)
    handoff = Decision("handoff", "card", 0.2, True, handoff_reason="out_of_scope", failed_turns=1, new_handoff=True)
    store.record("c", "card lost", answer, "Blocked.", language="en", request_id="r1", top=[("card", 0.9)])
    assert store.state("c").failed_turns == 0 and not store.state("c").with_agent
    done = store.record("c", "what about the weather", handoff, "Passing you on.", language="en", request_id="r2")
    assert store.state("c").with_agent and store.state("c").failed_turns == 1
    queue = store.handoffs()
    assert [(e["id"], e["reason"], e["request_id"]) for e in queue] == [(done.handoff_id, "out_of_scope", "r2")]
    assert [t["text"] for t in queue[0]["turns"]] == ["Blocked.", "what about the weather", "Passing you on."]  # the last 3
    assert store.turns("c")[0]["top"] == [["card", 0.9]]
    assert store.correct(done.handoff_id, "weather_question", by="agent-1")["corrected_intent"] == "weather_question"
    assert store.agent_reply(done.handoff_id, "It is sunny.")["conversation_id"] == "c"
    reopened = ConversationStore(target, keep_turns=10)  # the tables exist already: created only when missing
    assert reopened.handoffs()[0]["corrected_by"] == "agent-1"
    assert reopened.turns("c")[-1]["role"] == "agent"
    assert reopened.resolve(done.handoff_id)["status"] == "resolved" and reopened.handoffs() == []
    assert not reopened.state("c").with_agent
    assert reopened.resolve(12345) is None and reopened.correct(12345, "x") is None


def test_sqlite(tmp_path):
    _exercise(tmp_path / "assistant.db")


def test_postgres(postgres_url):
    _exercise(postgres_url)


def test_redacted_texts(tmp_path):
    store = ConversationStore(tmp_path / "a.db", texts="redacted")
    store.record("c", "call me on 13812345678", Decision("intent", "card", 0.9, False), "ok", language="en")
    assert store.turns("c")[0]["text"] == "call me on [PHONE]"


def test_a_bad_config_fails_before_the_server_starts(tmp_path, tiny_bundle):
    from typer.testing import CliRunner

    from domainfit.cli.main import app
    from domainfit.errors import ConfigError
    from tests.unit.assistant.conftest import write_config

    path = write_config(tmp_path, tiny_bundle, answers={"weather": {"en": "sunny"}})
    result = CliRunner().invoke(app, ["assist", "serve", str(path), "--port", "1"])
    assert isinstance(result.exception, ConfigError) and "answers.weather" in str(result.exception)
    with pytest.raises(ConfigError):
        from domainfit.api import assistant_app

        assistant_app(path)
