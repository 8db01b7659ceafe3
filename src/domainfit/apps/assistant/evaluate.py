"""`domainfit assist eval`: replay labelled customer messages through the whole assistant (intent model, FAQ, the
hand-off rules, conversation state) and measure what a support team cares about:

    automation rate     messages answered without a person (intent or FAQ answer)
    answer accuracy     of those answers, the right ones (an intent answer for the labelled intent; an FAQ answer whose
                        id is the labelled intent, or the row's `faq_id` when the file has that column)
    wrong-answer rate   wrong answers among all messages: the costly error
    hand-off precision  hand-offs that were needed: the message is out of scope (labelled with one of `oos_labels`, or
                        an intent the assistant has no answer for) or the assistant would have answered it wrongly
    oos hand-off recall out-of-scope messages that were handed off (or clarified) rather than answered

and the same per labelled intent. Messages of one conversation (a `conversation_id` column) are replayed in file
order, so failed turns and hand-offs carry over as they would live; without it every message is its own conversation.
The models run in batches (the decision is the same pure function the service uses).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from domainfit.apps.assistant.config import AssistantConfig, load_assistant_config
from domainfit.apps.assistant.decision import ConversationState, decide, needs_faq, read_intent
from domainfit.apps.assistant.engine import Assistant
from domainfit.errors import DataError
from domainfit.i18n import _

__all__ = ["DEFAULT_OOS_LABELS", "evaluate_assistant", "score_replay"]

DEFAULT_OOS_LABELS = ("oos", "out_of_scope", "other", "其他", "human", "handoff")
_TEXT, _LABEL, _CONVERSATION = ("message", "text"), ("intent", "label"), ("conversation_id", "conversation")


def _listed(frame: pd.DataFrame) -> str:
    return ", ".join(str(c) for c in frame.columns if not str(c).startswith("_"))


def _shown(what: str) -> str:
    """`what` (a column's role) in the user's language."""
    return {"text (message)": _("text (message)"), "label (intent)": _("label (intent)"),
            "conversation id": _("conversation id")}.get(what, what)


def _column(frame: pd.DataFrame, given: str | None, candidates, what: str, source: str, required: bool = True):
    if given is not None:
        if given not in frame.columns:
            raise DataError(_("no column {given} for the {what}").format(given=repr(given), what=_shown(what)),
                            where=source, hint=_("columns: {columns}").format(columns=_listed(frame)))
        return given
    found = next((c for c in candidates if c in frame.columns), None)
    if found is None and required:
        raise DataError(_("no {what} column (looked for {candidates})").format(
                            what=_shown(what), candidates=", ".join(candidates)), where=source,
                        hint=_("name it with --{option} COLUMN; columns: {columns}").format(
                            option=what.split()[0], columns=_listed(frame)))
    return found


def read_conversations(path: str | Path, *, text_column=None, label_column=None, conversation_column=None) -> pd.DataFrame:
    """The file as (conversation_id, message, intent[, faq_id]) rows, in file order."""
    from domainfit.data.io import read_table

    source = str(path)
    frame = read_table(path).frame
    text = _column(frame, text_column, _TEXT, "text (message)", source)
    label = _column(frame, label_column, _LABEL, "label (intent)", source)
    conv = _column(frame, conversation_column, _CONVERSATION, "conversation id", source, required=False)
    out = pd.DataFrame({"message": frame[text].astype(str), "intent": frame[label].fillna("").astype(str)})
    out["conversation_id"] = frame[conv].astype(str) if conv else [f"row-{i}" for i in range(len(frame))]
    if "faq_id" in frame.columns:
        out["faq_id"] = frame["faq_id"].fillna("").astype(str)
    empty = out.index[out["message"].str.strip() == ""]
    if len(empty):
        raise DataError(_("{n} empty message(s)").format(n=len(empty)),
                        where=f"{source}: row {frame['_row'].iloc[empty[0]]}, column {text}",
                        hint=_("remove the rows without a message"))
    return out


def score_replay(rows: pd.DataFrame, decisions: list, answerable: set[str], oos_labels) -> dict:
    """The metrics of a replay: `rows` (message, intent[, faq_id]) and one Decision per row."""
    oos_labels = set(oos_labels)
    totals, per_intent, reasons = Counter(), defaultdict(Counter), Counter()
    for row, d in zip(rows.itertuples(index=False), decisions):
        gold = row.intent
        oos = gold in oos_labels or gold not in answerable
        c = per_intent["(out of scope)" if gold in oos_labels else gold]
        for counter in (totals, c):
            counter["messages"] += 1
            counter["out_of_scope"] += oos
        if d.source in ("intent", "faq"):
            right = d.intent == gold if d.source == "intent" else d.faq.id in {gold, getattr(row, "faq_id", None)}
            for counter in (totals, c):
                counter["answered"] += 1
                counter["correct" if right else "wrong"] += 1
                counter[f"{d.source}_answers"] += 1
                counter[f"{d.source}_wrong"] += not right
        else:
            needed = oos or d.intent != gold
            for counter in (totals, c):
                counter["handoffs" if d.source == "handoff" else "clarified"] += 1
                counter["needed"] += needed and d.source == "handoff"
                counter["oos_caught"] += oos
            if d.source == "handoff":
                reasons[d.handoff_reason] += 1
    return {**_rates(totals), "handoff_reasons": dict(reasons.most_common()),
            "per_intent": {k: _rates(v) for k, v in sorted(per_intent.items())}}


def _rates(c: Counter) -> dict:
    n = c["messages"]

    def ratio(a, b):
        return round(a / b, 4) if b else None

    return {"messages": n, "answered": c["answered"], "correct": c["correct"], "wrong": c["wrong"],
            "handoffs": c["handoffs"], "clarified": c["clarified"], "out_of_scope": c["out_of_scope"],
            "answers_by_source": {"intent": c["intent_answers"], "faq": c["faq_answers"]},
            "wrong_by_source": {"intent": c["intent_wrong"], "faq": c["faq_wrong"]},
            "automation_rate": ratio(c["answered"], n), "answer_accuracy": ratio(c["correct"], c["answered"]),
            "wrong_answer_rate": ratio(c["wrong"], n), "handoff_precision": ratio(c["needed"], c["handoffs"]),
            "oos_handoff_recall": ratio(c["oos_caught"], c["out_of_scope"])}


def evaluate_assistant(config: str | Path | AssistantConfig, data: str | Path, *, text_column: str | None = None,
                       label_column: str | None = None, conversation_column: str | None = None,
                       oos_labels=DEFAULT_OOS_LABELS, intents=None, assistant: Assistant | None = None,
                       threads: int | None = None) -> dict:
    """Replay `data` through the assistant of `config`; the metrics (see the module docstring) and the hand-off
    reasons. `intents`/`assistant`: already loaded models (a benchmark reuses them)."""
    from domainfit.predict import Predictor

    config = load_assistant_config(config)
    rows = read_conversations(data, text_column=text_column, label_column=label_column, conversation_column=conversation_column)
    intents = intents or Predictor.from_bundle(config.intents.bundle, threads=threads)
    assistant = assistant or Assistant.load(config, threads=threads)
    texts = rows["message"].tolist()
    readings = [read_intent(p) for p in intents.predict(texts, top_k=config.intents.top_k)]
    asks = [i for i, r in enumerate(readings) if needs_faq(r, assistant.policy)]
    faq = dict(zip(asks, assistant.faq_hits([texts[i] for i in asks]))) if asks else {}
    person, negative = assistant.wants_person(texts), assistant.negative(texts)
    states: dict[str, ConversationState] = {}
    decisions = []
    for i, (cid, reading) in enumerate(zip(rows["conversation_id"], readings)):
        d = decide(reading, assistant.policy, states.get(cid, ConversationState()), faq=faq.get(i),
                   wants_person=person[i], negative=negative[i])
        states[cid] = ConversationState(d.failed_turns, d.source == "handoff")
        decisions.append(d)
    result = score_replay(rows, decisions, set(config.answers), oos_labels)
    return {"data": str(data), "config": {"min_confidence": config.intents.min_confidence,
                                          "faq": str(config.faq.bundle) if config.faq else None}, **result}
