"""Noisy labels on Banking77: flip 10% of the training labels (seeded; half uniformly at random, half to the most
confusable class), then measure how well `data issues` finds them (precision / recall of the flagged rows, precision
and recall at k = number flipped) and the test accuracy of `head` trained on clean, noisy, --fix drop and
--fix relabel data.

    PYTHONPATH=src python bench/label_noise.py [--methods head] [--noise 0.10] [--seed 0]

"Most confusable class" of a class: the other class whose mean embedding (bundled MiniLM) is nearest to its own.
Validation and test rows are not touched (validation carved from train before the flips, as the `head` C grid uses it).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, prepare_splits


def flip(frame: pd.DataFrame, emb: np.ndarray, share: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = sorted(frame["label"].unique())
    y = np.array([labels.index(v) for v in frame["label"]])
    centres = np.stack([emb[y == k].mean(0) for k in range(len(labels))])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    sim = centres @ centres.T
    np.fill_diagonal(sim, -np.inf)
    confusable = sim.argmax(1)
    n = round(share * len(frame))
    rows = rng.choice(len(frame), n, replace=False)
    noisy = y.copy()
    for k, i in enumerate(rows):
        if k < n // 2:  # uniformly at random among the other classes
            noisy[i] = (y[i] + rng.integers(1, len(labels))) % len(labels)
        else:  # to the class its own is most often mistaken for
            noisy[i] = confusable[y[i]]
    out = frame.copy()
    out["label"] = [labels[k] for k in noisy]
    return out, rows  # the first half flipped at random, the second to the confusable class


def train_head(train: str, val: str, test: str, out: Path, method: str) -> dict:
    import domainfit

    t = time.perf_counter()
    model = domainfit.train({"method": method, "data": {"train": train, "val": val, "test": test},
                             "model": {"max_length": 64}, "training": {"batch_size": 32, "lr": 1e-4}, "baselines": [],
                             "output": str(out)})
    m = model.metrics["model"]
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "wall_s": round(time.perf_counter() - t, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="head")
    ap.add_argument("--noise", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from domainfit.labelling.features import embed
    from domainfit.labelling.issues import issues_in_file

    work = Path(tempfile.mkdtemp(prefix="label-noise-"))
    splits = prepare_splits("banking77", work)
    clean = pd.read_csv(splits["train"], dtype=str, keep_default_na=False)
    t = time.perf_counter()
    emb = embed(clean["text"].tolist())
    embed_s = time.perf_counter() - t
    noisy, flipped = flip(clean, emb, args.noise, args.seed)
    noisy_path = work / "noisy_train.csv"
    noisy.to_csv(noisy_path, index=False)
    truth = np.zeros(len(noisy), dtype=bool)
    truth[flipped] = True

    timings = {"embed_train_first_time_s": round(embed_s, 1)}
    t = time.perf_counter()
    found = issues_in_file(noisy_path, work / "issues_drop", fix="drop", seed=args.seed)
    timings["data_issues_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    issues_in_file(noisy_path, work / "issues_relabel", fix="relabel", seed=args.seed)
    timings["data_issues_again_s"] = round(time.perf_counter() - t, 1)
    rep = found.report
    flagged = np.zeros(len(noisy), dtype=bool)
    flagged[rep.issues["position"].astype(int).to_numpy()] = True
    k = len(flipped)
    top_k = np.argsort(rep.quality, kind="stable")[:k]
    relabel = pd.read_csv(work / "issues_relabel" / "changes.csv", dtype=str, keep_default_na=False)
    fixed_right = sum(clean.loc[int(r) - 2, "label"] == new for r, new in zip(relabel["row"], relabel["new_label"]))
    detection = {
        "rows": len(noisy), "flipped": k, "flagged": int(flagged.sum()),
        "precision": round(float(truth[flagged].mean()), 4) if flagged.any() else None,
        "recall": round(float(flagged[truth].mean()), 4),
        "precision_at_k": round(float(truth[top_k].mean()), 4), "recall_at_k": round(float(truth[top_k].sum() / k), 4),
        "relabelled_to_the_true_label": int(fixed_right), "relabelled": len(relabel),
        "recall_of_random_flips": round(float(flagged[flipped[: k // 2]].mean()), 4),
        "recall_of_confusable_flips": round(float(flagged[flipped[k // 2:]].mean()), 4),
    }
    conditions = {"clean": splits["train"], "noisy": str(noisy_path),
                  "fix_drop": str(work / "issues_drop" / "cleaned.csv"), "fix_relabel": str(work / "issues_relabel" / "cleaned.csv")}
    results = {}
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        for name, path in conditions.items():
            results[f"{method}/{name}"] = train_head(path, splits["val"], splits["test"], work / f"{method}-{name}", method)
            print(method, name, results[f"{method}/{name}"], flush=True)
    payload = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": f"{platform.platform()}, Python {platform.python_version()}",
               "noise": args.noise, "seed": args.seed, "splits": splits["rows"], "detection": detection, "accuracy": results,
               "timings": timings, "issues_model": rep.model}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "label_noise.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
