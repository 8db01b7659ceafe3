"""assistant.yaml: bad configs fail before start-up with every problem named by its key; slots filled from the
message through the personal-data detectors."""

from __future__ import annotations

import pytest

from domainfit.apps.assistant.config import load_assistant_config
from domainfit.apps.assistant.slots import extract_slots, fill
from domainfit.errors import ConfigError
from tests.unit.assistant.conftest import ANSWERS, write_config


def _problems(path) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_assistant_config(path)
    return dict(info.value.problems)


def test_a_good_config_resolves_paths_and_shares_the_prediction_log(assistant_yaml, tiny_bundle):
    config = load_assistant_config(assistant_yaml)
    assert config.intents.bundle == tiny_bundle
    assert config.store == str(assistant_yaml.parent / "assistant.db") and config.serve.prediction_log == assistant_yaml.parent / "assistant.db"
    assert config.handoff.person.method == "rules" and "转人工" in config.handoff.person.phrases


def test_unknown_intents_wrong_tasks_and_a_missing_faq_are_named_all_at_once(tmp_path, tiny_bundle, faq_bundle):
    answers = {**ANSWERS, "crad": {"en": "typo"}, "weather": {"en": "sunny"}}
    path = write_config(tmp_path, faq_bundle, None, answers=answers)  # intents: a retrieval bundle
    problems = _problems(path)
    assert "is a retrieval bundle; this needs a classification bundle" in problems["intents.bundle"]
    assert "faq" in problems["answers.loan.faq"]  # loan says look it up, and there is no faq bundle
    path = write_config(tmp_path, tiny_bundle, tiny_bundle, answers=answers)  # faq: a classification bundle
    problems = _problems(path)
    assert "did you mean 'card'" in problems["answers.crad"] and "unknown intent 'weather'" in problems["answers.weather"]
    assert "needs a retrieval bundle" in problems["faq.bundle"]
    path = write_config(tmp_path, tiny_bundle, tmp_path / "no-such-faq")
    assert "no usable bundle" in _problems(path)["faq.bundle"]


def test_schema_problems_are_named_by_key(tmp_path, tiny_bundle):
    answers = {"card": {"en": "card {cardnumber}"}, "loan": {}, "transfer": {"en": "ok {"}}
    path = write_config(tmp_path, tiny_bundle, answers=answers, handoff={"person": {"method": "classifier"}, "turns": 3})
    problems = _problems(path)
    assert "unknown key" in problems["handoff.turns"] and "failed_turns" in problems["handoff.turns"]
    assert "needs bundle" in problems["handoff.person"]
    assert "en, zh or both" in problems["answers.loan"]
    assert "unknown slot {cardnumber}" in problems["answers.card.en"] and "not a valid template" in problems["answers.transfer.en"]


def test_person_classifier_and_sentiment_bundles_are_checked(tmp_path, tiny_bundle):
    path = write_config(tmp_path, tiny_bundle, answers={"card": {"en": "ok"}},
                        handoff={"person": {"method": "classifier", "bundle": str(tiny_bundle), "label": "human"},
                                 "sentiment": {"bundle": str(tiny_bundle), "negative": ["angry"]}})
    problems = _problems(path)
    assert "'human' is not a label" in problems["handoff.person.label"]
    assert "'angry' is not a label" in problems["handoff.sentiment.negative"]


def test_slots_come_from_the_message():
    found = extract_slots("card 4111 1111 1111 1111 lost, call 13812345678, ¥200 please", ["card_last4", "phone_last4", "amount"])
    assert found == {"card_last4": "1111", "phone_last4": "5678", "amount": "¥200"}
    assert extract_slots("转账500元没到账", ["amount"]) == {"amount": "500元"}
    assert extract_slots("sent 1,250.50 EUR yesterday", ["amount"]) == {"amount": "1,250.50 EUR"}
    assert extract_slots("order 12345 is late", ["amount", "card_last4"]) == {}  # an order number is neither
    reply, slots = fill("Card ending {card_last4} blocked.", "lost card 4111111111111111")
    assert reply == "Card ending 1111 blocked." and slots == {"card_last4": "1111"}
    assert fill("Card ending {card_last4} blocked.", "lost my card", "Which card?")[0] == "Which card?"
