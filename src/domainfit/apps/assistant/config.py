"""The assistant's configuration (`assistant.yaml`), typed and checked before start-up: every problem at once, each
with its key; then the bundles it names are opened (their domainfit.json only) and checked against it: the intent
bundle must be classification, the FAQ bundle retrieval, every intent in `answers` one of the bundle's intents, an
answer that says "look it up" needs an FAQ bundle.

    intents: {bundle: bundles/intents, min_confidence: 0.5}
    faq: {bundle: bundles/faq, min_score: 0.6}            # optional
    answers:
      card_lost:
        en: "I have blocked the card ending {card_last4}; a new one is on its way."
        zh: "尾号{card_last4}的卡已冻结，新卡正在寄出。"
      exchange_rate: {faq: true}                         # look it up in the FAQ
    handoff:
      person: {method: rules}                            # 转人工 / agent / human
      failed_turns: 2
    serve: {port: 8000}                                  # domainfit.serving.ServeSettings
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domainfit.bundle import read_meta
from domainfit.config.load import read_yaml_mapping, validation_problems
from domainfit.errors import ConfigError, DomainfitError
from domainfit.i18n import _
from domainfit.serving.settings import ServeSettings

__all__ = ["AnswerSpec", "AssistantConfig", "HandoffRules", "load_assistant_config"]

LANGUAGES = ("en", "zh")
DEFAULT_PERSON_PHRASES = ["转人工", "人工客服", "人工服务", "找人工", "真人", "客服人员", "agent", "human", "real person",
                          "a person", "operator", "representative", "speak to someone", "talk to someone"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Texts(_Strict):
    """One line of the assistant's own in both languages (either may be left out: the other is used)."""

    en: str | None = None
    zh: str | None = None

    @model_validator(mode="after")
    def _one(self):
        if self.en is None and self.zh is None:
            raise ValueError(_("give the text in en, zh or both"))
        return self

    def pick(self, language: str) -> str:
        return (self.zh if language == "zh" else self.en) or self.en or self.zh or ""


class IntentModel(_Strict):
    bundle: Path = Field(..., description="a classification bundle of the customers' intents")
    min_confidence: float = Field(0.5, ge=0, le=1, description="below this probability the intent is uncertain")
    top_k: int = Field(3, ge=1, description="intents kept with each turn (the agent sees them)")


class FaqModel(_Strict):
    bundle: Path = Field(..., description="a retrieval bundle (an FAQ answer bank)")
    min_score: float | None = Field(None, description="the FAQ's best answer is used at or above this score "
                                    "(default: unless the bundle's own no-answer threshold refuses it)")


class AnswerSpec(_Strict):
    """The answer to one intent: a template per language with {slots} from the message, or `faq: true` (look it up)."""

    en: str | None = None
    zh: str | None = None
    faq: bool = Field(False, description="answer from the FAQ bundle instead of a template")
    missing: Texts | None = Field(None, description="said instead when a slot of the template is not in the message")

    @model_validator(mode="after")
    def _some_answer(self):
        if not self.faq and self.en is None and self.zh is None:
            raise ValueError(_("give the answer in en, zh or both, or faq: true to look it up in the FAQ"))
        return self

    def template(self, language: str) -> str | None:
        return (self.zh if language == "zh" else self.en) or self.en or self.zh


class PersonRule(_Strict):
    """How a request for a person (转人工, "agent", "human") is recognised: phrases, or a small classifier bundle."""

    method: Literal["rules", "classifier"] = "rules"
    phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_PERSON_PHRASES),
                               description="rules: any of these in the message (case-insensitive, whole words for Latin script)")
    bundle: Path | None = Field(None, description="classifier: a classification bundle")
    label: str = Field("human", description="classifier: its label meaning 'wants a person'")
    min_score: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _bundle_for_classifier(self):
        if self.method == "classifier" and self.bundle is None:
            raise ValueError(_("method classifier needs bundle: a classification bundle with the label {label}").format(
                label=repr(self.label)))
        return self


class SentimentRule(_Strict):
    bundle: Path = Field(..., description="a classification bundle of sentiment")
    negative: list[str] = Field(default_factory=lambda: ["negative"], min_length=1, description="its negative labels")
    min_score: float = Field(0.8, ge=0, le=1, description="hand off when a negative label is at least this probable")


class HandoffRules(_Strict):
    out_of_scope: Literal["handoff", "clarify"] = Field("handoff", description="a message out of the intents' scope: hand "
                                                        "off at once, or ask to rephrase (a failed turn)")
    low_confidence: Literal["handoff", "clarify"] = "handoff"
    person: PersonRule = Field(default_factory=PersonRule)
    failed_turns: int = Field(2, ge=1, description="hand off after this many failed turns in a row")
    sentiment: SentimentRule | None = None


class Replies(_Strict):
    """The assistant's own lines."""

    handoff: Texts = Texts(en="I am passing you to a colleague, who will reply here shortly.",
                           zh="正在为您转接人工客服，请稍候，客服人员会在这里回复您。")
    clarify: Texts = Texts(en="Sorry, I did not understand. Could you say it in other words?",
                           zh="抱歉，我没有理解您的问题，能换个说法吗？")
    with_agent: Texts = Texts(en="A colleague has your conversation and will reply here.",
                              zh="人工客服已接手您的对话，请稍候。")


class AssistantConfig(_Strict):
    intents: IntentModel
    faq: FaqModel | None = None
    answers: dict[str, AnswerSpec] = Field(..., min_length=1)
    handoff: HandoffRules = Field(default_factory=HandoffRules)
    replies: Replies = Field(default_factory=Replies)
    language: Literal["auto", "en", "zh"] = Field("auto", description="reply language: auto follows each message")
    keep_turns: int = Field(20, ge=1, description="turns of a conversation shown to the agent who takes over")
    store: str | None = Field(None, description="database of conversations and hand-offs: a file (SQLite) or a "
                              "SQLAlchemy URL (default: serve.prediction_log, else assistant.db beside this file)")
    store_texts: Literal["raw", "redacted"] = Field("raw", description="what the conversation store keeps of a message")
    serve: ServeSettings = Field(default_factory=ServeSettings)


def _template_problems(answers) -> list[tuple[str, str]]:
    """Templates with an unknown slot or a stray brace, read from the raw `answers:` mapping (so that they are
    reported together with the schema's problems)."""
    from domainfit.apps.assistant.slots import SLOTS, slot_names

    problems = []
    for intent, spec in (answers.items() if isinstance(answers, dict) else ()):
        if not isinstance(spec, dict):
            continue
        missing = spec.get("missing") if isinstance(spec.get("missing"), dict) else {}
        texts = [(lang, spec.get(lang)) for lang in LANGUAGES] + [(f"missing.{lang}", missing.get(lang)) for lang in LANGUAGES]
        for lang, text in texts:
            if not isinstance(text, str):
                continue
            try:
                fields = slot_names(text)
            except ValueError as exc:
                problems.append((f"answers.{intent}.{lang}", _("not a valid template ({exc}); write a slot as {slot}, "
                                                               "a brace as {left} or {right}").format(
                                                                   exc=exc, slot="{amount}", left="{{", right="}}")))
                continue
            for field in fields:
                if field not in SLOTS:
                    problems.append((f"answers.{intent}.{lang}", _("unknown slot {slot}; slots: {slots}").format(
                        slot="{" + field + "}", slots=", ".join(SLOTS.names()))))
    return problems


def _bundle_problems(key: str, path: Path, task: str, labels_needed: dict[str, list[str]] | None = None):
    """(problems, labels) of the bundle at `path` for the config key `key`; `labels_needed`: key → labels it must have."""
    try:
        meta = read_meta(path)
    except DomainfitError as exc:
        return [(key, _("no usable bundle at {path}: {error}").format(path=path, error=exc.message))], None
    if meta.task != task:
        return [(key, _("{path} is a {task} bundle; this needs a {needed} bundle").format(
            path=path, task=meta.task, needed=task))], None
    problems = []
    for where, wanted in (labels_needed or {}).items():
        for label in wanted:
            if label not in meta.labels:
                problems.append((where, _("{label} is not a label of {path} ({labels})").format(
                    label=repr(label), path=path,
                    labels=", ".join(meta.labels[:10]) + (", ..." if len(meta.labels) > 10 else ""))))
    return problems, meta.labels


def check_bundles(config: AssistantConfig) -> list[tuple[str, str]]:
    """Every problem between the config and the bundles it names."""
    problems, labels = _bundle_problems("intents.bundle", config.intents.bundle, "classification")
    if labels is not None:
        for intent in config.answers:
            if intent not in labels:
                close = difflib.get_close_matches(intent, labels, n=1)
                problems.append((f"answers.{intent}", _("unknown intent {intent}").format(intent=repr(intent))
                                 + (_("; did you mean {name}?").format(name=repr(close[0])) if close else "")
                                 + _("; the intent bundle has {n}: {labels}").format(
                                     n=len(labels),
                                     labels=", ".join(labels[:10]) + (", ..." if len(labels) > 10 else ""))))
    if config.faq is not None:
        problems += _bundle_problems("faq.bundle", config.faq.bundle, "retrieval")[0]
    else:
        problems += [(f"answers.{intent}.faq", _("says look it up in the FAQ, but no faq.bundle is configured"))
                     for intent, spec in config.answers.items() if spec.faq]
    person = config.handoff.person
    if person.method == "classifier":
        problems += _bundle_problems("handoff.person.bundle", person.bundle, "classification",
                                     {"handoff.person.label": [person.label]})[0]
    sentiment = config.handoff.sentiment
    if sentiment is not None:
        problems += _bundle_problems("handoff.sentiment.bundle", sentiment.bundle, "classification",
                                     {"handoff.sentiment.negative": sentiment.negative})[0]
    return problems


def _resolve_paths(tree: dict, base: Path) -> None:
    """Bundle paths and the store, relative to the config file's folder (the file travels with its bundles)."""
    def fix(node: dict | None, key: str) -> None:
        if isinstance(node, dict) and isinstance(node.get(key), str) and "://" not in node[key]:
            node[key] = str((base / node[key]).expanduser()) if not Path(node[key]).expanduser().is_absolute() else node[key]

    fix(tree.get("intents"), "bundle")
    fix(tree.get("faq"), "bundle")
    handoff = tree.get("handoff") if isinstance(tree.get("handoff"), dict) else {}
    fix(handoff.get("person"), "bundle")
    fix(handoff.get("sentiment"), "bundle")
    fix(tree, "store")
    fix(tree.get("serve"), "prediction_log")
    fix(tree.get("serve"), "api_keys_file")


def _error(problems: list[tuple[str, str]], origin: str | None) -> ConfigError:
    return ConfigError(problems, source=origin,
                       hint=_("edit these keys in the assistant's YAML file (docs/assistant.md lists them)"))


def load_assistant_config(source: str | Path | dict | AssistantConfig, *, check: bool = True) -> AssistantConfig:
    """The checked config from a YAML file (paths relative to it), a dict (paths relative to the current folder) or a
    config. Raises ConfigError with every problem, each named by its key."""
    origin, base = None, Path.cwd()
    if not isinstance(source, AssistantConfig):
        if isinstance(source, dict):
            tree = dict(source)
        else:
            origin = str(source)
            tree = read_yaml_mapping(source, example="intents: {bundle: runs/intents}")
            base = Path(source).resolve().parent
        _resolve_paths(tree, base)
        templates = _template_problems(tree.get("answers"))
        try:
            config = AssistantConfig.model_validate(tree)
        except ValidationError as exc:
            raise _error(validation_problems(exc, AssistantConfig) + templates, origin) from None
    else:
        config = source
        templates = _template_problems(config.model_dump(mode="python", exclude_none=True)["answers"])
    problems = templates + (check_bundles(config) if check else [])
    if problems:
        raise _error(problems, origin)
    if config.store is None:  # one database: the prediction log's file, else beside the config
        store = config.serve.prediction_log or base / "assistant.db"
        config = config.model_copy(update={"store": str(store)})
    if config.serve.prediction_log is None:  # corrections need it; with a database URL store it is a file of its own
        plog = Path(config.store) if "://" not in config.store else base / "predictions.db"
        config = config.model_copy(update={"serve": config.serve.model_copy(update={"prediction_log": plog})})
    return config
