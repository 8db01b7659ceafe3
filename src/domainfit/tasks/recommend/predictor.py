"""The recommend bundle's predictor: the one inference path of evaluation, `domainfit.load` and serving.

    predict(texts)            the items matching each text (a stated interest, a search): cosine to the index
    recommend(user=, history=, k=, exclude_seen=)
                              a known user's history, or a history of item ids and/or free texts → top-k items;
                              no history at all → the popular items (`why: popular`)
    history_scores(histories) (cases, items) scores of histories (lists of item ids or texts)
    add_items(items)          embed new or changed catalogue items and index them at once (kept in `serving/`)

It composes the ordinary `Predictor` (normalisation, tokenizer, the variant's runner: torch or ONNX), whose task is
bound to the item index. History items that are in the index are not re-embedded: their vectors are the index's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

import numpy as np
import torch
from safetensors.torch import load_file

from domainfit.backbones.encoder import tokenize
from domainfit.bundle import Bundle
from domainfit.errors import DomainfitError
from domainfit.i18n import _
from domainfit.predict import Predictor
from domainfit.tasks.recommend.index import INDEX_DIR, SERVING_DIR, ItemIndex
from domainfit.tasks.recommend.metrics import exclude
from domainfit.tasks.recommend.rerank import Reranker
from domainfit.tasks.recommend.towers import make_pooler, pool_numpy

__all__ = ["RecommendPredictor", "UnknownItems"]


class UnknownItems(DomainfitError):
    """A request names items or a user the bundle does not know."""


def load_user_tower(bundle: Bundle, hidden: int):
    opts = bundle.make_task().options
    pooler = make_pooler(opts.user_tower, hidden, opts.history_length, opts.recency_decay)
    state = load_file(str(bundle.file(f"{INDEX_DIR}/user_tower.safetensors", key="index.user_tower")))
    if state:
        pooler.load_state_dict(state)
    return pooler.eval()


class RecommendPredictor:
    def __init__(self, bundle: Bundle, **predictor_kwargs) -> None:
        self.base = Predictor(bundle, **predictor_kwargs)
        self.bundle = bundle
        self.index = ItemIndex.load(bundle.file(f"{INDEX_DIR}/items.json", key="index.items"),
                                    bundle.file(f"{INDEX_DIR}/vectors.safetensors", key="index.vectors"))
        self._serving = bundle.path / SERVING_DIR
        self._load_serving_state()
        self.task = self.base.task.bind(self.index)
        self.options = self.task.options
        self.pooler = load_user_tower(bundle, self.index.vectors.shape[1])
        users = json.loads(bundle.file(f"{INDEX_DIR}/users.json", key="index.users").read_text(encoding="utf-8"))
        self.users: dict[str, list[str]] = users
        rr = bundle.path / INDEX_DIR / "reranker.json"
        self.reranker = Reranker.load(bundle.file(f"{INDEX_DIR}/reranker.json", key="index.reranker")) if rr.is_file() else None
        self._lock = threading.Lock()  # items posted while serving: one writer at a time

    # -- what every predictor has
    @property
    def labels(self) -> list[str]:
        return self.index.ids

    @property
    def variant(self) -> str:
        return self.base.variant

    @property
    def runner(self):
        return self.base.runner

    @property
    def model(self):
        return self.base.model

    @property
    def batch_size(self) -> int:
        return self.base.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self.base.batch_size = value

    def calibrate(self, *args, **kwargs) -> float:
        return self.base.calibrate(*args, **kwargs)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), d) unit embeddings by the bundle's encoder (whichever variant runs)."""
        if not len(texts):
            return np.zeros((0, self.index.vectors.shape[1]), dtype=np.float32)
        ids = tokenize(self.base.tokenizer, self.base.prepare(texts), self.base.max_length)
        out = self.base.runner.logits(ids, batch_size=self.base.batch_size)
        vecs = out.float().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, dtype=np.float32)
        return vecs / (np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-12)

    def predict_scores(self, texts: Sequence[str], *, advance=None) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts; wrap a single text in a list")
        return self.embed(list(texts)) @ self.index.vectors.T

    def predict(self, texts: Sequence[str], *, top_k: int = 1) -> list[dict]:
        """The items matching each text (a stated interest): {"label": best item id, "score", "items": [...]}."""
        return self.task.format(self.predict_scores(texts), self.labels, top_k)

    # -- histories
    def history_scores(self, histories: Sequence[Sequence[str]], *, embed_known: bool = False, rerank: bool = True,
                       exclude_seen: bool = False) -> np.ndarray:
        """(cases, items): each history (item ids and/or free texts, oldest first) pooled by the user tower against
        every item; `exclude_seen`: the history's own items at -inf (before re-ranking, as the re-ranker was fitted);
        re-ranked when the bundle kept its re-ranker. `embed_known`: embed known items' texts again with the running
        variant instead of reading their index vectors (what the compression gate measures)."""
        n = self.options.history_length
        rows, texts, where = [], [], []
        for h in histories:
            rows.append([])
            for entry in list(h)[-n:]:
                if entry in self.index.row and not embed_known:
                    rows[-1].append(("row", self.index.row[entry]))
                else:
                    where.append((len(rows) - 1, len(rows[-1])))
                    texts.append(self.index.texts[self.index.row[entry]] if entry in self.index.row else entry)
                    rows[-1].append(("text", len(texts) - 1))
        fresh = self.embed(texts)
        extra = len(self.index)
        vectors = np.vstack([self.index.vectors, fresh]) if len(fresh) else self.index.vectors
        hist_rows = [[r if kind == "row" else extra + r for kind, r in h] for h in rows]
        scores = pool_numpy(self.pooler, vectors, hist_rows, n) @ self.index.vectors.T
        seen = [self.index.rows(list(h)) for h in histories]
        if exclude_seen:
            scores = exclude(scores, seen)
        if rerank and self.reranker is not None:
            scores = self.reranker.rerank(scores, seen, self.index)
        return scores

    def recommend(self, *, user: str | None = None, history: Sequence[str] | None = None, k: int = 10,
                  exclude_seen: bool = True) -> dict:
        """{"items": [{"id", "text", "score"}], "why": "history" | "popular", "history": the entries used}."""
        entries = list(history or [])
        if user is not None:
            if user not in self.users and not entries:
                raise UnknownItems(_("unknown user {user} and no history given").format(user=repr(user)), where="user_id",
                                   hint=_("send the user's history (item ids or texts), or recommend popular items "
                                          "with an empty history"))
            entries = self.users.get(user, []) + entries
        if entries:
            scores = self.history_scores([entries], exclude_seen=exclude_seen)[0]
            why = "history"
        else:
            scores = self.index.popularity.astype(np.float32).copy()
            why = "popular"
        return {"items": self.task.format(scores[None, :], self.labels, k)[0]["items"], "why": why,
                "history": entries[-self.options.history_length:]}

    # -- items added while serving
    def add_items(self, items: Sequence[dict]) -> dict:
        """Embed items ({"id", "text", "category"?}) and add them to the index (or replace known ones), at once;
        kept as data in the bundle's `serving/` folder (JSON + safetensors), read again when the bundle is loaded."""
        texts = [self.base.prepare([i["text"]])[0] for i in items]
        vectors = self.embed(texts)
        with self._lock:
            added, updated = self.index.upsert([str(i["id"]) for i in items], texts, vectors,
                                               [str(i.get("category") or "") for i in items])
            self._save_serving_state(items, texts, vectors)
        return {"added": added, "updated": updated, "items": len(self.index)}

    def _save_serving_state(self, items, texts, vectors) -> None:
        from safetensors.numpy import save_file

        self._serving.mkdir(parents=True, exist_ok=True)
        path = self._serving / "items.json"
        known = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        vec_path = self._serving / "vectors.safetensors"
        old = self._read_serving_vectors(len(known))
        by_id = {e["id"]: n for n, e in enumerate(known)}
        rows = list(old)
        for item, text, vec in zip(items, texts, vectors):
            entry = {"id": str(item["id"]), "text": text, "category": str(item.get("category") or "")}
            if entry["id"] in by_id:
                known[by_id[entry["id"]]], rows[by_id[entry["id"]]] = entry, vec
            else:
                by_id[entry["id"]] = len(known)
                known.append(entry)
                rows.append(vec)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, ensure_ascii=False), encoding="utf-8")
        save_file({"vectors": np.asarray(rows, dtype=np.float32).reshape(len(known), -1)}, str(vec_path))
        tmp.replace(path)

    def _read_serving_vectors(self, n: int) -> np.ndarray:
        from safetensors.numpy import load_file as load_np

        path = self._serving / "vectors.safetensors"
        if not n or not path.is_file():
            return np.zeros((0, self.index.vectors.shape[1]), dtype=np.float32)
        return load_np(str(path))["vectors"]

    def _load_serving_state(self) -> None:
        path = self._serving / "items.json"
        if not path.is_file():
            return
        known = json.loads(path.read_text(encoding="utf-8"))
        vectors = self._read_serving_vectors(len(known))
        if len(vectors) != len(known):
            raise DomainfitError(_("{folder} holds {items} items but {vectors} vectors").format(
                                     folder=self._serving, items=len(known), vectors=len(vectors)),
                                 where=str(self._serving), hint=_("delete the serving/ folder (the posted items are lost) "
                                                                  "and post them again"))
        self.index.upsert([e["id"] for e in known], [e["text"] for e in known], vectors, [e["category"] for e in known])

