"""The decision per message, a pure function: intent answer → FAQ answer → hand-off, with the reason recorded.

    with an agent already        → hand-off (with_agent: the agent answers; no new queue entry)
    asks for a person            → hand-off (asked_for_person)
    negative sentiment           → hand-off (negative_sentiment)          only with a sentiment bundle
    intent in scope, confident, with a template answer → the intent's answer
    the intent says "look it up", or is out of scope / uncertain / has no answer,
        and the FAQ is confident → the FAQ's answer
    otherwise a failed turn: its reason (out_of_scope, low_confidence, no_answer) is handed off at once, or (rule
        `clarify`) the customer is asked to rephrase until `failed_turns` failures in a row (→ failed_turns)

Out of scope comes from the intent bundle's own detector (`out_of_scope` in its predictions, when it has one) or the
low-confidence rule (`min_confidence`), which works with any classification bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["HANDOFF_REASONS", "ConversationState", "Decision", "FaqHit", "IntentReading", "Policy", "decide",
           "intent_status", "needs_faq", "read_faq", "read_intent"]

Source = Literal["intent", "faq", "handoff", "clarify"]
HANDOFF_REASONS = ("with_agent", "asked_for_person", "negative_sentiment", "out_of_scope", "low_confidence", "no_answer",
                   "failed_turns")


@dataclass(frozen=True)
class IntentReading:
    intent: str
    confidence: float
    out_of_scope: bool = False  # the bundle's own detector said so (missing field: not out of scope)
    ood_score: float | None = None
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class FaqHit:
    id: str | None  # the best answer's id (None: the bank is empty)
    answer: str | None
    score: float
    refused: bool = False  # the FAQ bundle's own no-answer threshold refused it


@dataclass(frozen=True)
class Policy:
    """What the decision reads of the config."""

    templates: frozenset[str]  # intents answered by a template
    lookups: frozenset[str] = frozenset()  # intents answered from the FAQ
    min_confidence: float = 0.5
    faq_min_score: float | None = None  # None: the FAQ bundle's own no-answer threshold decides
    actions: dict[str, str] = field(default_factory=dict)  # reason → handoff | clarify (default handoff)
    failed_turns: int = 2


@dataclass(frozen=True)
class ConversationState:
    failed_turns: int = 0  # failed turns in a row so far
    with_agent: bool = False  # handed off and not yet resolved


@dataclass(frozen=True)
class Decision:
    source: Source
    intent: str | None
    confidence: float
    out_of_scope: bool
    handoff_reason: str | None = None
    status: str = "ok"  # what the intent model's reading was: ok, lookup, out_of_scope, low_confidence, no_answer
    faq: FaqHit | None = None
    failed_turns: int = 0  # the conversation's count after this turn
    new_handoff: bool = False  # this turn puts the conversation in the agents' queue


NEW_CONVERSATION = ConversationState()


def read_intent(prediction: dict) -> IntentReading:
    """A classification prediction as the assistant reads it (today's bundles carry no out_of_scope field)."""
    return IntentReading(str(prediction["label"]), float(prediction["score"]), bool(prediction.get("out_of_scope", False)),
                         prediction.get("ood_score"),
                         tuple((t["label"], float(t["score"])) for t in prediction.get("top_k") or ()))


def read_faq(prediction: dict | None) -> FaqHit | None:
    if prediction is None:
        return None
    best = (prediction.get("answers") or [{}])[0]
    return FaqHit(best.get("id", prediction.get("label")), best.get("answer", prediction.get("answer")),
                  float(prediction.get("score") or 0.0), bool(prediction.get("no_answer", False)))


def intent_status(reading: IntentReading, policy: Policy) -> str:
    if reading.out_of_scope:
        return "out_of_scope"
    if reading.confidence < policy.min_confidence:
        return "low_confidence"
    if reading.intent in policy.lookups:
        return "lookup"
    if reading.intent in policy.templates:
        return "ok"
    return "no_answer"


def needs_faq(reading: IntentReading, policy: Policy) -> bool:
    """Whether the FAQ is asked at all (it is not when the intent's own answer will do)."""
    return intent_status(reading, policy) != "ok"


def _confident(hit: FaqHit | None, policy: Policy) -> bool:
    if hit is None or hit.id is None:
        return False
    return not hit.refused if policy.faq_min_score is None else hit.score >= policy.faq_min_score


def decide(reading: IntentReading, policy: Policy, state: ConversationState = NEW_CONVERSATION, *,
           faq: FaqHit | None = None, wants_person: bool = False, negative: bool = False) -> Decision:
    """The assistant's decision on one message."""
    base = {"intent": reading.intent, "confidence": reading.confidence, "out_of_scope": reading.out_of_scope}
    status = intent_status(reading, policy)
    if state.with_agent:
        return Decision("handoff", **base, handoff_reason="with_agent", status=status, failed_turns=state.failed_turns)
    for asked, reason in ((wants_person, "asked_for_person"), (negative, "negative_sentiment")):
        if asked:
            return Decision("handoff", **base, handoff_reason=reason, status=status, failed_turns=state.failed_turns,
                            new_handoff=True)
    if status == "ok":
        return Decision("intent", **base, status=status)
    if _confident(faq, policy):
        return Decision("faq", **base, status=status, faq=faq)
    reason = "no_answer" if status == "lookup" else status
    failed = state.failed_turns + 1
    if policy.actions.get(reason, "handoff") == "clarify":
        if failed < policy.failed_turns:
            return Decision("clarify", **base, status=status, faq=faq, failed_turns=failed)
        reason = "failed_turns"
    return Decision("handoff", **base, handoff_reason=reason, status=status, faq=faq, failed_turns=failed, new_handoff=True)
