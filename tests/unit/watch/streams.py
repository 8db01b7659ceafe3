"""Streams and configs for the monitor's tests: a watch.yaml over the tiny bundle (label "card" plays the negative
sentiment) and streams of its words with known surges."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml

H = 3600.0
T0 = 1_790_000_000.0 - (1_790_000_000.0 % 86400)  # a midnight, UTC

WORDS = {"card": ["card", "lost", "stolen", "blocked", "pin"], "loan": ["loan", "mortgage", "rate", "borrow", "repay"],
         "transfer": ["transfer", "payment", "sent", "arrived", "account"]}
FILLER = ["my", "the", "please", "help", "i", "need", "with", "is", "not", "why", "can", "you", "today"]


def write_yaml(folder: Path, bundle: Path, **extra) -> Path:
    tree = {"sentiment": {"bundle": str(bundle), "negative_labels": ["card"]},
            "watchlist": [{"name": "Alpha", "aliases": ["alpha", "阿尔法"]}, {"name": "Beta", "aliases": ["beta"]}],
            "windows": [{"size": "1h", "step": "15m", "baseline": "1d"}],
            "detect": {"negative_share": {"alpha": 1e-4, "min_count": 10, "min_lift": 0.15}, "volume": {"alpha": 1e-8}},
            "store": str(folder / "watch.db"), "batch_size": 32, **extra}
    path = folder / "watch.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    return path


def make_stream(hours: int, per_hour: int, *, seed: int = 0, surge: tuple[float, float] | None = None,
                surge_share: float = 0.8, base_share: float = 0.1, reposts: int = 0) -> list[dict]:
    """Texts about Alpha (half) or nobody, `base_share` of them of the "card" label; during `surge` (start, end hours)
    Alpha's texts are "card" with `surge_share`. `reposts` copies of one story ("via ...") follow each tenth text."""
    rng = random.Random(seed)
    rows = []
    for h in range(hours):
        for i in range(per_hour):
            t = T0 + h * H + (i + rng.random()) * H / per_hour
            alpha = rng.random() < 0.5
            share = surge_share if alpha and surge and surge[0] <= h < surge[1] else base_share
            label = "card" if rng.random() < share else rng.choice(["loan", "transfer"])
            words = rng.sample(WORDS[label], 2) + rng.sample(FILLER, 4)
            rng.shuffle(words)
            text = ("alpha " if alpha else "") + " ".join(words) + f" n{len(rows)}"
            rows.append({"time": t, "text": text, "source": "wire", "id": f"r{len(rows)}"})
            if reposts and len(rows) % 10 == 1:
                base = rows[-1]
                for c in range(reposts):
                    rows.append({"time": t + 30 * (c + 1), "text": base["text"], "source": f"site{c}",
                                 "id": f"{base['id']}-copy{c}"})
    return rows


def write_stream(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["time", "text", "source", "id"])
        w.writeheader()
        w.writerows(rows)
    return path
