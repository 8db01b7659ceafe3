"""Per-word label probabilities from a token-classification model: words -> windows -> batched forward passes ->
softmax per piece -> merged back per word. The one path that validation during training, evaluation, `predict`
and serving share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from domainfit.backbones.encoder import collate, sorted_batches
from domainfit.data.clean import normalize_text, strip_text
from domainfit.ner.align import encode_words, merge_windows

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


@torch.inference_mode()
def _piece_probabilities(model: nn.Module, ids: Sequence[Sequence[int]], *, pad_id: int, batch_size: int,
                         device: torch.device | str) -> list[np.ndarray]:
    """(pieces, labels) softmax probabilities of every window, in batches of similar length."""
    was_training = model.training
    model.eval()
    out: list[np.ndarray] = [np.zeros((0, 0))] * len(ids)
    for batch in sorted_batches([len(x) for x in ids], batch_size):
        feats = {k: v.to(device) for k, v in collate([ids[i] for i in batch], pad_id).items()}
        probs = torch.softmax(model(**feats).float(), dim=-1).cpu().numpy()
        for j, i in enumerate(batch):
            out[i] = probs[j, : len(ids[i])]
    model.train(was_training)
    return out


def score_words(model: nn.Module, tokenizer, sentences: Sequence[Sequence[str]], *, n_labels: int, max_length: int,
                stride: int, batch_size: int = 32, device: torch.device | str = "cpu") -> list[np.ndarray]:
    """(n_words, n_labels) probabilities for each sentence's words (already `model_words`)."""
    windows = [encode_words(tokenizer, words, None, {}, max_length, stride) for words in sentences]
    flat = [w for ws in windows for w in ws]
    probs = _piece_probabilities(model, [w.input_ids for w in flat], pad_id=tokenizer.pad_token_id or 0,
                                 batch_size=batch_size, device=device)
    out, at = [], 0
    for words, ws in zip(sentences, windows):
        out.append(merge_windows(ws, probs[at:at + len(ws)]) if ws else np.zeros((len(words), n_labels)))
        at += len(ws)
    return out
