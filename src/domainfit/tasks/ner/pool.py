"""Entity recognition in `domainfit compare`: the sentence pool (read, checked and split once) and the budget's draw,
k sentences per entity type."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from domainfit.config.schema import TrainConfig
from domainfit.data.sampling import sample_covering
from domainfit.interfaces import Budget
from domainfit.tasks.ner.data import prepare_ner, write_sentences
from domainfit.tasks.ner.evaluate import run_ner_baselines
from domainfit.tasks.ner.tags import spans_from_tags

__all__ = ["BUDGET", "SentencePool", "sample_sentences_per_type"]


def sample_sentences_per_type(sentences: Sequence, k: int | None, seed: int) -> list:
    """Sentences (with BIO `tags`) until every entity type is in at least k of them (or in all of its sentences)."""
    if k is None:
        return list(sentences)
    types = [{kind for _, _, kind in spans_from_tags(s.tags)} for s in sentences]
    return [sentences[i] for i in sample_covering(types, k, seed)]


BUDGET = Budget("sentences per entity type", lambda rows, k, seed, task: sample_sentences_per_type(rows, k, seed))


class SentencePool:
    """Sentences read by `read_ner` (CoNLL or JSONL), written per run as JSONL tokens/tags."""

    suffix = ".jsonl"
    inputs: list[Path] = []
    run_values: dict[str, Any] = {"data.text_column": None, "data.label_column": None}  # the JSONL written has standard names

    def __init__(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> None:
        self.task = task
        data = prepare_ner(cfg.data, repair=task.options.repair_tags, tokenizer=tokenizer, max_length=cfg.model.max_length)
        self.train, self.val, self.test = data.train, data.val, data.test
        self.labels = task.label_set(data.types)
        self.summary = {"train": len(self.train), "val": len(self.val), "test": len(self.test), "labels": len(data.types)}

    def write(self, rows: list, path: Path) -> None:
        write_sentences(rows, path)

    def score_baseline(self, name: str, train: list, val: list, seed: int) -> dict[str, float]:
        tags = run_ner_baselines([name], train, self.test, self.labels)[name]["tags"]
        return self.task.metrics([s.tags for s in self.test], tags, self.labels)
