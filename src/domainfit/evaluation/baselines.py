"""Baselines the fine-tuned model is compared against, each registered in `domainfit.registry.baselines`.

Each baseline answers "is the fine-tuned model better than what I had?" from a different side:
`tfidf` is the classical model an analyst would build first, `zeroshot` is the backbone before any fine-tuning,
`majority` is the floor (always the most frequent class). All return probabilities with columns in `labels` order,
computed on the same test split as the model. Built on scikit-learn; only the zero-shot scoring is written here.

Each baseline declares the `tasks` it answers; the training pipeline skips the others with a note. The multi-label
and regression baselines (`tfidf_multilabel`, `tfidf_ridge`) receive the task's canonical targets (a JSON list of
labels, a number) and return per-label probabilities, or the predicted values as one column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from domainfit.evaluation.metrics import label_indices
from domainfit.interfaces import make_task
from domainfit.registry import baselines

__all__ = [
    "Baseline",
    "MajorityBaseline",
    "TextEncoder",
    "TfidfBaseline",
    "TfidfMultiLabelBaseline",
    "TfidfRidgeBaseline",
    "ZeroShotBaseline",
    "bm25_scores",
    "readable_label",
    "tfidf_features",
]

# CJK ideographs, kana and hangul: each character is a word token, since these scripts put no spaces between words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# Same tokens as scikit-learn's default r"(?u)\b\w\w+\b" for spaced scripts, plus single CJK characters (which the
# default would glue into one token per clause, or drop when alone).
WORD_TOKEN_PATTERN = rf"(?u)[{_CJK}]|[^\W{_CJK}]{{2,}}"


def bm25_scores(docs: Sequence[str], queries: Sequence[str]) -> np.ndarray:
    """(queries, docs) BM25 scores (bm25s, Lucene variant; English stop words; the word tokens above); a query with no
    word of the documents scores 0 everywhere. What the retrieval and recommend BM25 baselines share."""
    import bm25s

    def tokens(texts: Sequence[str]) -> list[list[str]]:
        return bm25s.tokenize(list(texts), token_pattern=WORD_TOKEN_PATTERN, stopwords="en", return_ids=False,
                              show_progress=False)

    retriever = bm25s.BM25()
    retriever.index(tokens(docs), show_progress=False)
    known = retriever.vocab_dict
    scores = np.zeros((len(queries), len(docs)), dtype=np.float32)
    for i, query in enumerate(tokens(queries)):
        seen = [t for t in query if t in known]
        if seen:
            scores[i] = retriever.get_scores(seen)
    return scores


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
    tasks: frozenset[str]
    needs_encoder: bool
    needs_training_data: bool

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0) -> np.ndarray:
        """(len(test_texts), len(labels)) probabilities, columns in `labels` order."""
        ...


def _fit_texts(train_texts: Sequence[str], train_labels: Sequence) -> None:
    if len(train_texts) != len(train_labels):
        raise ValueError(f"got {len(train_texts)} training texts but {len(train_labels)} training labels")
    if len(train_texts) == 0:
        raise ValueError("a baseline needs at least one training row")


def _check_train(train_texts: Sequence[str], train_labels: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    _fit_texts(train_texts, train_labels)
    return label_indices(train_labels, labels, what="training label")


def _prior(y: np.ndarray, n_labels: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_labels).astype(np.float64)
    return counts / counts.sum()


def tfidf_features(segment: str = "regex"):
    """TF-IDF of word 1-2 grams and character 2-5 grams, the features of every `tfidf*` baseline (unfitted).
    `segment`: how words are found: "regex" (single CJK characters are words) or "jieba" (Chinese words)."""
    # Imported here: listing baselines (`domainfit ls`) should not pay for importing scikit-learn.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    if segment == "jieba":
        from domainfit.evaluation.segment import word_tokens

        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, tokenizer=word_tokens, token_pattern=None,
                                lowercase=False)
    else:
        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=WORD_TOKEN_PATTERN)
    return FeatureUnion([
        ("word", words),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
    ])


@baselines.register("tfidf")
class TfidfBaseline:
    """TF-IDF n-grams + logistic regression: the classical model to beat (91.3% on Banking77 in ~17 s)."""

    description = "TF-IDF word 1-2 + char 2-5 n-grams, logistic regression C=10 (scikit-learn)"
    tasks = frozenset({"label"})  # every task whose target is one label per text (Task.targets)
    needs_encoder = False
    needs_training_data = True

    def __init__(self, C: float = 10.0, max_iter: int = 2000) -> None:
        self.C = C
        self.max_iter = max_iter

    def classifier(self, seed: int = 0):
        """The unfitted logistic regression (also one per label in `tfidf_multilabel`)."""
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=seed)

    def pipeline(self, seed: int = 0):
        """The unfitted scikit-learn pipeline (public so benchmarks and notebooks can reuse it)."""
        from sklearn.pipeline import make_pipeline

        return make_pipeline(tfidf_features(), self.classifier(seed))

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
    tasks = frozenset({"label"})  # every task whose target is one label per text (Task.targets)
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
    tasks = frozenset({"label"})  # every task whose target is one label per text (Task.targets)
    needs_encoder = False
    needs_training_data = True

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0) -> np.ndarray:
        prior = _prior(_check_train(train_texts, train_labels, labels), len(labels))
        return np.tile(prior, (len(test_texts), 1))


@baselines.register("tfidf_multilabel")
class TfidfMultiLabelBaseline:
    """TF-IDF n-grams + one logistic regression per label: the classical multi-label model (decision threshold 0.5)."""

    description = "TF-IDF word 1-2 + char 2-5 n-grams, one-vs-rest logistic regression C=10 (scikit-learn)"
    tasks = frozenset({"labels"})  # every task with several labels per text
    needs_encoder = False
    needs_training_data = True

    def __init__(self, **single_label: float) -> None:
        self.single = TfidfBaseline(**single_label)  # C, max_iter of each label's logistic regression

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0) -> np.ndarray:
        """`train_labels`: canonical multi-label targets (JSON lists); returns (n_test, len(labels)) probabilities."""
        _fit_texts(train_texts, train_labels)
        y = make_task("multilabel").encode_targets(train_labels, labels).numpy().astype(np.int64)
        out = np.zeros((len(test_texts), len(labels)))
        if len(test_texts) == 0:
            return out
        features = tfidf_features().fit(list(train_texts))
        x, x_test = features.transform(list(train_texts)), features.transform(list(test_texts))
        for j in range(len(labels)):
            if y[:, j].min() == y[:, j].max():  # always or never present: the answer is certain
                out[:, j] = float(y[0, j])
                continue
            clf = self.single.classifier(seed).fit(x, y[:, j])
            out[:, j] = clf.predict_proba(x_test)[:, 1]
        return out


@baselines.register("tfidf_ridge")
class TfidfRidgeBaseline:
    """TF-IDF n-grams + ridge regression: the classical model a numeric target is compared against."""

    description = "TF-IDF word 1-2 + char 2-5 n-grams, ridge regression alpha=1 (scikit-learn)"
    tasks = frozenset({"value"})  # every task with a number per text
    needs_encoder = False
    needs_training_data = True

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def pipeline(self, seed: int = 0):
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline

        return make_pipeline(tfidf_features(), Ridge(alpha=self.alpha, random_state=seed))

    def fit_predict(self, train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    labels: Sequence[str], *, encoder: TextEncoder | None = None, seed: int = 0) -> np.ndarray:
        """`train_labels`: the numbers (as canonical strings); returns the (n_test, 1) predicted values."""
        _fit_texts(train_texts, train_labels)
        y = np.asarray([float(v) for v in train_labels])
        if len(test_texts) == 0:
            return np.zeros((0, 1))
        model = self.pipeline(seed).fit(list(train_texts), y)
        return np.asarray(model.predict(list(test_texts)), dtype=np.float64).reshape(-1, 1)

