"""The decision per message, rule by rule: each hand-off reason, the intent's answer, the FAQ's, clarifying, and the
reading of predictions with and without the out-of-scope fields of a bundle's detector."""

from __future__ import annotations

import pytest

from domainfit.apps.assistant.decision import (
    ConversationState,
    FaqHit,
    IntentReading,
    Policy,
    decide,
    needs_faq,
    read_faq,
    read_intent,
)

POLICY = Policy(templates=frozenset({"card_lost", "balance"}), lookups=frozenset({"fees"}), min_confidence=0.6,
                faq_min_score=0.5)
SURE = IntentReading("card_lost", 0.93)
GOOD_FAQ = FaqHit("fee-table", "Fees are listed at ...", 0.8)
WEAK_FAQ = FaqHit("fee-table", "Fees are listed at ...", 0.3)


def test_a_confident_intent_with_a_template_is_answered():
    d = decide(SURE, POLICY)
    assert (d.source, d.intent, d.handoff_reason, d.new_handoff, d.failed_turns) == ("intent", "card_lost", None, False, 0)
    assert not needs_faq(SURE, POLICY)


def test_look_it_up_goes_to_the_faq():
    reading = IntentReading("fees", 0.9)
    assert needs_faq(reading, POLICY)
    d = decide(reading, POLICY, faq=GOOD_FAQ)
    assert d.source == "faq" and d.faq == GOOD_FAQ and d.status == "lookup"
    d = decide(reading, POLICY, faq=WEAK_FAQ)  # the FAQ is not sure either
    assert (d.source, d.handoff_reason, d.new_handoff) == ("handoff", "no_answer", True)


@pytest.mark.parametrize("reading, reason", [
    (IntentReading("card_lost", 0.95, out_of_scope=True, ood_score=7.1), "out_of_scope"),
    (IntentReading("card_lost", 0.41), "low_confidence"),
    (IntentReading("refund", 0.97), "no_answer"),  # an intent without an answer in the config
])
def test_refused_or_uncertain_intents_use_a_confident_faq_or_hand_off(reading, reason):
    assert decide(reading, POLICY, faq=GOOD_FAQ).source == "faq"
    d = decide(reading, POLICY, faq=WEAK_FAQ)
    assert (d.source, d.handoff_reason, d.status if reason != "no_answer" else reason) == ("handoff", reason, reason)
    assert decide(reading, POLICY).handoff_reason == reason  # no FAQ bundle at all


def test_asking_for_a_person_and_negative_sentiment_come_first():
    assert decide(SURE, POLICY, wants_person=True).handoff_reason == "asked_for_person"
    assert decide(SURE, POLICY, negative=True).handoff_reason == "negative_sentiment"
    assert decide(SURE, POLICY, wants_person=True, negative=True).handoff_reason == "asked_for_person"


def test_a_conversation_with_an_agent_stays_there_without_a_new_queue_entry():
    d = decide(SURE, POLICY, ConversationState(with_agent=True), wants_person=True)
    assert (d.source, d.handoff_reason, d.new_handoff) == ("handoff", "with_agent", False)


def test_clarify_until_the_failed_turns_limit_then_hand_off():
    policy = Policy(templates=POLICY.templates, min_confidence=0.6, actions={"low_confidence": "clarify"}, failed_turns=3)
    unsure = IntentReading("balance", 0.3)
    state = ConversationState()
    sources = []
    for _ in range(3):
        d = decide(unsure, policy, state)
        sources.append((d.source, d.handoff_reason, d.failed_turns))
        state = ConversationState(failed_turns=d.failed_turns)
    assert sources == [("clarify", None, 1), ("clarify", None, 2), ("handoff", "failed_turns", 3)]
    assert decide(SURE, policy, ConversationState(failed_turns=2)).failed_turns == 0  # an answer resets the count
    assert decide(IntentReading("x", 0.9, out_of_scope=True), policy).handoff_reason == "out_of_scope"  # still at once


def test_predictions_are_read_with_or_without_a_detector():
    today = {"label": "card_lost", "score": 0.7, "top_k": [{"label": "card_lost", "score": 0.7}, {"label": "balance", "score": 0.2}]}
    reading = read_intent(today)
    assert (reading.out_of_scope, reading.ood_score, reading.top) == (False, None, (("card_lost", 0.7), ("balance", 0.2)))
    flagged = read_intent({**today, "out_of_scope": True, "ood_score": 12.5, "ood_threshold": 9.0})
    assert flagged.out_of_scope and flagged.ood_score == 12.5
    assert decide(flagged, POLICY).handoff_reason == "out_of_scope"
    refused = read_faq({"label": None, "answer": None, "score": 0.2, "no_answer": True,
                        "answers": [{"id": "fee-table", "answer": "Fees ...", "score": 0.2}]})
    assert refused == FaqHit("fee-table", "Fees ...", 0.2, refused=True)
    own_threshold = Policy(templates=frozenset(), lookups=frozenset({"fees"}))  # faq_min_score None: the bundle decides
    assert decide(IntentReading("fees", 0.9), own_threshold, faq=refused).source == "handoff"
    assert decide(IntentReading("fees", 0.9), own_threshold, faq=FaqHit("a", "b", 0.1)).source == "faq"
