"""Vocabulary extension for a WordPiece tokenizer: which characters (and, on request, which jieba words) the tokenizer
cannot represent or splits into pieces, how to add them (through the `tokenizers` library: characters become WordPiece
vocabulary entries, words added tokens) and how to start their embeddings; coverage before and after.

The selection and initialisation are written here (counting, ranking, one mean per new row); tokenising, the WordPiece
model and the embedding resize are the `tokenizers` and `transformers` libraries'. New ids go after every old one, so
every old token keeps its id and its embedding.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from domainfit.errors import DomainfitError

__all__ = ["INIT_STRATEGIES", "VocabPlan", "check_extendable", "coverage", "extend_tokenizer", "init_new_embeddings",
           "plan_extension"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_WORD = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}$")
INIT_STRATEGIES = ("pieces", "mean")  # mean of the pieces a new token replaces; mean of the whole matrix (+ noise)
AUTO_MAX_CHARS = 8000
AUTO_MAX_WORDS = 2000


@dataclass
class VocabPlan:
    """What to add: characters (WordPiece entries) and words (added tokens), most frequent first, with their counts."""

    chars: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def tokens(self) -> list[str]:
        return self.chars + self.words

    def summary(self, limit: int = 20) -> dict:
        return {"characters": len(self.chars), "words": len(self.words), "total": len(self.tokens),
                "examples": [[t, self.counts.get(t, 0)] for t in self.tokens[:limit]]}


def check_extendable(tokenizer: Any, where: str = "--extend-vocab") -> dict:
    """The tokenizer's `tokenizers` state (a dict), or a clear refusal for one whose vocabulary cannot be extended."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not getattr(tokenizer, "is_fast", False):
        raise DomainfitError(f"the tokenizer {type(tokenizer).__name__} is not a fast (tokenizers-library) tokenizer, so "
                             "its vocabulary cannot be extended", where=where,
                             hint="pass --extend-vocab off to pretrain without new tokens, or use a backbone with a "
                                  "tokenizer.json (every BERT/MiniLM model has one)")
    state = json.loads(backend.to_str())
    kind = state.get("model", {}).get("type")
    if kind != "WordPiece":
        raise DomainfitError(f"vocabulary extension works for WordPiece tokenizers (BERT, MiniLM); this backbone's is "
                             f"{kind}", where=where,
                             hint="pass --extend-vocab off to pretrain this backbone without new tokens, or start from a "
                                  "WordPiece (BERT-family) backbone")
    if tokenizer.unk_token_id is None or tokenizer.mask_token_id is None:
        raise DomainfitError("the tokenizer has no [UNK] or [MASK] token", where=where,
                             hint="pretrain a BERT-family backbone, or pass --extend-vocab off")
    return state


def coverage(tokenizer: Any, texts: Sequence[str], limit: int = 5000) -> dict:
    """Share of [UNK] among the tokens and tokens per character, over (the first `limit` of) `texts`."""
    sample = list(texts[:limit])
    if not sample:
        return {"unk_share": 0.0, "tokens_per_char": 0.0, "tokens": 0, "characters": 0}
    ids = tokenizer(sample, add_special_tokens=False)["input_ids"]
    tokens = sum(len(x) for x in ids)
    unk = sum(x.count(tokenizer.unk_token_id) for x in ids)
    chars = sum(len(t.replace(" ", "")) for t in sample)
    return {"unk_share": round(unk / tokens, 6) if tokens else 0.0,
            "tokens_per_char": round(tokens / chars, 4) if chars else 0.0, "tokens": tokens, "characters": chars}


def _unknown_chars(tokenizer: Any, counts: Counter) -> list[str]:
    chars = [c for c in counts if not c.isspace()]
    ids = tokenizer(chars, add_special_tokens=False)["input_ids"] if chars else []
    return [c for c, x in zip(chars, ids) if x == [tokenizer.unk_token_id]]


def _ranked(counts: Counter, items: Sequence[str], min_count: int) -> list[str]:
    # most frequent first; ties by the item itself, so the plan (and a resumed run) is the same every time
    return sorted((t for t in items if counts[t] >= min_count), key=lambda t: (-counts[t], t))


def plan_extension(tokenizer: Any, texts: Sequence[str], *, budget: str | int = "auto", words: bool = False,
                   min_count: int = 2, word_min_count: int = 5) -> VocabPlan:
    """The tokens to add for `texts`: characters the tokenizer maps to [UNK], then (with `words`) frequent jieba words
    of two or more Chinese characters. `budget`: "auto" (every character seen `min_count` times, up to 8000, and words
    seen `word_min_count` times, up to 2000), an int (that many tokens at most, characters first), or "off"."""
    if budget == "off":
        return VocabPlan()
    char_counts = Counter("".join(texts))
    chars = _ranked(char_counts, _unknown_chars(tokenizer, char_counts), min_count)
    plan = VocabPlan(chars=chars[:AUTO_MAX_CHARS], counts={c: char_counts[c] for c in chars[:AUTO_MAX_CHARS]})
    if words:
        import jieba

        jieba.setLogLevel(60)  # its "Building prefix dict" lines would interleave with the progress bars
        word_counts: Counter = Counter()
        for t in texts:
            if _HAN.search(t):
                word_counts.update(w for w in jieba.lcut(t) if _HAN_WORD.match(w))
        known = set(tokenizer.get_vocab())
        ranked = [w for w in _ranked(word_counts, list(word_counts), max(min_count, word_min_count)) if w not in known]
        plan.words = ranked[:AUTO_MAX_WORDS]
        plan.counts.update({w: word_counts[w] for w in plan.words})
    if isinstance(budget, int):
        plan.chars = plan.chars[:budget]
        plan.words = plan.words[: max(0, budget - len(plan.chars))]
    return plan


def extend_tokenizer(tokenizer: Any, plan: VocabPlan) -> Any:
    """A new fast tokenizer: the plan's characters appended to the WordPiece vocabulary (after every existing id), its
    words as added tokens. The old tokenizer is left as it was."""
    state = check_extendable(tokenizer)
    from tokenizers import Tokenizer

    vocab = state["model"]["vocab"]
    next_id = max([*vocab.values(), *(a["id"] for a in state.get("added_tokens", []))]) + 1
    for c in plan.chars:
        if c not in vocab:
            vocab[c] = next_id
            next_id += 1
    backend = Tokenizer.from_str(json.dumps(state))
    specials = {k: getattr(tokenizer, k) for k in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
                if getattr(tokenizer, k, None) is not None}
    new = type(tokenizer)(tokenizer_object=backend, model_max_length=tokenizer.model_max_length, **specials)
    if plan.words:
        new.add_tokens(list(plan.words))
    return new


def init_new_embeddings(embeddings: torch.nn.Embedding, rows: Sequence[int], pieces: Sequence[Sequence[int]], *,
                        old_size: int, strategy: str = "pieces", seed: int = 0, noise: float = 0.1) -> None:
    """Fill `rows` of `embeddings` (already resized) in place, in order. `pieces[i]` are the ids the tokenizer gave the
    token of rows[i] before it existed (for a character unknown before: [UNK]). "pieces": their mean; "mean": the mean
    of the old matrix (its first `old_size` rows). Either plus Gaussian noise of `noise` x the old matrix's
    per-dimension std, so new tokens that replaced the same pieces start apart (Hewitt 2021: the mean beats a random
    row, whose large norm swamps the model's predictions)."""
    if strategy not in INIT_STRATEGIES:
        raise DomainfitError(f"unknown embedding initialisation {strategy!r}", where="--init",
                             hint=f"use one of {', '.join(INIT_STRATEGIES)}")
    weight = embeddings.weight
    with torch.no_grad():
        old = weight[:old_size].float()
        mean, std = old.mean(0), old.std(0)
        gen = torch.Generator().manual_seed(seed)
        for row, ids in zip(rows, pieces):
            # a word's pieces may be new characters themselves: rows filled earlier in this loop
            base = weight[list(ids)].float().mean(0) if strategy == "pieces" and ids else mean
            weight[row] = (base + noise * std * torch.randn(std.shape, generator=gen)).to(weight.dtype)
