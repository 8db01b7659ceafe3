"""FAQ / semantic retrieval: pairs of (query, answer text) or (query, answer id) with an answer bank; the model returns
the top-k answers of the bank with their cosine scores, and no answer when the best one is not good enough.

The bundle's model is an ordinary `TextModel` whose head *is the index*: one row per answer of the bank, its
L2-normalised embedding by the tuned encoder, computed at save time (`model/head.safetensors`, no bias), over the
normalised query embedding, so the Predictor, serving and `domainfit.load` score queries like any other task. The
bank's texts are in `index/answers.csv` (id, answer); the Predictor's task is bound to them (`bind`). Training,
evaluation and data checks run in `domainfit.tasks.retrieval.workflow` (a query has no single label column to classify).

Targets: an answer cell is read as the id of a bank answer, or its text (whitespace collapsed), or
`task_options.no_answer_marker` for a query the bank cannot answer (used to calibrate and measure the no-answer
decision, never trained on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from domainfit.evaluation import reference_stats
from domainfit.i18n import _
from domainfit.registry import tasks
from domainfit.tasks import examples
from domainfit.tasks.retrieval.data import collapse
from domainfit.tasks.retrieval.metrics import calibrate_threshold, retrieval_metrics, true_ranks
from domainfit.tasks.retrieval.workflow import WORKFLOW

__all__ = ["RetrievalOptions", "RetrievalTask"]


class RetrievalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    no_answer: Literal["auto", "off"] | float = Field(
        "auto", description="when to return no answer: auto (the top-score threshold that makes the most right answer/"
                            "refuse decisions on validation), off (always answer), or a fixed cosine threshold")
    no_answer_marker: str = Field("NO_ANSWER", min_length=1, description="an answer cell holding this marks a query the bank "
                                  "cannot answer (out of scope): calibrates and measures the no-answer decision")
    negatives: Literal["batch", "bank"] = Field(
        "batch", description="negatives of the ranking loss: the other answers of the batch (in-batch, scales to any "
                             "bank), or every answer of the bank at each step (small banks: stronger, slower)")
    scale: float = Field(20.0, gt=0, description="similarity scale of the ranking loss (sentence-transformers' default 20)")
    answers_id_column: str | None = Field(None, description="id column of data.answers (inferred: id, answer_id, faq_id, ...)")
    answers_text_column: str | None = Field(None, description="answer text column of data.answers (inferred: answer, text, ...)")


@tasks.register("retrieval")
class RetrievalTask:
    name = "retrieval"
    description = ("FAQ / semantic search over an answer bank: (query, answer or answer id) pairs; bi-encoder tuned with "
                   "in-batch negatives, bank indexed in the bundle, top-k answers with a calibrated no-answer threshold")
    primary_metric = "recall_at_1"
    summary_metrics = ("recall_at_1", "mrr_at_10", "recall_at_5", "recall_at_10", "no_answer_accuracy")
    default_baselines = ("bm25", "backbone")
    tunes_on_validation = True
    Options = RetrievalOptions
    kind = "pair"
    targets = "answer"
    data_suffixes: tuple[str, ...] = ()
    workflow = WORKFLOW
    example = staticmethod(examples.retrieval_example)

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None:
        self.options = RetrievalOptions.model_validate(options or {})
        state = state or {}
        self.threshold: float | None = state.get("threshold")
        self.calibration: dict = dict(state.get("calibration") or {})
        self.answers: dict[str, str] | None = None  # id -> text, once bound to a bank
        self._by_text: dict[str, str] = {}

    def bind(self, answers: Mapping[str, str]) -> RetrievalTask:
        """Give the task its answer bank (id -> text): answer cells are then read as ids or texts of the bank, and
        predictions carry the answer texts. Returns self."""
        self.answers = {str(k): str(v) for k, v in answers.items()}
        self._by_text = {}
        for answer_id, text in self.answers.items():
            self._by_text.setdefault(collapse(text), answer_id)
        return self

    # ---- data
    def parse_target(self, value: str) -> str:
        text = collapse(value)
        if not text:
            raise ValueError("missing_answer")
        if text == self.options.no_answer_marker or self.answers is None:
            return text
        if text in self.answers:
            return text
        if text in self._by_text:
            return self._by_text[text]
        raise ValueError("unknown_answer: " + _("{value} is neither an id nor an answer text of the answer bank").format(
            value=repr(text[:60])))

    def label_set(self, labels: Iterable[str]) -> list[str]:
        return sorted(set(map(str, labels)) - {self.options.no_answer_marker})

    def strata(self, labels: pd.Series) -> pd.Series:
        """By answer when answers typically have 3+ queries (each reaches train, validation and test), else one group."""
        counts = labels.value_counts()
        if len(counts) and counts.median() >= 3:
            return labels
        return pd.Series("all", index=labels.index, dtype=object)

    def target_summary(self, labels: Sequence[str]) -> dict:
        values = pd.Series(list(labels), dtype=object)
        marker = values == self.options.no_answer_marker
        per_answer = values[~marker].value_counts()
        return {"queries": int(len(values)), "answers": int(len(per_answer)), "out_of_scope": int(marker.sum()),
                "min_queries_per_answer": int(per_answer.min()) if len(per_answer) else 0,
                "max_queries_per_answer": int(per_answer.max()) if len(per_answer) else 0}

    # ---- the index head and the no-answer threshold (training itself is domainfit.tasks.retrieval.train)
    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module:
        return nn.Linear(hidden_size, len(label_set), bias=False)

    def fit_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> None:
        pass

    def tune(self, labels: Sequence[str], scores: np.ndarray, label_set: Sequence[str]) -> None:
        """The no-answer threshold: calibrated on these (validation) rows for `no_answer: auto`, else as configured."""
        policy = self.options.no_answer
        if policy == "off":
            self.threshold, self.calibration = None, {"rule": "off: always answer"}
            return
        if policy != "auto":
            self.threshold, self.calibration = float(policy), {"rule": "fixed by task_options.no_answer"}
            return
        index = {label: i for i, label in enumerate(label_set)}
        truth = np.array([index.get(y, -1) for y in labels], dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float64)
        if not len(truth) or not len(label_set):
            self.threshold, self.calibration = None, {"rule": "auto, but no validation rows: always answer"}
            return
        should = (truth >= 0) & (true_ranks(scores, truth) == 1)
        self.threshold, accuracy = calibrate_threshold(scores.max(1), should)
        self.calibration = {"rule": "auto: the top-score threshold with the most right answer/refuse decisions on validation",
                            "validation_rows": int(len(truth)), "validation_out_of_scope": int((truth < 0).sum()),
                            "validation_accuracy": accuracy}

    def state(self) -> dict:
        return {"threshold": self.threshold, "calibration": self.calibration}

    # ---- output
    def decode(self, logits) -> np.ndarray:
        """Cosine similarity of the query to every answer (the head's rows and the query embedding are unit vectors)."""
        return logits.float().numpy()

    def format(self, scores: np.ndarray, label_set: Sequence[str], top_k: int = 1) -> list[dict]:
        k = max(1, min(top_k, len(label_set)))
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        answers = self.answers or {}
        out = []
        for row, idx in zip(scores, order):
            ranked = [{"id": label_set[j], "answer": answers.get(label_set[j], label_set[j]), "score": float(row[j])} for j in idx]
            refused = self.threshold is not None and ranked[0]["score"] < self.threshold
            out.append({"label": None if refused else ranked[0]["id"], "answer": None if refused else ranked[0]["answer"],
                        "score": ranked[0]["score"], "no_answer": refused, "answers": ranked})
        return out

    def output_columns(self, prediction: dict) -> dict:
        return {"answer_id": prediction["label"] or "", "answer": prediction["answer"] or "",
                "score": round(prediction["score"], 6), "no_answer": prediction["no_answer"],
                "top_k": [{"id": a["id"], "score": round(a["score"], 6)} for a in prediction["answers"]]}

    def prediction_model(self, label_set: Sequence[str]) -> type:
        from typing import Literal as Lit
        from typing import Optional

        from pydantic import create_model

        id_type = Lit[tuple(label_set)] if label_set else str
        example = {"id": label_set[0], "answer": "…", "score": 0.83} if label_set else None
        answer = create_model("RetrievedAnswer", id=(id_type, Field(..., description="id of the answer in the bank")),
                              answer=(str, Field(..., description="its text")),
                              score=(float, Field(..., ge=-1.0, le=1.0, description="cosine similarity to the query")))
        return create_model(
            "RetrievalPrediction",
            label=(Optional[id_type], Field(..., description="id of the answer given; null when no answer is good enough")),
            answer=(Optional[str], Field(..., description="its text; null when no answer is good enough")),
            score=(float, Field(..., ge=-1.0, le=1.0, description="the best answer's cosine similarity")),
            no_answer=(bool, Field(..., description="true when the best score is below the bundle's no-answer threshold")),
            answers=(list[answer], Field(..., description="the top_k answers, best first (given even when no_answer)",
                                         examples=[[example]] if example else None)),
        )

    def metrics(self, y_true, scores, label_set, *, texts=None) -> dict:
        return retrieval_metrics(list(map(str, y_true)), scores, label_set, threshold=self.threshold,
                                 no_answer=self.options.no_answer_marker, texts=texts)

    def reference_stats(self, texts, scores, label_set) -> dict:
        """Answer shares and the top cosine's histogram (cosines below 0 count in the first bin), and text lengths."""
        return reference_stats(texts, np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0), label_set)
