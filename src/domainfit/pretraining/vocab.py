"""Vocabulary extension for a fast tokenizer: which characters (and, on request, which jieba words) the tokenizer
cannot represent or splits into pieces, how to add them (through the `tokenizers` library's tokenizer.json state, one
extender per model type: WordPiece and character-level BPE vocabulary entries, byte-level BPE merges, Unigram pieces;
words become added tokens; any other model type is refused by name) and how to start their embeddings; coverage
before and after.

The selection, the state edits and the initialisation are written here (counting, ranking, one mean per new row);
tokenising, the models and the embedding resize are the `tokenizers` and `transformers` libraries'. New ids go after every old one, so
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
from domainfit.i18n import _

__all__ = ["INIT_STRATEGIES", "VocabPlan", "check_extendable", "coverage", "extend_tokenizer", "init_new_embeddings",
           "new_rows", "plan_extension"]

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


class _Extender:
    """How one `tokenizers` model type takes new characters: which of them it cannot represent as one token, and how
    to add them to the model's state (tokenizer.json's "model" dict) with ids after every existing one."""

    def forms(self, model: dict, state: dict, char: str) -> list[str]:
        """The vocabulary strings that must exist for `char` to be one token wherever it occurs."""
        return [char]

    def missing(self, model: dict, state: dict, backend: Any, char: str) -> bool:
        return any(f not in model["vocab"] for f in self.forms(model, state, char))

    def add(self, model: dict, state: dict, backend: Any, chars: Sequence[str]) -> None:
        vocab = model["vocab"]
        next_id = _next_id(state, vocab.values())
        for c in chars:
            for f in self.forms(model, state, c):
                if f not in vocab:
                    vocab[f] = next_id
                    next_id += 1

    def base_form(self, model: dict, form: str) -> str:
        """`form` without its word-position marks: what the old model is asked to tokenise for the "pieces" init."""
        return form


class _WordPiece(_Extender):
    # BERT's normaliser puts every Chinese character in a word of its own: the bare character is the one form needed
    pass


class _BPE(_Extender):
    """Character-level BPE (the characters are base symbols: a vocabulary entry is enough, in every word position
    the model's continuing-subword prefix and end-of-word suffix make), and byte-level BPE (GPT-2, RoBERTa: every
    character is already bytes; it is made one token by a chain of merges over its byte pieces, appended after every
    existing merge so they never change how known text is split)."""

    def forms(self, model: dict, state: dict, char: str) -> list[str]:
        if _byte_level(state):
            return [_to_bytes(char)]
        prefix, suffix = model.get("continuing_subword_prefix") or "", model.get("end_of_word_suffix") or ""
        return list(dict.fromkeys([char, prefix + char, char + suffix, prefix + char + suffix]))

    def missing(self, model: dict, state: dict, backend: Any, char: str) -> bool:
        if _byte_level(state):
            return len(backend.model.tokenize(_to_bytes(char))) > 1
        return super().missing(model, state, backend, char)

    def add(self, model: dict, state: dict, backend: Any, chars: Sequence[str]) -> None:
        if not _byte_level(state):
            return super().add(model, state, backend, chars)
        vocab, merges = model["vocab"], model.setdefault("merges", [])
        as_strings = bool(merges) and isinstance(merges[0], str)  # older tokenizer.json files: "a b"
        seen = {tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in merges}
        next_id = _next_id(state, vocab.values())
        for c in chars:
            pieces = [t.value for t in backend.model.tokenize(_to_bytes(c))]
            current = pieces[0]
            for piece in pieces[1:]:
                joined = current + piece
                if (current, piece) not in seen:
                    seen.add((current, piece))
                    merges.append(f"{current} {piece}" if as_strings else [current, piece])
                if joined not in vocab:
                    vocab[joined] = next_id
                    next_id += 1
                current = joined

    def base_form(self, model: dict, form: str) -> str:
        prefix, suffix = model.get("continuing_subword_prefix") or "", model.get("end_of_word_suffix") or ""
        if prefix and form.startswith(prefix) and len(form) > len(prefix):
            form = form[len(prefix):]
        if suffix and form.endswith(suffix) and len(form) > len(suffix):
            form = form[: -len(suffix)]
        return form


class _Unigram(_Extender):
    """SentencePiece's unigram model: a new character is a piece of its own, scored as the rarest existing piece (a
    character it could not represent has no other segmentation, so it is always chosen; known text is unchanged)."""

    def missing(self, model: dict, state: dict, backend: Any, char: str) -> bool:
        return char not in {piece for piece, _score in model["vocab"]}

    def add(self, model: dict, state: dict, backend: Any, chars: Sequence[str]) -> None:
        pieces = model["vocab"]
        beyond = [a["content"] for a in state.get("added_tokens", []) if a["id"] >= len(pieces)]
        if beyond:
            raise DomainfitError(_("this Unigram tokenizer has added tokens after its vocabulary ({tokens}), so new pieces "
                                   "cannot get the next ids").format(tokens=", ".join(beyond[:5])), where="--extend-vocab",
                                 hint=_("pass --extend-vocab off to pretrain this backbone without new tokens"))
        known = {piece for piece, _score in pieces}
        lowest = min((score for _piece, score in pieces if score < 0), default=-20.0)
        for c in chars:
            if c not in known:
                pieces.append([c, lowest])
                known.add(c)


_EXTENDERS: dict[str, _Extender] = {"WordPiece": _WordPiece(), "BPE": _BPE(), "Unigram": _Unigram()}


def _next_id(state: dict, ids: Any) -> int:
    return max([*ids, *(a["id"] for a in state.get("added_tokens", []))], default=-1) + 1


def _byte_level(state: dict) -> bool:
    def has(node: Any) -> bool:
        if not isinstance(node, dict):
            return False
        return node.get("type") == "ByteLevel" or any(has(n) for n in node.get("pretokenizers", []))

    return has(state.get("pre_tokenizer"))


def _to_bytes(text: str) -> str:
    """`text` in byte-level BPE's alphabet (each UTF-8 byte one printable character), as its pre-tokenizer writes it."""
    from tokenizers import pre_tokenizers

    return "".join(p for p, _ in pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False).pre_tokenize_str(text))


def check_extendable(tokenizer: Any, where: str = "--extend-vocab") -> dict:
    """The tokenizer's `tokenizers` state (a dict), or a clear refusal for one whose vocabulary cannot be extended."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not getattr(tokenizer, "is_fast", False):
        raise DomainfitError(_("the tokenizer {name} is not a fast (tokenizers-library) tokenizer, so its vocabulary "
                               "cannot be extended").format(name=type(tokenizer).__name__), where=where,
                             hint=_("pass --extend-vocab off to pretrain without new tokens, or use a backbone with a "
                                    "tokenizer.json (every BERT/MiniLM model has one)"))
    state = json.loads(backend.to_str())
    kind = state.get("model", {}).get("type")
    if kind not in _EXTENDERS:
        raise DomainfitError(_("vocabulary extension works for WordPiece (BERT, MiniLM), BPE (RoBERTa, GPT-2 style, "
                               "byte-level or not) and Unigram (SentencePiece) tokenizers; this backbone's is {kind}").format(kind=kind),
                             where=where, hint=_("pass --extend-vocab off to pretrain this backbone without new tokens, or "
                                                 "start from a backbone with one of those tokenizers"))
    if tokenizer.mask_token_id is None:
        raise DomainfitError(_("the tokenizer ({kind}) has no mask token, which masked-language-model pretraining needs").format(kind=kind),
                             where=where, hint=_("pretrain an encoder (BERT, RoBERTa, XLM-R, ...), or pass --extend-vocab off"))
    return state


def coverage(tokenizer: Any, texts: Sequence[str], limit: int = 5000) -> dict:
    """Share of [UNK] among the tokens and tokens per character, over (the first `limit` of) `texts`."""
    sample = list(texts[:limit])
    if not sample:
        return {"unk_share": 0.0, "tokens_per_char": 0.0, "tokens": 0, "characters": 0}
    ids = tokenizer(sample, add_special_tokens=False)["input_ids"]
    tokens = sum(len(x) for x in ids)
    unk = sum(x.count(tokenizer.unk_token_id) for x in ids) if tokenizer.unk_token_id is not None else 0
    chars = sum(len(t.replace(" ", "")) for t in sample)
    return {"unk_share": round(unk / tokens, 6) if tokens else 0.0,
            "tokens_per_char": round(tokens / chars, 4) if chars else 0.0, "tokens": tokens, "characters": chars}


def _unknown_chars(tokenizer: Any, counts: Counter) -> list[str]:
    """The characters the tokenizer cannot represent as one token ([UNK], or several byte pieces), in any position."""
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    model, extender = state["model"], _EXTENDERS[state["model"]["type"]]
    chars = [c for c in counts if not c.isspace()]
    if isinstance(extender, _WordPiece):  # the whole pipeline (normaliser included) maps the character to [UNK]
        ids = tokenizer(chars, add_special_tokens=False)["input_ids"] if chars else []
        return [c for c, x in zip(chars, ids) if x == [tokenizer.unk_token_id]]
    normalizer = tokenizer.backend_tokenizer.normalizer
    out = []
    for c in chars:
        n = normalizer.normalize_str(c) if normalizer is not None else c
        if len(n) == 1 and not n.isspace() and extender.missing(model, state, tokenizer.backend_tokenizer, n):
            out.append(n)
    return list(dict.fromkeys(out))


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
    """A new fast tokenizer: the plan's characters added to the model's vocabulary (WordPiece and character BPE
    entries, byte-level BPE merges, Unigram pieces; after every existing id), its words as added tokens. The old
    tokenizer is left as it was."""
    state = check_extendable(tokenizer)
    from tokenizers import Tokenizer

    _EXTENDERS[state["model"]["type"]].add(state["model"], state, tokenizer.backend_tokenizer, plan.chars)
    backend = Tokenizer.from_str(json.dumps(state))
    specials = {k: getattr(tokenizer, k) for k in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
                                                   "bos_token", "eos_token")
                if getattr(tokenizer, k, None) is not None}
    new = type(tokenizer)(tokenizer_object=backend, model_max_length=tokenizer.model_max_length, **specials)
    if plan.words:
        new.add_tokens(list(plan.words))
    return new


def _marker_only(token: str) -> bool:
    return not token.strip(" \u2581\u0120")  # SentencePiece's ▁ and byte-level BPE's Ġ alone: a word start, no text


def new_rows(old: Any, new: Any, plan: VocabPlan) -> tuple[list[int], list[list[int]]]:
    """The ids `new` has that `old` had not (in id order) and, for each, the ids the token was made of before: for a
    vocabulary entry what the old model splits it into ([UNK] for a character it did not know, the byte pieces of a
    byte-level character), for an added word the ids of its characters (new rows themselves, filled earlier)."""
    state = json.loads(old.backend_tokenizer.to_str())
    model, extender = state["model"], _EXTENDERS[state["model"]["type"]]
    old_ids = set(old.get_vocab().values())
    words = set(plan.words)
    rows, pieces = [], []
    for token, i in sorted(new.get_vocab().items(), key=lambda kv: kv[1]):
        if i in old_ids:
            continue
        if token in words:
            enc = [new(c, add_special_tokens=False)["input_ids"] for c in token]
            ids = [x for e in enc for x in e if not _marker_only(new.convert_ids_to_tokens(x))]
        else:
            ids = [t.id for t in old.backend_tokenizer.model.tokenize(extender.base_form(model, token))]
        rows.append(i)
        pieces.append(ids)
    return rows, pieces


def init_new_embeddings(embeddings: torch.nn.Embedding, rows: Sequence[int], pieces: Sequence[Sequence[int]], *,
                        old_size: int, strategy: str = "pieces", seed: int = 0, noise: float = 0.1) -> None:
    """Fill `rows` of `embeddings` (already resized) in place, in order. `pieces[i]` are the ids the tokenizer gave the
    token of rows[i] before it existed (for a character unknown before: [UNK]). "pieces": their mean; "mean": the mean
    of the old matrix (its first `old_size` rows). Either plus Gaussian noise of `noise` x the old matrix's
    per-dimension std, so new tokens that replaced the same pieces start apart (Hewitt 2021: the mean beats a random
    row, whose large norm swamps the model's predictions)."""
    if strategy not in INIT_STRATEGIES:
        raise DomainfitError(_("unknown embedding initialisation {name}").format(name=repr(strategy)), where="--init",
                             hint=_("use one of {names}").format(names=", ".join(INIT_STRATEGIES)))
    weight = embeddings.weight
    with torch.no_grad():
        old = weight[:old_size].float()
        mean, std = old.mean(0), old.std(0)
        gen = torch.Generator().manual_seed(seed)
        for row, ids in zip(rows, pieces):
            # a word's pieces may be new characters themselves: rows filled earlier in this loop
            base = weight[list(ids)].float().mean(0) if strategy == "pieces" and ids else mean
            weight[row] = (base + noise * std * torch.randn(std.shape, generator=gen)).to(weight.dtype)
