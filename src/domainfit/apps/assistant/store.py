"""Conversations, their turns and the hand-off queue, in SQLAlchemy Core tables through `domainfit.store.open_engine`
(SQLite by default, the prediction log's own file; any SQLAlchemy URL such as PostgreSQL). Everything an agent sees
is read back from here, so the queue and the conversations survive a restart.

Each customer message and the assistant's reply are written in one transaction, with the conversation's state
(failed turns in a row, with an agent or not) and, on a hand-off, its queue entry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import sqlalchemy as sa

from domainfit.apps.assistant.decision import ConversationState, Decision
from domainfit.data.pii import Redactor
from domainfit.store.engine import open_engine

__all__ = ["ConversationStore", "metadata"]

metadata = sa.MetaData()

conversations = sa.Table(
    "assist_conversations", metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("language", sa.String(8)),
    sa.Column("failed_turns", sa.Integer, nullable=False, default=0),
    sa.Column("with_agent", sa.Boolean, nullable=False, default=False),
)

turns = sa.Table(
    "assist_turns", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(128), sa.ForeignKey("assist_conversations.id"), nullable=False, index=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # customer | assistant | agent
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("source", sa.String(16)),  # the assistant's turns: intent | faq | handoff | clarify
    sa.Column("intent", sa.String(256)),
    sa.Column("confidence", sa.Float),
    sa.Column("out_of_scope", sa.Boolean),
    sa.Column("handoff_reason", sa.String(32)),
    sa.Column("request_id", sa.String(64)),  # the prediction log's key of the customer message's intent prediction
    sa.Column("top", sa.Text),  # JSON [[intent, score], ...]
)

handoffs = sa.Table(
    "assist_handoffs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(128), sa.ForeignKey("assist_conversations.id"), nullable=False, index=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("intent", sa.String(256)),
    sa.Column("confidence", sa.Float),
    sa.Column("request_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False, default="open", index=True),  # open | resolved
    sa.Column("resolved_ts", sa.Float),
    sa.Column("corrected_intent", sa.String(256)),
    sa.Column("corrected_by", sa.String(128)),
)


@dataclass(frozen=True)
class Recorded:
    turn_id: int
    handoff_id: int | None


class ConversationStore:
    def __init__(self, target, *, texts: str = "raw", keep_turns: int = 20) -> None:
        self.engine = open_engine(target)
        metadata.create_all(self.engine)
        self.keep_turns = keep_turns
        self._redact = Redactor(True) if texts == "redacted" else None

    def _text(self, text: str) -> str:
        return self._redact(text) if self._redact is not None else text

    # ------------------------------------------------------------------------------------------------ writing

    def state(self, conversation_id: str) -> ConversationState:
        with self.engine.connect() as db:
            row = db.execute(sa.select(conversations.c.failed_turns, conversations.c.with_agent)
                             .where(conversations.c.id == conversation_id)).first()
        return ConversationState(row.failed_turns, bool(row.with_agent)) if row else ConversationState()

    def record(self, conversation_id: str, message: str, decision: Decision, reply: str, *, language: str,
               request_id: str | None = None, top=(), ts: float | None = None) -> Recorded:
        """The customer's message, the reply and the conversation's new state (and a queue entry on a new hand-off)."""
        now = time.time() if ts is None else ts
        with self.engine.begin() as db:
            state = {"updated": now, "language": language, "failed_turns": decision.failed_turns,
                     "with_agent": decision.source == "handoff"}
            changed = db.execute(conversations.update().where(conversations.c.id == conversation_id).values(**state)).rowcount
            if not changed:
                try:
                    with db.begin_nested():  # a savepoint: two first messages of one conversation at once
                        db.execute(conversations.insert().values(id=conversation_id, created=now, **state))
                except sa.exc.IntegrityError:
                    db.execute(conversations.update().where(conversations.c.id == conversation_id).values(**state))
            turn = db.execute(turns.insert().values(
                conversation_id=conversation_id, ts=now, role="customer", text=self._text(message), intent=decision.intent,
                confidence=decision.confidence, out_of_scope=decision.out_of_scope, request_id=request_id,
                top=json.dumps([list(t) for t in top], ensure_ascii=False))).inserted_primary_key[0]
            db.execute(turns.insert().values(conversation_id=conversation_id, ts=now, role="assistant", text=reply,
                                             source=decision.source, intent=decision.intent, confidence=decision.confidence,
                                             out_of_scope=decision.out_of_scope, handoff_reason=decision.handoff_reason))
            handoff_id = None
            if decision.new_handoff:
                handoff_id = db.execute(handoffs.insert().values(
                    conversation_id=conversation_id, ts=now, reason=decision.handoff_reason, intent=decision.intent,
                    confidence=decision.confidence, request_id=request_id, status="open")).inserted_primary_key[0]
        return Recorded(int(turn), None if handoff_id is None else int(handoff_id))

    def agent_reply(self, handoff_id: int, text: str, *, ts: float | None = None) -> dict | None:
        entry = self.handoff(handoff_id, with_turns=False)
        if entry is None:
            return None
        with self.engine.begin() as db:
            turn = db.execute(turns.insert().values(conversation_id=entry["conversation_id"], ts=time.time() if ts is None else ts,
                                                    role="agent", text=text)).inserted_primary_key[0]
        return {"turn_id": int(turn), "conversation_id": entry["conversation_id"]}

    def correct(self, handoff_id: int, intent: str, *, by: str | None = None) -> dict | None:
        """Record an agent's correction of the hand-off's intent; the entry (with its request_id) or None."""
        with self.engine.begin() as db:
            done = db.execute(handoffs.update().where(handoffs.c.id == handoff_id)
                              .values(corrected_intent=intent, corrected_by=by)).rowcount
        return self.handoff(handoff_id, with_turns=False) if done else None

    def resolve(self, handoff_id: int) -> dict | None:
        """Close the hand-off; the conversation goes back to the assistant."""
        entry = self.handoff(handoff_id, with_turns=False)
        if entry is None:
            return None
        now = time.time()
        with self.engine.begin() as db:
            db.execute(handoffs.update().where(handoffs.c.id == handoff_id).values(status="resolved", resolved_ts=now))
            db.execute(conversations.update().where(conversations.c.id == entry["conversation_id"])
                       .values(with_agent=False, failed_turns=0, updated=now))
        return self.handoff(handoff_id, with_turns=False)

    # ------------------------------------------------------------------------------------------------ reading

    def turns(self, conversation_id: str, *, after: int = 0, last: int | None = None) -> list[dict]:
        """The conversation's turns, oldest first: those after turn id `after`, or the `last` ones."""
        query = sa.select(turns).where(turns.c.conversation_id == conversation_id, turns.c.id > after)
        query = query.order_by(turns.c.id.desc()).limit(last) if last else query.order_by(turns.c.id)
        with self.engine.connect() as db:
            rows = [_turn(r) for r in db.execute(query).mappings()]
        return rows[::-1] if last else rows

    def handoff(self, handoff_id: int, *, with_turns: bool = True) -> dict | None:
        with self.engine.connect() as db:
            row = db.execute(sa.select(handoffs).where(handoffs.c.id == handoff_id)).mappings().first()
        return None if row is None else self._entry(row, with_turns)

    def handoffs(self, *, status: str | None = "open", limit: int = 50, after: int = 0) -> list[dict]:
        """Queue entries, oldest first, each with the conversation's last `keep_turns` turns."""
        query = sa.select(handoffs).where(handoffs.c.id > after)
        if status is not None:
            query = query.where(handoffs.c.status == status)
        with self.engine.connect() as db:
            rows = list(db.execute(query.order_by(handoffs.c.id).limit(limit)).mappings())
        return [self._entry(r, True) for r in rows]

    def _entry(self, row, with_turns: bool) -> dict:
        entry = {k: row[k] for k in ("id", "conversation_id", "ts", "reason", "intent", "confidence", "request_id", "status",
                                     "resolved_ts", "corrected_intent", "corrected_by")}
        if with_turns:
            entry["turns"] = self.turns(row["conversation_id"], last=self.keep_turns)
        return entry


def _turn(row) -> dict:
    out = {k: row[k] for k in ("id", "ts", "role", "text", "source", "intent", "confidence", "out_of_scope", "handoff_reason",
                               "request_id")}
    out["top"] = json.loads(row["top"]) if row["top"] else []
    return out
