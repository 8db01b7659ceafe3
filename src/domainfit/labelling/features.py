"""What the cheap models of `data issues` and `label next` read: cached sentence embeddings of a frozen backbone
(the `head` method's features), TF-IDF, or a trained bundle's own probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from domainfit.errors import BundleError
from domainfit.i18n import _

__all__ = ["FEATURES", "bundle_predictor", "embed", "features_for"]

FEATURES = ("embeddings", "tfidf")


def embed(texts: Sequence[str], model: str | None = None, *, max_length: int = 128) -> np.ndarray:
    """L2-normalised mean-pooled embeddings of `model` (default: the bundled MiniLM), cached on disk by texts."""
    from domainfit.backbones import FrozenEncoder, load_backbone, resolve_backbone

    resolved = resolve_backbone(model)
    texts = [str(t) for t in texts]
    frozen = FrozenEncoder(None, None, name=resolved.name, weights_sha256=resolved.sha256, pooling="mean",
                           normalize=True, max_length=max_length)
    cached = frozen.cache_dir / f"{frozen._key(texts)}.npy"
    if cached.is_file():  # a cache hit needs no model: loading it cost more than the whole lookup
        return np.load(cached)
    frozen.encoder, frozen.tokenizer = load_backbone(resolved.path)
    return frozen.embed(texts)


def tfidf(texts: Sequence[str]):
    """Word and character n-gram TF-IDF (characters: Chinese has no spaces between words)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [str(t) for t in texts]
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit_transform(texts) if any(
        t.split() for t in texts) else None
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True).fit_transform(texts)
    return hstack([m for m in (words, chars) if m is not None]).tocsr()


def features_for(kind: str, texts: Sequence[str], model: str | None = None):
    if kind == "embeddings":
        return embed(texts, model)
    if kind == "tfidf":
        return tfidf(texts)
    raise ValueError(f"features must be one of {', '.join(FEATURES)}, not {kind!r}")


def bundle_predictor(bundle: str | Path, task: str | None, *, option: str = "--bundle"):
    """The Predictor of a bundle, after checking it was trained for `task` (None: any)."""
    from domainfit.bundle_meta import read_meta
    from domainfit.predict import Predictor

    meta = read_meta(bundle)
    if task and meta.task != task:
        raise BundleError(_("the bundle was trained for the task {trained}, but this data is for {task}").format(
                              trained=repr(meta.task), task=repr(task)),
                          where=f"{option} {bundle}",
                          hint=_("pass a bundle trained on {task} data, or --task {trained} if the data is of that kind").format(
                              task=task, trained=meta.task))
    return Predictor.from_bundle(bundle)
