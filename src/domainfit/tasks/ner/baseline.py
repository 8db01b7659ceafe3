"""The `dictionary` baseline of entity recognition: the entity strings seen in training, found again in new text.

What an analyst does first with a list of names: every word sequence labelled as an entity in the training
sentences goes into a gazetteer with its most frequent type, unless it is more often *not* an entity there
("Apple" the company kept, "May" the month dropped); new sentences are tagged by longest match, left to right,
ignoring case. Written by hand: a few lines that no library provides in this form.

Its inputs are the task's (words and BIO tags per sentence) rather than the text-and-label of the sequence
baselines: `fit_predict(train_words, train_tags, test_words, labels)` returns BIO tags per test sentence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from domainfit.registry import baselines
from domainfit.tasks.ner.tags import spans_from_tags, tags_from_spans

__all__ = ["DictionaryBaseline"]

Key = tuple[str, ...]


def _key(words: Sequence[str]) -> Key:
    return tuple(w.casefold() for w in words)


@baselines.register("dictionary")
class DictionaryBaseline:
    description = "gazetteer of the training entities (longest match, case-insensitive; strings more often not an entity dropped)"
    tasks = frozenset({"ner"})
    needs_encoder = False
    needs_training_data = True

    def fit_predict(self, train_texts: Sequence[Sequence[str]], train_labels: Sequence[Sequence[str]],
                    test_texts: Sequence[Sequence[str]], labels: Sequence[str], *, encoder=None, seed: int = 0) -> list[list[str]]:
        """BIO tags for each test sentence (words in `test_texts`) from the training words and tags."""
        if len(train_texts) != len(train_labels):
            raise ValueError(f"got {len(train_texts)} training sentences but {len(train_labels)} tag lists")
        gazetteer = self._gazetteer(train_texts, train_labels)
        longest = max((len(k) for k in gazetteer), default=0)
        return [self._tag(words, gazetteer, longest) for words in test_texts]

    @staticmethod
    def _gazetteer(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> dict[Key, str]:
        as_entity: dict[Key, Counter[str]] = defaultdict(Counter)
        for words, sentence_tags in zip(sentences, tags):
            for a, b, kind in spans_from_tags(sentence_tags):
                as_entity[_key(words[a:b])][kind] += 1
        longest = max((len(k) for k in as_entity), default=0)
        seen: Counter[Key] = Counter()  # every occurrence of a gazetteer string, entity or not
        for words in sentences:
            folded = _key(words)
            for i in range(len(folded)):
                for n in range(1, min(longest, len(folded) - i) + 1):
                    if folded[i:i + n] in as_entity:
                        seen[folded[i:i + n]] += 1
        return {key: kinds.most_common(1)[0][0] for key, kinds in as_entity.items() if 2 * sum(kinds.values()) >= seen[key]}

    @staticmethod
    def _tag(words: Sequence[str], gazetteer: dict[Key, str], longest: int) -> list[str]:
        folded = _key(words)
        spans, i = [], 0
        while i < len(folded):
            n = next((n for n in range(min(longest, len(folded) - i), 0, -1) if folded[i:i + n] in gazetteer), 0)
            if n:
                spans.append((i, i + n, gazetteer[folded[i:i + n]]))
            i += max(n, 1)
        return tags_from_spans(len(words), spans)
