"""Tiny synthetic training sets of the built-in tasks (`Task.example`): three banking intents with distinct keywords, so
a tiny model learns them in a few steps. The contract tests train every task x method pair on them; a new task
writes its own `example`."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

__all__ = ["INTENTS", "intent_rows", "write_table"]

INTENTS = {
    "card": ["card", "lost", "stolen", "blocked", "pin"],
    "loan": ["loan", "mortgage", "rate", "borrow", "repay"],
    "transfer": ["transfer", "payment", "sent", "arrived", "account"],
}
FILLER = ["my", "the", "please", "help", "i", "need", "with", "is", "not", "why", "can", "you", "today"]
TEXTS = ["loan rate please", "card stolen", "transfer sent and card blocked"]


def intent_rows(n_per_intent: int, seed: int) -> list[tuple[str, list[str]]]:
    """(text, [intents it is about]) rows: every other row is about two intents."""
    rng = random.Random(seed)
    names = list(INTENTS)
    rows = []
    for i in range(n_per_intent * len(names)):
        chosen = [names[i % len(names)]] + ([names[(i + 1) % len(names)]] if i % 2 else [])
        words = [w for name in chosen for w in rng.sample(INTENTS[name], 2)] + rng.sample(FILLER, rng.randint(2, 4))
        rng.shuffle(words)
        rows.append((" ".join(words), sorted(chosen)))
    rng.shuffle(rows)
    return rows


def write_table(path: Path, rows, header=("text", "label")) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def single_label_example(folder: Path) -> dict:
    rows = [(text, intents[0]) for text, intents in intent_rows(12, seed=7)]
    return {"data": {"train": str(write_table(folder / "example.csv", rows))}, "texts": TEXTS}


def multilabel_example(folder: Path) -> dict:
    rows = [(text, ";".join(intents)) for text, intents in intent_rows(12, seed=7)]
    return {"data": {"train": str(write_table(folder / "example.csv", rows))}, "texts": TEXTS}


def regression_example(folder: Path) -> dict:
    names = list(INTENTS)
    rows = [(text, f"{sum(names.index(i) + 1 for i in intents):.1f}") for text, intents in intent_rows(12, seed=7)]
    return {"data": {"train": str(write_table(folder / "example.csv", rows))}, "texts": TEXTS}


def retrieval_example(folder: Path) -> dict:
    rows = [(text, f"help with {intents[0]}") for text, intents in intent_rows(12, seed=7)]
    return {"data": {"train": str(write_table(folder / "example.csv", rows, header=("query", "answer")))}, "texts": TEXTS}


def ner_example(folder: Path) -> dict:
    """JSONL sentences: the keywords of each intent tagged as an entity of its type (CARD, LOAN, TRANSFER)."""
    path = folder / "example.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for text, intents in intent_rows(14, seed=7):
            tokens = text.split()
            kinds = {w: name.upper() for name in intents for w in INTENTS[name]}
            tags = [f"B-{kinds[t]}" if t in kinds else "O" for t in tokens]
            f.write(json.dumps({"tokens": tokens, "tags": tags}) + "\n")
    return {"data": {"train": str(path)}, "texts": TEXTS}
