"""The retrieval baselines, registered in `domainfit.registry.baselines`: what a FAQ search gives without fine-tuning.

- `bm25`: lexical search (the `bm25s` library): each answer's document is its text plus the training queries that
  lead to it (document expansion with known questions, what a FAQ search engine indexes), so it sees the same
  training data as the model.
- `backbone`: the untouched backbone: cosine between the query's and the answer's embeddings (no training data).

Both return (queries, answers) scores with columns in `labels` (answer id) order; they take the bank as `answers`.
`tuned_baselines` scores them with the no-answer threshold tuned on validation, as training and compare report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace

import numpy as np
import pandas as pd

from domainfit.evaluation.assess import run_baselines
from domainfit.evaluation.baselines import TextEncoder, bm25_scores
from domainfit.interfaces import make_task
from domainfit.registry import baselines

__all__ = ["BM25Baseline", "BackboneBaseline", "tuned_baselines"]


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
        docs = {label: [text] for label, text in zip(labels, _bank(labels, answers))}
        for text, label in zip(train_texts, train_labels):
            if label in docs:  # out-of-scope training queries belong to no answer
                docs[label].append(text)
        return bm25_scores([" ".join(docs[label]) for label in labels], test_texts)


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


def tuned_baselines(names: Sequence[str], *, train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame, bank: dict[str, str],
               encoder, task, seed: int, reporter) -> dict[str, dict]:
    """Each baseline scored on the test rows, its no-answer threshold tuned on the validation rows by the task's own
    rule, in its score's units (a BM25 score is no cosine: a fixed cosine threshold is replaced by `auto`)."""
    held = pd.concat([val, test], ignore_index=True)
    data = SimpleNamespace(train=train, test=held, labels=list(bank))
    out = run_baselines(names, data, encoder, task=task, seed=seed, reporter=reporter, inputs={"answers": bank})
    options = task.options.model_dump()
    options["no_answer"] = "off" if options["no_answer"] == "off" else "auto"
    for b in out.values():
        if "scores" in b:
            tuned = make_task(task.name, options)
            tuned.tune(val["label"].tolist(), b["scores"][: len(val)], list(bank))
            b["scores"], b["task_state"] = b["scores"][len(val):], tuned.state()
    return out
