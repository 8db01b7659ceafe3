"""The assistant over its config: the signals of a message (intent reading, FAQ hit, a request for a person,
negative sentiment), the decision (`decision.decide`) and the reply in the customer's language. Used alike by the
service (one message at a time, the intent model behind the server's micro-batcher) and by `assist eval` (all
messages in batches). The models other than the intent model are loaded here; the intent model is the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domainfit.apps.assistant.config import AssistantConfig
from domainfit.apps.assistant.decision import (
    NEW_CONVERSATION,
    ConversationState,
    Decision,
    FaqHit,
    IntentReading,
    Policy,
    decide,
    needs_faq,
    read_faq,
)
from domainfit.apps.assistant.slots import fill

__all__ = ["Assistant", "Reply", "language_of", "policy_of"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def language_of(text: str, setting: str = "auto") -> str:
    """en or zh: the configured language, or (auto) zh for a message with Chinese characters."""
    if setting != "auto":
        return setting
    return "zh" if _CJK.search(text) else "en"


def policy_of(config: AssistantConfig) -> Policy:
    rules = config.handoff
    return Policy(templates=frozenset(k for k, a in config.answers.items() if not a.faq),
                  lookups=frozenset(k for k, a in config.answers.items() if a.faq),
                  min_confidence=config.intents.min_confidence,
                  faq_min_score=config.faq.min_score if config.faq else None,
                  actions={"out_of_scope": rules.out_of_scope, "low_confidence": rules.low_confidence},
                  failed_turns=rules.failed_turns)


def _phrase_pattern(phrases: Sequence[str]) -> re.Pattern:
    """Latin-script phrases as whole words (an 'agent' in 'agents' too, not in 'reagent'); Chinese ones anywhere."""
    parts = [re.escape(p) if _CJK.search(p) else rf"(?<![A-Za-z]){re.escape(p)}s?(?![A-Za-z])" for p in phrases if p]
    return re.compile("|".join(parts) or r"(?!)", re.IGNORECASE)


@dataclass(frozen=True)
class Reply:
    text: str
    language: str
    decision: Decision
    slots: dict


def _load(path, threads):
    from domainfit.predict import Predictor

    return Predictor.from_bundle(path, threads=threads)


def _probability(prediction: dict, labels: Sequence[str]) -> float:
    return max((t["score"] for t in prediction.get("top_k") or () if t["label"] in labels), default=0.0)


class Assistant:
    """Everything but the intent model: load with `Assistant.load(config)`; `respond` decides and words one turn."""

    def __init__(self, config: AssistantConfig, *, faq=None, person=None, sentiment=None) -> None:
        self.config, self.policy = config, policy_of(config)
        self.faq, self.person_model, self.sentiment = faq, person, sentiment
        self._person = _phrase_pattern(config.handoff.person.phrases)

    @classmethod
    def load(cls, config: AssistantConfig, *, threads: int | None = None) -> Assistant:
        rules = config.handoff
        return cls(config, faq=_load(config.faq.bundle, threads) if config.faq else None,
                   person=_load(rules.person.bundle, threads) if rules.person.method == "classifier" else None,
                   sentiment=_load(rules.sentiment.bundle, threads) if rules.sentiment else None)

    # ------------------------------------------------------------------------------------------------ signals

    def faq_hits(self, texts: Sequence[str]) -> list[FaqHit | None]:
        if self.faq is None:
            return [None] * len(texts)
        return [read_faq(p) for p in self.faq.predict(list(texts))]

    def wants_person(self, texts: Sequence[str]) -> list[bool]:
        rule = self.config.handoff.person
        if self.person_model is None:
            return [self._person.search(t) is not None for t in texts]
        predictions = self.person_model.predict(list(texts), top_k=len(self.person_model.labels))
        return [_probability(p, [rule.label]) >= rule.min_score for p in predictions]

    def negative(self, texts: Sequence[str]) -> list[bool]:
        rule = self.config.handoff.sentiment
        if self.sentiment is None or rule is None:
            return [False] * len(texts)
        predictions = self.sentiment.predict(list(texts), top_k=len(self.sentiment.labels))
        return [_probability(p, rule.negative) >= rule.min_score for p in predictions]

    # ------------------------------------------------------------------------------------------------ one turn

    def respond(self, message: str, reading: IntentReading, state: ConversationState = NEW_CONVERSATION, *,
                faq: Callable[[], FaqHit | None] | FaqHit | None = None, wants_person: bool | None = None,
                negative: bool | None = None) -> Reply:
        """Decide and word one turn. `faq`: the hit, or a function asked only when the intent alone will not do."""
        if callable(faq):
            faq = faq() if needs_faq(reading, self.policy) else None
        person = self.wants_person([message])[0] if wants_person is None else wants_person
        upset = self.negative([message])[0] if negative is None else negative
        decision = decide(reading, self.policy, state, faq=faq, wants_person=person, negative=upset)
        return self.word(decision, message)

    def word(self, decision: Decision, message: str) -> Reply:
        language = language_of(message, self.config.language)
        replies, slots = self.config.replies, {}
        if decision.source == "intent":
            spec = self.config.answers[decision.intent]
            text, slots = fill(spec.template(language), message, spec.missing.pick(language) if spec.missing else None)
        elif decision.source == "faq":
            text = decision.faq.answer or ""
        elif decision.source == "clarify":
            text = replies.clarify.pick(language)
        else:
            text = (replies.with_agent if decision.handoff_reason == "with_agent" else replies.handoff).pick(language)
        return Reply(text, language, decision, slots)
