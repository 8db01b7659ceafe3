"""Baselines the fine-tuned model is compared against, each registered in `domainfit.registry.baselines`.

Each baseline answers "is the fine-tuned model better than what I had?" from a different side:
`tfidf` is the classical model an analyst would build first, `zeroshot` is the backbone before any fine-tuning,
`majority` is the floor (always the most frequent class). All return probabilities with columns in `labels` order,
computed on the same test split as the model. Built on scikit-learn; only the zero-shot scoring is written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from domainfit.evaluation.metrics import label_indices
from domainfit.registry import baselines

__all__ = [
    "Baseline",
    "MajorityBaseline",
    "TextEncoder",
    "TfidfBaseline",
    "ZeroShotBaseline",
    "readable_label",
]

# CJK ideographs, kana and hangul: each character is a word token, since these scripts put no spaces between words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# Same tokens as scikit-learn's default r"(?u)\b\w\w+\b" for spaced scripts, plus single CJK characters (which the
# default would glue into one token per clause, or drop when alone).
WORD_TOKEN_PATTERN = rf"(?u)[{_CJK}]|[^\W{_CJK}]{{2,}}"


@runtime_checkable
class TextEncoder(Protocol):
    """A sentence encoder: the lead's backbone implements it; tests use a tiny fake."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), d) float32 embeddings, rows L2-normalised."""
        ...


@runtime_checkable
class Baseline(Protocol):
    """A reference model fitted and scored on the same split as the fine-tuned one."""

    description: str
    needs_encoder: bool
    needs_training_data: bool

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0) -> np.ndarray:
        """(len(test_texts), len(labels)) probabilities, columns in `labels` order."""
        ...


def _check_train(train_texts: Sequence[str], train_labels: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    if len(train_texts) != len(train_labels):
        raise ValueError(f"got {len(train_texts)} training texts but {len(train_labels)} training labels")
    if len(train_texts) == 0:
        raise ValueError("a baseline needs at least one training row")
    return label_indices(train_labels, labels, what="training label")


def _prior(y: np.ndarray, n_labels: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_labels).astype(np.float64)
    return counts / counts.sum()


@baselines.register("tfidf")
class TfidfBaseline:
    """TF-IDF n-grams + logistic regression: the classical model to beat (91.3% on Banking77 in ~17 s)."""

    description = "TF-IDF word 1-2 + char 2-5 n-grams, logistic regression C=10 (scikit-learn)"
    needs_encoder = False
    needs_training_data = True

    def __init__(self, C: float = 10.0, max_iter: int = 2000) -> None:
        self.C = C
        self.max_iter = max_iter

    def pipeline(self, seed: int = 0):
        """The unfitted scikit-learn pipeline (public so benchmarks and notebooks can reuse it)."""
        # Imported here: listing baselines (`domainfit ls`) should not pay for importing scikit-learn.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        features = FeatureUnion([
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=WORD_TOKEN_PATTERN)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ])
        return make_pipeline(features, LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=seed))

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0) -> np.ndarray:
        y = _check_train(train_texts, train_labels, labels)
        out = np.zeros((len(test_texts), len(labels)))
        seen = np.unique(y)
        if len(seen) == 1:  # logistic regression refuses a single class; the answer is certain anyway
            out[:, seen[0]] = 1.0
            return out
        if len(test_texts) == 0:
            return out
        model = self.pipeline(seed).fit(list(train_texts), y)
        # Training on column indices makes classes_ a sorted subset of range(len(labels)): labels missing from
        # train keep probability 0, and the columns land in `labels` order whatever sklearn's own order is.
        out[:, model.classes_] = model.predict_proba(list(test_texts))
        return out


def readable_label(label: str) -> str:
    """A label name as words: "card_lost_or_stolen" -> "card lost or stolen", "CardLost" -> "Card Lost"."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(label))
    text = re.sub(r"[_\-./:]+", " ", text)
    return " ".join(text.split()) or str(label)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large scores."""
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@baselines.register("zeroshot")
class ZeroShotBaseline:
    """The untouched backbone: cosine similarity between each text and each label name, softmax-ed.

    It ignores the training data: it is the "before fine-tuning" reference, and only meaningful when label names
    are words ("card_arrival"), not codes ("0", "C12"); pass `label_texts` to describe coded labels.
    """

    description = "untouched backbone: cosine similarity of text and label name, softmax (no training)"
    needs_encoder = True
    needs_training_data = False

    def __init__(self, scale: float = 20.0, label_texts: Mapping[str, str] | None = None) -> None:
        self.scale = scale
        self.label_texts = dict(label_texts or {})

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0) -> np.ndarray:
        if encoder is None:
            raise ValueError("the 'zeroshot' baseline needs a text encoder: call fit_predict(..., encoder=...)")
        if len(test_texts) == 0:
            return np.zeros((0, len(labels)))
        names = [self.label_texts.get(str(label)) or readable_label(label) for label in labels]
        label_vecs = _unit_rows(encoder.embed(names))
        text_vecs = _unit_rows(encoder.embed(list(test_texts)))
        if label_vecs.shape[1] != text_vecs.shape[1]:
            raise ValueError(
                f"encoder {getattr(encoder, 'name', '?')!r} gave {label_vecs.shape[1]}-d label embeddings "
                f"but {text_vecs.shape[1]}-d text embeddings"
            )
        return softmax(self.scale * (text_vecs @ label_vecs.T))


@baselines.register("majority")
class MajorityBaseline:
    """Always the most frequent training class, with the training class shares as probabilities: the floor."""

    description = "majority class: always predicts the most frequent training label (the floor to clear)"
    needs_encoder = False
    needs_training_data = True

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0) -> np.ndarray:
        prior = _prior(_check_train(train_texts, train_labels, labels), len(labels))
        return np.tile(prior, (len(test_texts), 1))
