"""The data a compare draws its budgets from, per task: read and checked once, written per run in a format the task reads.

    classification, multilabel, regression   rows (text, canonical label) ─ the shared `prepare_data`; a run's
                                             files are text,label CSVs
    retrieval                                (query, answer id) rows + the answer bank ─ `prepare_pairs`; a run's
                                             files are query,answer-id CSVs beside one bank CSV (`data.answers`)
    ner                                      sentences ─ `prepare_ner` (through `read_ner`); a run's files are JSONL
                                             {"tokens", "tags"}, which `read_ner` reads back

A pool also scores the baselines (`tfidf`, `bm25`, `dictionary`, ...) on its test rows with the task's own metrics,
the way the task's training workflow scores them.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import pandas as pd

from domainfit.config.schema import TrainConfig

__all__ = ["POOLS", "Pool", "open_pool"]


class Pool(Protocol):
    task: Any
    train: Any  # rows (DataFrame) or sentences (list): what `Budget.sample` draws from
    val: Any
    test: Any
    suffix: str  # of a written split
    inputs: list[Path]  # files every run reads besides its splits (part of the resume digest)
    run_values: dict[str, Any]  # config keys every run sets besides data.train/val/test
    summary: dict[str, Any]  # train/val/test sizes and the number of labels, for the report

    def write(self, rows: Any, path: Path) -> None: ...

    def score_baseline(self, name: str, train: Any, val: Any, seed: int) -> dict[str, float]:
        """The baseline fit on `train` (thresholds, where it has any, tuned on `val`), scored on the test rows."""
        ...


def _summary(train, val, test, labels: int) -> dict[str, Any]:
    return {"train": len(train), "val": len(val), "test": len(test), "labels": labels}


def _write_rows(rows: pd.DataFrame, path: Path) -> None:
    rows[["text", "label"]].to_csv(path, index=False)


class TablePool:
    """One text, one target: classification, multilabel, regression."""

    suffix = ".csv"
    inputs: list[Path] = []
    run_values = {"data.text_column": "text", "data.label_column": "label"}

    def __init__(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> None:
        from domainfit.data import prepare_data

        self.task = task
        prepared = prepare_data(cfg.data, task=task, tokenizer=tokenizer, max_length=cfg.model.max_length, model_name=model_name)
        self.train, self.val, self.test, self.labels = prepared.train, prepared.val, prepared.test, prepared.labels
        self.summary = _summary(self.train, self.val, self.test, len(self.labels))

    write = staticmethod(_write_rows)

    def score_baseline(self, name: str, train: pd.DataFrame, val: pd.DataFrame, seed: int) -> dict[str, float]:
        from domainfit.evaluation.assess import run_baselines
        from domainfit.tasks import make_task

        data = SimpleNamespace(train=train, test=self.test, labels=self.labels)
        scored = run_baselines([name], data, None, task=self.task, seed=seed)[name]
        plain = make_task(self.task.name, self.task.options.model_dump(), scored.get("task_state"))  # thresholds 0.5
        return plain.metrics(self.test["label"].astype(str).tolist(), scored["scores"], self.labels)


class PairsPool:
    """Retrieval: (query, answer id) rows and the answer bank, written once as `answers.csv` for every run."""

    suffix = ".csv"

    def __init__(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> None:
        from domainfit.tasks.retrieval.data import prepare_pairs

        self.task = task
        data = prepare_pairs(cfg.data, task=task, tokenizer=tokenizer, max_length=cfg.model.max_length, model_name=model_name)
        self.train, self.val, self.test = data.train, data.val, data.test
        self.bank = dict(zip(data.bank["id"], data.bank["answer"]))
        bank_csv = folder / "answers.csv"
        data.bank[["id", "answer"]].to_csv(bank_csv, index=False)
        self.inputs = [bank_csv]
        self.run_values = {"data.text_column": "text", "data.label_column": "label", "data.answers": str(bank_csv),
                           "task_options.answers_id_column": "id", "task_options.answers_text_column": "answer"}
        self.summary = _summary(self.train, self.val, self.test, len(self.bank))

    write = staticmethod(_write_rows)

    def score_baseline(self, name: str, train: pd.DataFrame, val: pd.DataFrame, seed: int) -> dict[str, float]:
        from domainfit.tasks.retrieval.workflow import _baselines
        from domainfit.tasks import make_task

        scored = _baselines([name], train=train, val=val, test=self.test, bank=self.bank, encoder=None, task=self.task,
                            seed=seed, reporter=None)[name]
        tuned = make_task(self.task.name, self.task.options.model_dump(), scored["task_state"]).bind(self.bank)
        return tuned.metrics(self.test["label"].astype(str).tolist(), scored["scores"], list(self.bank))


class SentencePool:
    """Entity recognition: sentences read by `read_ner` (CoNLL or JSONL), written as JSONL tokens/tags."""

    suffix = ".jsonl"
    inputs: list[Path] = []
    run_values: dict[str, Any] = {"data.text_column": None, "data.label_column": None}  # the JSONL written has standard names

    def __init__(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> None:
        from domainfit.tasks.ner.data import prepare_ner

        self.task = task
        data = prepare_ner(cfg.data, repair=task.options.repair_tags, tokenizer=tokenizer, max_length=cfg.model.max_length)
        self.train, self.val, self.test = data.train, data.val, data.test
        self.labels = task.label_set(data.types)
        self.summary = _summary(self.train, self.val, self.test, len(data.types))

    def write(self, rows: list, path: Path) -> None:
        from domainfit.tasks.ner.data import write_sentences

        write_sentences(rows, path)

    def score_baseline(self, name: str, train: list, val: list, seed: int) -> dict[str, float]:
        from domainfit.tasks.ner.evaluate import run_ner_baselines

        tags = run_ner_baselines([name], train, self.test, self.labels)[name]["tags"]
        return self.task.metrics([s.tags for s in self.test], tags, self.labels)


POOLS: dict[str, type] = {"classification": TablePool, "multilabel": TablePool, "regression": TablePool,
                          "retrieval": PairsPool, "ner": SentencePool}


def open_pool(cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> Pool:
    """The pool of `cfg.task`'s data (read, checked and split once)."""
    return POOLS[cfg.task](cfg, task, tokenizer=tokenizer, model_name=model_name, folder=folder)
