"""Faithfulness and cost of the explainers: does deleting the words an explanation ranks highest lower the predicted
class's probability more than deleting as many random words?

Run by hand (not a test):  .venv/bin/python bench/explain_faithfulness.py [--datasets banking77,fpb_allagree] [--texts 300]
Writes bench/results/explain_faithfulness.{md,json}. For each dataset a `head` bundle is trained on the bundled MiniLM
(train/val carved as in the other benches); `--texts` test rows (seed 0, at least 4 words) are explained by each
explainer on the PyTorch model; then for k in 1, 2, 3 the k words with the largest positive weight are deleted, and
separately k random words (3 draws, averaged), and the predicted class's probability drop is recorded for both.
Data comes from ../shared/datasets (never copied into the project).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, prepare_splits

KS = (1, 2, 3)
EXPLAINERS = ("integrated_gradients", "occlusion")


def run_dataset(name: str, n_texts: int, work: Path) -> dict:
    import pandas as pd

    import domainfit
    from domainfit.evaluation.explain import explain
    from domainfit.evaluation.explain.occlusion import delete_words

    splits = prepare_splits(name, work)
    t = time.perf_counter()
    model = domainfit.train({"method": "head", "data": {"train": splits["train"], "val": splits["val"], "test": splits["test"]},
                             "model": {"max_length": 64}, "baselines": [], "output": str(work / f"{name}-head")})
    train_s = time.perf_counter() - t
    predictor = model._predictor
    test = pd.read_csv(splits["test"], dtype=str, keep_default_na=False)
    texts = [x for x in test["text"].tolist() if len(x.split()) >= 4]
    texts = random.Random(0).sample(texts, min(n_texts, len(texts)))
    out = {"rows": splits["rows"], "train_s": round(train_s, 1), "accuracy": model.metrics["model"]["accuracy"],
           "texts": len(texts), "explainers": {}}
    for method in EXPLAINERS:
        explain(predictor, texts[:2], method=method)  # warm
        t = time.perf_counter()
        found = explain(predictor, texts, method=method)
        seconds = time.perf_counter() - t
        rng = random.Random(1)
        variants, plan = [], []  # (explanation index, k, "top" | "random")
        for i, e in enumerate(found):
            spans = [(w["start"], w["end"]) for w in e["words"]]
            ranked = sorted(range(len(spans)), key=lambda j: -e["words"][j]["weight"])
            for k in KS:
                if len(spans) <= k:
                    continue
                variants.append(delete_words(e["text"], [spans[j] for j in ranked[:k]]))
                plan.append((i, k, "top"))
                for _ in range(3):
                    variants.append(delete_words(e["text"], rng.sample(spans, k)))
                    plan.append((i, k, "random"))
        scores = predictor.predict_scores(variants)
        drops: dict[tuple[int, str], dict[int, list[float]]] = {}
        for (i, k, kind), row in zip(plan, scores):
            e = found[i]
            column = predictor.labels.index(e["target"])
            drops.setdefault((k, kind), {}).setdefault(i, []).append(e["score"] - float(row[column]))
        per_k = {}
        for k in KS:
            top = {i: v[0] for i, v in drops.get((k, "top"), {}).items()}
            rand = {i: float(np.mean(v)) for i, v in drops.get((k, "random"), {}).items()}
            both = sorted(set(top) & set(rand))
            per_k[k] = {"texts": len(both), "top_drop": float(np.mean([top[i] for i in both])),
                        "random_drop": float(np.mean([rand[i] for i in both])),
                        "top_beats_random": float(np.mean([top[i] > rand[i] for i in both]))}
        out["explainers"][method] = {"ms_per_text": round(1000 * seconds / len(texts), 1), "per_k": per_k,
                                     "words_per_text": float(np.mean([len(e["words"]) for e in found]))}
        print(name, method, json.dumps(out["explainers"][method]), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="banking77,fpb_allagree")
    parser.add_argument("--texts", type=int, default=300)
    args = parser.parse_args()
    results = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": f"{platform.platform()}, Python {platform.python_version()}",
               "texts": args.texts, "datasets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets.split(","):
            results["datasets"][name] = run_dataset(name, args.texts, Path(tmp))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "explain_faithfulness.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    lines = [f"# Explanation faithfulness and cost ({results['when']})", "",
             f"Machine: {results['machine']}. Backbone: bundled all-MiniLM-L6-v2, method `head`, variant torch.", "",
             "| dataset | explainer | ms / text | k | top-k drop | random-k drop | top-k > random |", "|---|---|---|---|---|---|---|"]
    for name, d in results["datasets"].items():
        for method, r in d["explainers"].items():
            for k, v in r["per_k"].items():
                lines.append(f"| {name} | {method} | {r['ms_per_text']} | {k} | {v['top_drop']:.3f} | {v['random_drop']:.3f} | "
                             f"{100 * v['top_beats_random']:.0f}% |")
    (RESULTS / "explain_faithfulness.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
