"""Retrieval in `domainfit compare`: the pool of (query, answer id) rows and the answer bank, written once as
`answers.csv` for every run, and the budget's draw, k queries per answer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from domainfit.config.schema import TrainConfig
from domainfit.data.sampling import sample_per_class
from domainfit.interfaces import Budget, make_task
from domainfit.tasks.retrieval.baselines import tuned_baselines
from domainfit.tasks.retrieval.data import prepare_pairs
from domainfit.tasks.table import write_rows

__all__ = ["BUDGET", "PairsPool"]

BUDGET = Budget("queries per answer", lambda rows, k, seed, task: sample_per_class(rows, k, seed))


class PairsPool:
    suffix = ".csv"

    def __init__(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> None:
        self.task = task
        data = prepare_pairs(cfg.data, task=task, tokenizer=tokenizer, max_length=cfg.model.max_length, model_name=model_name)
        self.train, self.val, self.test = data.train, data.val, data.test
        self.bank = dict(zip(data.bank["id"], data.bank["answer"]))
        bank_csv = folder / "answers.csv"
        data.bank[["id", "answer"]].to_csv(bank_csv, index=False)
        self.inputs = [bank_csv]
        self.run_values = {"data.text_column": "text", "data.label_column": "label", "data.answers": str(bank_csv),
                           "task_options.answers_id_column": "id", "task_options.answers_text_column": "answer"}
        self.summary = {"train": len(self.train), "val": len(self.val), "test": len(self.test), "labels": len(self.bank)}

    write = staticmethod(write_rows)

    def score_baseline(self, name: str, train: pd.DataFrame, val: pd.DataFrame, seed: int) -> dict[str, float]:
        scored = tuned_baselines([name], train=train, val=val, test=self.test, bank=self.bank, encoder=None, task=self.task,
                                 seed=seed, reporter=None)[name]
        tuned = make_task(self.task.name, self.task.options.model_dump(), scored["task_state"]).bind(self.bank)
        return tuned.metrics(self.test["label"].astype(str).tolist(), scored["scores"], list(self.bank))
