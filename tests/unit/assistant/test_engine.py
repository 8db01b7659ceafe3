"""The assistant's signals from real (tiny) bundles: a person-request classifier and a sentiment bundle in place of
the rules (the tiny intent bundle stands in for both: its `transfer` label as "wants a person", `loan` as negative),
and replies in the customer's language."""

from __future__ import annotations

from pathlib import Path

from domainfit.apps.assistant.config import load_assistant_config
from domainfit.apps.assistant.decision import IntentReading
from domainfit.apps.assistant.engine import Assistant, language_of
from tests.unit.assistant.conftest import ANSWERS, write_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "bank_support" / "assistant.yaml"


def test_classifier_and_sentiment_bundles_hand_off(tmp_path, tiny_bundle):
    answers = {k: v for k, v in ANSWERS.items() if k != "loan"}
    path = write_config(tmp_path, tiny_bundle, answers=answers, handoff={
        "person": {"method": "classifier", "bundle": str(tiny_bundle), "label": "transfer", "min_score": 0.5},
        "sentiment": {"bundle": str(tiny_bundle), "negative": ["loan"], "min_score": 0.5}})
    assistant = Assistant.load(load_assistant_config(path), threads=1)
    texts = ["transfer payment sent", "loan mortgage repay", "card stolen blocked"]
    assert assistant.wants_person(texts) == [True, False, False]
    assert assistant.negative(texts) == [False, True, False]
    sure = IntentReading("card", 0.99)
    assert assistant.respond("transfer payment sent", sure).decision.handoff_reason == "asked_for_person"
    assert assistant.respond("loan mortgage repay", sure).decision.handoff_reason == "negative_sentiment"
    card = assistant.respond("card stolen blocked", sure)
    assert card.decision.source == "intent" and card.text == "I can block your card: what are its last four digits?"


def test_replies_follow_the_language_of_the_message(tmp_path, tiny_bundle):
    answers = {k: v for k, v in ANSWERS.items() if k != "loan"}
    assistant = Assistant(load_assistant_config(write_config(tmp_path, tiny_bundle, answers=answers)))
    zh = assistant.respond("我的卡丢了 4111 1111 1111 1111", IntentReading("card", 0.9))
    assert zh.language == "zh" and zh.text == "尾号1111的卡已冻结，新卡正在寄出。"
    assert assistant.respond("给我转人工", IntentReading("card", 0.9)).text.startswith("正在为您转接人工客服")
    assert language_of("card lost") == "en" and language_of("card lost", "zh") == "zh"
    assert assistant.wants_person(["agent please", "I am a reagent supplier", "人工客服"]) == [True, False, True]


def test_the_example_config_is_valid():
    config = load_assistant_config(EXAMPLE, check=False)  # its bundle is trained by the user (see the file's header)
    assert "loan_or_mortgage_question" not in config.answers and config.serve.port == 8000


def test_registered_as_an_app():
    from domainfit.apps.assistant.config import AssistantConfig
    from domainfit.registry import apps

    app = apps.get("assistant")()
    assert app.name == "assistant" and app.Config is AssistantConfig
    assert AssistantConfig.model_config["extra"] == "forbid"
    from fastapi import FastAPI

    mounted = FastAPI()
    mounted.include_router(app.routes(None))
    assert {"/v1/assist", "/v1/handoffs", "/v1/handoffs/{handoff_id}/intent"} <= set(mounted.openapi()["paths"])
