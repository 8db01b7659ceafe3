"""`domainfit assist eval`: labelled messages replayed through the assistant; the rates agree with the decisions;
the CLI prints the table and writes the JSON; a bad file is named."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from domainfit.apps.assistant.decision import Decision, FaqHit
from domainfit.apps.assistant.evaluate import evaluate_assistant, score_replay
from domainfit.cli.main import app
from domainfit.errors import DataError
from tests.conftest import write_csv


def test_scores_of_a_hand_made_replay():
    import pandas as pd

    rows = pd.DataFrame({"message": ["a", "b", "c", "d", "e"], "intent": ["card", "card", "loan", "oos", "card"]})
    decisions = [Decision("intent", "card", 0.9, False),  # right
                 Decision("intent", "loan", 0.8, False),  # wrong
                 Decision("faq", "loan", 0.7, False, faq=FaqHit("loan", "…", 0.9)),  # right (the FAQ id is the intent)
                 Decision("handoff", "card", 0.3, False, handoff_reason="low_confidence"),  # needed: out of scope
                 Decision("handoff", "card", 0.9, False, handoff_reason="asked_for_person")]  # not needed
    r = score_replay(rows, decisions, {"card", "loan"}, {"oos"})
    assert (r["automation_rate"], r["answer_accuracy"], r["wrong_answer_rate"], r["handoff_precision"]) == (0.6, 0.6667, 0.2, 0.5)
    assert r["answers_by_source"] == {"intent": 2, "faq": 1} and r["wrong_by_source"] == {"intent": 1, "faq": 0}
    assert r["oos_handoff_recall"] == 1.0 and r["handoff_reasons"] == {"low_confidence": 1, "asked_for_person": 1}
    assert r["per_intent"]["card"]["messages"] == 3 and r["per_intent"]["(out of scope)"]["handoffs"] == 1


def test_eval_through_the_cli(assistant_yaml, tmp_path):
    rows = [("c1", "card stolen blocked", "card"), ("c1", "please a human", "human"), ("c2", "transfer payment sent", "transfer"),
            ("c3", "loan rate please", "loan"), ("c4", "card pin blocked", "card")]
    data = write_csv(tmp_path / "conversations.csv", rows, header=("conversation_id", "message", "intent"))
    report = evaluate_assistant(assistant_yaml, data)
    assert report["messages"] == 5 and report["handoff_reasons"] == {"asked_for_person": 1}
    assert report["per_intent"]["(out of scope)"]["handoffs"] == 1 and report["handoff_precision"] == 1.0
    assert report["answered"] == 4 and 0 <= report["answer_accuracy"] <= 1
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["assist", "eval", str(assistant_yaml), "--data", str(data), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"automation {100 * report['automation_rate']:.1f}%" in result.output and "hand-off precision 100.0%" in result.output
    assert "hand-off reasons: asked_for_person 1" in result.output
    assert json.loads(out.read_text())["automation_rate"] == report["automation_rate"]


def test_a_file_without_the_columns_is_named(assistant_yaml, tmp_path):
    data = write_csv(tmp_path / "bad.csv", [("hello", "x")], header=("words", "intent"))
    with pytest.raises(DataError) as info:
        evaluate_assistant(assistant_yaml, data)
    assert "bad.csv" in str(info.value) and "words" in str(info.value)
