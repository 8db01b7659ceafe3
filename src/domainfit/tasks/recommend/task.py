"""Recommendation from text (个性化推荐): an item catalogue (id, text, ...) and interactions (user, item, time); a
two-tower model — the fine-tuned text encoder embeds every item's text, the user tower pools the user's last items —
ranks the whole catalogue for a user's next interaction; items never interacted with are recommendable from their
text (cold start); a user without history gets the popular items or the items matching a stated interest (a text).

The bundle's model is an ordinary `TextModel` (encoder + identity head: it outputs a text's unit embedding); the item
index (`index/`, see `domainfit.tasks.recommend.index`) holds every item's embedding, so a text query is scored like
retrieval (`predict(texts)`: the items matching each text) and a history by `RecommendPredictor.recommend`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from domainfit.evaluation import reference_stats
from domainfit.i18n import _
from domainfit.registry import tasks
from domainfit.tasks.recommend.examples import recommend_example
from domainfit.tasks.recommend.index import ItemIndex
from domainfit.tasks.recommend.metrics import ranking_metrics
from domainfit.tasks.recommend.workflow import WORKFLOW

__all__ = ["RecommendOptions", "RecommendTask"]


class RecommendOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    split: Literal["leave_last_out", "time_cut"] = Field(
        "leave_last_out", description="leave_last_out: each user's last interaction is test, the one before validation; "
                                      "time_cut: one global cut in time (data.test_size / data.val_size); never random")
    history_length: int = Field(10, ge=1, le=200, description="the user tower pools the last N items of the history")
    user_tower: Literal["recency", "attention"] = Field(
        "recency", description="how the history is pooled: fixed recency weights, or a small learned attention layer")
    recency_decay: float = Field(0.8, gt=0, le=1, description="weight of an item one step older than the next (recency)")
    scale: float = Field(20.0, gt=0, description="similarity scale of the in-batch ranking loss")
    extra_negatives: int = Field(0, ge=0, le=512, description="catalogue items sampled (by popularity) as extra negatives per batch")
    max_cases_per_user: int | None = Field(None, ge=1, description="train on at most the last K next-items of each user")
    cold_items: float = Field(0.0, ge=0, lt=0.5, description="share of the items held out of training entirely (seeded by "
                                                              "data.seed): the cold-start evaluation")
    rerank: Literal["auto", "off"] = Field("auto", description="auto: fit the LightGBM re-ranker on validation and keep it "
                                                               "only if it raises Recall@10 there; off: never")
    eval_during_training: bool = Field(True, description="score validation during training (early stopping, best step kept); each "
                                             "evaluation embeds the whole catalogue")
    exclude_seen: bool = Field(True, description="leave items already in the history out of the evaluated recommendations")
    events: list[str] | None = Field(None, description="the interaction events that count (e.g. [click, buy]); all when unset")
    item_id_column: str | None = Field(None, description="id column of data.items (inferred: id, item_id, sku, ...)")
    item_text_column: str | None = Field(None, description="text column of data.items (inferred: text, title, ...)")
    user_column: str | None = Field(None, description="user column of the interactions (inferred: user, user_id, ...)")
    item_column: str | None = Field(None, description="item column of the interactions (inferred: item, item_id, ...)")
    time_column: str | None = Field(None, description="time column of the interactions (inferred: time, timestamp, date)")


@tasks.register("recommend")
class RecommendTask:
    name = "recommend"
    description = ("recommendation from text: item catalogue + user interactions; two-tower model (item text encoder, "
                   "pooled history), in-batch negatives, item index, optional LightGBM re-ranker, cold-start items")
    primary_metric = "recall_at_10"
    summary_metrics = ("recall_at_10", "ndcg_at_10", "recall_at_20", "mrr")
    default_baselines = ("popular", "itemknn", "als", "backbone_text", "bm25_history")
    tunes_on_validation = True
    Options = RecommendOptions
    kind = "pair"
    targets = "item"
    data_suffixes: tuple[str, ...] = ()
    workflow = WORKFLOW
    example = staticmethod(recommend_example)

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None:
        self.options = RecommendOptions.model_validate(options or {})
        self.state_ = dict(state or {})
        self.index: ItemIndex | None = None

    def bind(self, index: ItemIndex) -> RecommendTask:
        """Give the task its item index: `decode` then scores every item, `format` names them."""
        self.index = index
        return self

    def parse_target(self, value: str) -> str:
        item = str(value).strip()
        if not item:
            raise ValueError("missing_item")
        if self.index is not None and item not in self.index.row:
            raise ValueError("unknown_item: " + _("{value} is not in the catalogue").format(value=repr(item[:60])))
        return item

    def label_set(self, labels: Iterable[str]) -> list[str]:
        return sorted(set(map(str, labels)))

    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module:
        return nn.Identity()  # the model outputs the text's embedding; the index lives beside it

    def state(self) -> dict:
        return self.state_

    def decode(self, logits) -> np.ndarray:
        """The cosine of each text's embedding to every item of the bound index."""
        vecs = logits.float().numpy() if hasattr(logits, "numpy") else np.asarray(logits, dtype=np.float32)
        vecs = vecs / (np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-12)
        if self.index is None:
            raise ValueError("the recommend task scores items only once bound to its index (RecommendPredictor does it)")
        return vecs @ self.index.vectors.T

    def format(self, scores: np.ndarray, label_set: Sequence[str], top_k: int = 1) -> list[dict]:
        ids = self.index.ids if self.index is not None else list(label_set)
        texts = self.index.texts if self.index is not None else list(label_set)
        k = max(1, min(top_k, len(ids)))
        out = []
        for row in np.asarray(scores):
            finite = np.where(np.isfinite(row), row, -np.inf)
            top = np.argsort(-finite, kind="stable")[:k]
            items = [{"id": ids[j], "text": texts[j], "score": float(row[j]) if np.isfinite(row[j]) else -1.0}
                     for j in top if np.isfinite(row[j])]
            out.append({"label": items[0]["id"] if items else None, "score": items[0]["score"] if items else 0.0,
                        "items": items})
        return out

    def output_columns(self, prediction: dict) -> dict:
        return {"item": prediction["label"] or "", "score": round(prediction["score"], 6),
                "items": [i["id"] for i in prediction["items"]]}

    def prediction_model(self, label_set: Sequence[str]) -> type:
        from pydantic import create_model

        item = create_model("RecommendedItem", id=(str, Field(..., description="item id in the catalogue")),
                            text=(str, Field(..., description="its text")),
                            score=(float, Field(..., description="cosine of the user (or text) to the item; re-ranked items "
                                                                 "score above the others")))
        return create_model("RecommendPrediction",
                            label=(str | None, Field(..., description="the best item's id")),
                            score=(float, Field(..., description="its score")),
                            items=(list[item], Field(..., description="the top items, best first")))

    def metrics(self, y_true, scores, label_set, *, texts=None) -> dict:
        row = {item: i for i, item in enumerate(label_set)}
        unknown = [y for y in y_true if y not in row]
        if unknown:
            raise ValueError(f"{len(unknown)} true item(s) not among the scored items, e.g. {unknown[0]!r}")
        pop = self.index.popularity if self.index is not None and len(self.index) == len(label_set) else None
        cold = (pop[[row[y] for y in y_true]] == 0) if pop is not None else None
        return ranking_metrics(np.asarray(scores), [row[y] for y in y_true], cold=cold, popularity=pop)

    def reference_stats(self, texts, scores, label_set) -> dict:
        return reference_stats(texts, np.clip(np.nan_to_num(np.asarray(scores, dtype=np.float64), neginf=0.0), 0.0, 1.0),
                               label_set)
