"""The retrieval baselines, registered in `domainfit.registry.baselines`: what a FAQ search gives without fine-tuning.

- `bm25`: lexical search (the `bm25s` library): each answer's document is its text plus the training queries that
  lead to it (document expansion with known questions, what a FAQ search engine indexes), so it sees the same
  training data as the model.
- `backbone`: the untouched backbone: cosine between the query's and the answer's embeddings (no training data).

Both return (queries, answers) scores with columns in `labels` (answer id) order; they take the bank as `answers`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from domainfit.evaluation.baselines import WORD_TOKEN_PATTERN, TextEncoder
from domainfit.registry import baselines

__all__ = ["BM25Baseline", "BackboneBaseline"]


def _bank(labels: Sequence[str], answers: Mapping[str, str] | None) -> list[str]:
    if answers is None:
        raise ValueError("a retrieval baseline needs the answer bank: pass answers={id: text}")
    return [answers[label] for label in labels]


@baselines.register("bm25")
class BM25Baseline:
    description = "BM25 (bm25s, Lucene variant) over each answer's text plus its training queries"
    tasks = frozenset({"retrieval"})
    needs_encoder = False
    needs_training_data = False

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0,
                    answers: Mapping[str, str] | None = None) -> np.ndarray:
        import bm25s

        docs = {label: [text] for label, text in zip(labels, _bank(labels, answers))}
        for text, label in zip(train_texts, train_labels):
            if label in docs:  # out-of-scope training queries belong to no answer
                docs[label].append(text)

        def tokens(texts: Sequence[str]) -> list[list[str]]:
            return bm25s.tokenize(list(texts), token_pattern=WORD_TOKEN_PATTERN, stopwords="en", return_ids=False,
                                  show_progress=False)

        retriever = bm25s.BM25()
        retriever.index(tokens([" ".join(docs[label]) for label in labels]), show_progress=False)
        known = retriever.vocab_dict
        scores = np.zeros((len(test_texts), len(labels)), dtype=np.float32)
        for i, query in enumerate(tokens(test_texts)):
            seen = [t for t in query if t in known]
            if seen:
                scores[i] = retriever.get_scores(seen)
        return scores


@baselines.register("backbone")
class BackboneBaseline:
    description = "the untouched backbone: cosine between query and answer embeddings (no training)"
    tasks = frozenset({"retrieval"})
    needs_encoder = True
    needs_training_data = False

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0,
                    answers: Mapping[str, str] | None = None) -> np.ndarray:
        if encoder is None:
            raise ValueError("the backbone baseline needs an encoder")
        bank = encoder.embed(_bank(labels, answers))
        return encoder.embed(list(test_texts)) @ bank.T
