"""Sub-word alignment for token classification: words -> windows of word pieces -> per-word scores -> entities.

Conventions the model side relies on:
- A word's label sits on its FIRST piece; its other pieces and the special tokens get IGNORE_INDEX (-100), the
  value torch's cross-entropy ignores. Labels are indices into the label list (see `tags.bio_labels`, "O" = 0).
- A text longer than `max_length` pieces becomes overlapping windows cut between words, never inside one (unless
  a single word is longer than a window: it is then truncated, its first piece kept). `stride` is how many pieces
  consecutive windows share at most. Words in an overlap are labelled in both windows.
- At prediction time each word's scores come from the window where the word has the most context on both sides.

Written by hand: the tokenizer's own `return_overflowing_tokens` windows may cut a word in two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from domainfit.errors import DataError, DomainfitError
from domainfit.i18n import _
from domainfit.tasks.ner.tags import spans_from_tags

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["IGNORE_INDEX", "Window", "decode_entities", "encode_words", "merge_windows"]

IGNORE_INDEX = -100


@dataclass(frozen=True)
class Window:
    """One model input: pieces with special tokens, their labels, and the sentence word each piece belongs to."""

    input_ids: list[int]
    labels: list[int] | None  # None when encoded without tags (prediction)
    word_ids: list[int | None]  # index into the sentence's words; None for special tokens
    word_start: int  # the window holds words [word_start, word_end) of a sentence of n_words words
    word_end: int
    n_words: int


def encode_words(
    tokenizer: PreTrainedTokenizerBase,
    words: Sequence[str],
    tags: Sequence[str] | None,
    label_index: Mapping[str, int],
    max_length: int,
    stride: int = 0,
) -> list[Window]:
    """Tokenize pre-split words into windows of at most `max_length` pieces (special tokens included).

    With `tags`, each word's first piece is labelled `label_index[tag]` and every other position IGNORE_INDEX.
    Returns [] for no words. Needs a fast tokenizer (for word_ids).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise DomainfitError(
            _("{tokenizer} is a slow tokenizer; entity recognition needs a fast one to map pieces to words").format(
                tokenizer=type(tokenizer).__name__),
            hint=_("load it with AutoTokenizer.from_pretrained(name) (fast is the default) or pick a backbone that ships "
                   "tokenizer.json"),
        )
    if tags is not None and len(tags) != len(words):
        raise ValueError(f"{len(words)} words but {len(tags)} tags")
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    if not 0 <= stride < budget:
        raise ValueError(f"stride must be from 0 to {budget - 1} (max_length {max_length} less the special tokens), not {stride}")
    if not words:
        return []
    # verbose=False: the whole text may exceed the model's length; only the windows are fed to it
    whole = tokenizer(list(words), is_split_into_words=True, add_special_tokens=False, verbose=False)
    pieces = np.bincount([w for w in whole.word_ids() if w is not None], minlength=len(words)).tolist()
    windows = []
    for start, end in _window_bounds(pieces, budget, stride):
        enc = tokenizer(list(words[start:end]), is_split_into_words=True, truncation=True, max_length=max_length)
        word_ids = [None if w is None else w + start for w in enc.word_ids()]
        labels = None if tags is None else _first_piece_labels(word_ids, tags, label_index)
        windows.append(Window(list(enc["input_ids"]), labels, word_ids, start, end, len(words)))
    return windows


def _window_bounds(pieces: list[int], budget: int, stride: int) -> list[tuple[int, int]]:
    """Word ranges [start, end): each as long as `budget` pieces allow (at least one word), the next one starting
    as far back as shares at most `stride` pieces with it, and always after the previous start."""
    bounds = []
    start = 0
    while True:
        end, used = start, 0
        while end < len(pieces) and (end == start or used + pieces[end] <= budget):
            used += pieces[end]
            end += 1
        bounds.append((start, end))
        if end >= len(pieces):
            return bounds
        following, shared = end, 0
        while following - 1 > start and shared + pieces[following - 1] <= stride:
            following -= 1
            shared += pieces[following]
        start = following


def _first_piece_labels(word_ids: list[int | None], tags: Sequence[str], label_index: Mapping[str, int]) -> list[int]:
    labels = []
    previous = None
    for w in word_ids:
        if w is None or w == previous:
            labels.append(IGNORE_INDEX)
        else:
            tag = tags[w]
            if tag not in label_index:
                raise DataError(
                    _("tag {tag} of word {word} is not in the label index ({n} labels: {labels}...)").format(
                        tag=repr(tag), word=w, n=len(label_index), labels=", ".join(list(label_index)[:8])),
                    hint=_("build the index from the training data: {l: i for i, l in enumerate(bio_labels(data.entity_types))}"),
                )
            labels.append(label_index[tag])
        previous = w
    return labels


def _context(window: Window, word: int) -> int:
    """How many words the window shows on the word's poorer side; a side where the sentence really ends counts
    as full context."""
    left = word - window.word_start if window.word_start > 0 else window.n_words
    right = window.word_end - 1 - word if window.word_end < window.n_words else window.n_words
    return min(left, right)


def merge_windows(windows: Sequence[Window], per_window_token_scores: Sequence[Any]) -> np.ndarray:
    """Per-word scores (n_words, n_labels) from per-piece scores, one (n_pieces, n_labels) array per window (rows
    past the window's pieces, e.g. padding, are ignored). Each word takes the scores of its first piece in the
    window where it sits farthest from a cut edge. Words that got no piece (the tokenizer dropped them) stay all
    zeros, which `decode_entities` reads as outside any entity."""
    if len(windows) != len(per_window_token_scores):
        raise ValueError(f"{len(windows)} windows but {len(per_window_token_scores)} score arrays")
    if not windows:
        return np.zeros((0, 0))
    arrays = [np.asarray(s, dtype=float) for s in per_window_token_scores]
    n_labels = arrays[0].shape[-1]
    merged = np.zeros((windows[0].n_words, n_labels))
    best = np.full(windows[0].n_words, -1)
    for k, (window, scores) in enumerate(zip(windows, arrays)):
        if scores.ndim != 2 or scores.shape[0] < len(window.input_ids) or scores.shape[1] != n_labels:
            raise ValueError(f"window {k}: scores of shape {scores.shape}, expected ({len(window.input_ids)}, {n_labels})")
        previous = None
        for position, w in enumerate(window.word_ids):
            if w is not None and w != previous and _context(window, w) > best[w]:
                best[w] = _context(window, w)
                merged[w] = scores[position]
            previous = w
    return merged


def decode_entities(text: str, word_offsets: Sequence[tuple[int, int]], word_scores: Any, label_list: Sequence[str]) -> list[dict]:
    """Entities from per-word label probabilities: BIO (or BIOES) decoding of each word's best label, where an I-
    without a B starts a new entity. Returns [{"start", "end", "label", "text", "score"}] with character offsets
    into `text` (per character for Chinese) and the mean probability of the chosen labels over the entity's words."""
    if not len(word_offsets):
        return []
    scores = np.asarray(word_scores, dtype=float).reshape(len(word_offsets), -1)
    if scores.shape[1] != len(label_list):
        raise ValueError(f"scores have {scores.shape[1]} labels but label_list has {len(label_list)}")
    best = scores.argmax(axis=1)
    covered = scores.sum(axis=1) > 0
    tags = [label_list[k] if seen else "O" for k, seen in zip(best, covered)]
    entities = []
    for first, end, label in spans_from_tags(tags):
        start, stop = word_offsets[first][0], word_offsets[end - 1][1]
        score = float(scores[np.arange(first, end), best[first:end]].mean())
        entities.append({"start": start, "end": stop, "label": label, "text": text[start:stop], "score": score})
    return entities
