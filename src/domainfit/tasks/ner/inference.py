"""Per-word label probabilities from a token-classification model: words -> windows -> batched forward passes (a
runner: PyTorch, or a compressed variant in ONNX Runtime) -> softmax per piece -> merged back per word. The one path
that validation during training, evaluation, `predict`, serving and the compression parity gate share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from domainfit.data.clean import normalize_text, strip_text
from domainfit.tasks.ner.align import encode_words, merge_windows

__all__ = ["WordScores", "model_words", "score_words"]


@dataclass(frozen=True)
class WordScores:
    """One text's words and their label probabilities: `scores[i]` (one row per word, columns in the bundle's label
    order) for the word at `offsets[i]` of `text`; a row of zeros is a word the tokenizer dropped (outside)."""

    text: str
    offsets: list[tuple[int, int]]
    scores: np.ndarray


def model_words(words: Sequence[str], normalize: bool) -> list[str]:
    """What the model reads of each word: normalised like every text in domainfit (NFKC, invisible characters out),
    one word at a time, so the character offsets into the original text stay as they are."""
    clean = normalize_text if normalize else strip_text
    return [clean(w) for w in words]


def score_words(runner, tokenizer, sentences: Sequence[Sequence[str]], *, n_labels: int, max_length: int, stride: int,
                batch_size: int = 32) -> list[np.ndarray]:
    """(n_words, n_labels) probabilities for each sentence's words (already `model_words`); `runner` gives each
    window's per-piece logits (`Runner.token_logits`, see domainfit.inference.runners)."""
    windows = [encode_words(tokenizer, words, None, {}, max_length, stride) for words in sentences]
    flat = [w for ws in windows for w in ws]
    logits = runner.token_logits([w.input_ids for w in flat], batch_size=batch_size) if flat else []
    probs = [torch.softmax(torch.as_tensor(x).float(), dim=-1).numpy() for x in logits]
    out, at = [], 0
    for words, ws in zip(sentences, windows):
        out.append(merge_windows(ws, probs[at:at + len(ws)]) if ws else np.zeros((len(words), n_labels)))
        at += len(ws)
    return out
