"""The item index of a recommend bundle: every catalogue item's unit embedding (built at save time), its text,
category, time and numeric columns, its popularity in training, and the users' known histories — JSON and
safetensors only, so `recommend(history) → top-k` is one matrix product with numpy (a catalogue of a few hundred
thousand items fits; `faiss` is not needed at this size and is not a dependency).

    index/items.json            ids, texts, categories, created, numeric columns, popularity (training counts)
    index/vectors.safetensors   "vectors": (items, d) float32, unit rows, in ids order
    index/user_tower.safetensors  the user tower's pooler (attention weights; empty for recency)
    index/users.json            user -> the item ids of their history, oldest first

Items added while serving (`POST /v1/items`) are kept in `serving/` beside it (same formats), read over the index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

__all__ = ["INDEX_DIR", "SERVING_DIR", "ItemIndex"]

INDEX_DIR = "index"
SERVING_DIR = "serving"  # what the server adds (items posted), not sealed: the bundle's manifest covers index/


@dataclass
class ItemIndex:
    ids: list[str]
    texts: list[str]
    vectors: np.ndarray  # (n, d) unit rows
    popularity: np.ndarray  # (n,) training interactions per item
    category: list[str] = field(default_factory=list)
    created: list[float] = field(default_factory=list)  # NaN where unknown
    numeric: dict[str, list[float]] = field(default_factory=dict)
    row: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.row = {item: i for i, item in enumerate(self.ids)}
        n = len(self.ids)
        self.category = list(self.category) or [""] * n
        self.created = list(self.created) or [float("nan")] * n

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, items: list[str]) -> list[int]:
        return [self.row[i] for i in items if i in self.row]

    def upsert(self, ids: list[str], texts: list[str], vectors: np.ndarray, categories: list[str] | None = None,
               numeric: dict[str, list[float]] | None = None) -> tuple[int, int]:
        """Add new items or replace the text and vector of known ones; returns (added, updated)."""
        added = updated = 0
        categories = categories or [""] * len(ids)
        for j, (item, text) in enumerate(zip(ids, texts)):
            values = (numeric or {})
            if item in self.row:
                i = self.row[item]
                self.texts[i], self.vectors[i], self.category[i] = text, vectors[j], categories[j] or self.category[i]
                updated += 1
                continue
            self.row[item] = len(self.ids)
            self.ids.append(item)
            self.texts.append(text)
            self.category.append(categories[j])
            self.created.append(float("nan"))
            self.vectors = np.vstack([self.vectors, vectors[j:j + 1]])
            self.popularity = np.append(self.popularity, 0.0)
            for col in self.numeric:
                self.numeric[col].append(float(values.get(col, [np.nan] * len(ids))[j]))
            added += 1
        return added, updated

    # -- persistence (JSON + safetensors)
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"ids": self.ids, "texts": self.texts, "category": self.category,
                "created": [None if np.isnan(c) else c for c in self.created], "popularity": self.popularity.tolist(),
                "numeric": {k: [None if np.isnan(v) else v for v in vs] for k, vs in self.numeric.items()}}
        (folder / "items.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        save_file({"vectors": np.ascontiguousarray(self.vectors, dtype=np.float32)}, str(folder / "vectors.safetensors"))

    @classmethod
    def load(cls, items_json: Path, vectors_file: Path) -> ItemIndex:
        meta = json.loads(items_json.read_text(encoding="utf-8"))
        vectors = load_file(str(vectors_file))["vectors"]
        nan = float("nan")
        return cls(ids=list(meta["ids"]), texts=list(meta["texts"]), vectors=np.array(vectors, dtype=np.float32),
                   popularity=np.asarray(meta["popularity"], dtype=np.float64), category=list(meta["category"]),
                   created=[nan if c is None else float(c) for c in meta["created"]],
                   numeric={k: [nan if v is None else float(v) for v in vs] for k, vs in meta["numeric"].items()})
