"""Active learning on Banking77 and Financial PhraseBank (all agree): start from 2 labelled rows per class, add
batches of 100 picked by each `label next` strategy (and at random), retrain the head after each batch, up to 1,500
labels; test accuracy against labels for each strategy, averaged over seeds.

    PYTHONPATH=src python bench/active_learning.py [--datasets banking77,fpb_allagree] [--seeds 3]

The head retrained each round is the `head` method's model on the cached frozen MiniLM embeddings: a logistic
regression (C = 10, as `label next --seed` fits it; no validation grid, since an active-learning run has no
validation labels to spare). The strategies are the ones `label next` runs (`domainfit.labelling.sampling`), on
the same embeddings; the pool is the training split (less the 10% validation carved
from it, unused), the score the official test split.
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

STRATEGIES = ("random", "hybrid", "uncertainty", "margin", "kmeans", "coreset")  # "uncertainty" = entropy


def fit_predict(x, y, n_classes, x_test):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, max_iter=1000).fit(x, y)
    probs = np.zeros((len(x_test), n_classes))
    probs[:, model.classes_] = model.predict_proba(x_test)
    return probs


def run(strategy: str, emb, y, test_emb, test_y, n_classes: int, seed: int, budget: int, batch: int) -> list[tuple[int, float]]:
    from domainfit.labelling import sampling

    rng = np.random.default_rng(seed)
    labelled = np.concatenate([rng.choice(np.flatnonzero(y == k), 2, replace=False) for k in range(n_classes)])
    curve = []
    while True:
        probs = fit_predict(emb[labelled], y[labelled], n_classes, np.vstack([emb, test_emb]))
        pool_probs, test_probs = probs[:len(emb)], probs[len(emb):]
        curve.append((len(labelled), float((test_probs.argmax(1) == test_y).mean())))
        if len(labelled) >= budget:
            return curve
        rest = np.setdiff1d(np.arange(len(emb)), labelled)
        n = min(batch, budget - len(labelled))
        # "margin" = uncertainty by margin; "hybrid:margin" = a strategy with another uncertainty measure
        name, _, measure = ("uncertainty:margin" if strategy == "margin" else strategy).partition(":")
        measure = measure or "entropy"
        scores = sampling.uncertainty(pool_probs[rest], measure)
        picks = sampling.strategies.get(name)(scores, emb[rest], n, labelled_emb=emb[labelled], seed=seed + len(labelled))
        labelled = np.concatenate([labelled, rest[[p.index for p in picks]]])


def labels_to_reach(curve, target: float) -> int | None:
    return next((n for n, acc in curve if acc >= target - 1e-12), None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="banking77,fpb_allagree")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--seeds", type=int, default=3, help="seeds of the random baseline")
    ap.add_argument("--strategy-seeds", type=int, default=1, help="seeds of every other strategy")
    ap.add_argument("--budget", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--tag", default="active_learning", help="results file name (bench/results/<tag>.json, <tag>_<dataset>.svg)")
    args = ap.parse_args()
    from domainfit.labelling.features import embed
    from domainfit.labelling.next import next_batch

    work = Path(tempfile.mkdtemp(prefix="active-"))
    out: dict = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": f"{platform.platform()}, Python {platform.python_version()}",
                 "budget": args.budget, "batch": args.batch, "seeds": args.seeds,
                 "strategy_seeds": args.strategy_seeds, "datasets": {}}
    for ds in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        splits = prepare_splits(ds, work)
        train = pd.read_csv(splits["train"], dtype=str, keep_default_na=False)  # the pool (the same rows as label_noise.py: cached)
        test = pd.read_csv(splits["test"], dtype=str, keep_default_na=False)
        names = sorted(train["label"].unique())
        y = np.array([names.index(v) for v in train["label"]])
        test_y = np.array([names.index(v) for v in test["label"]])
        t = time.perf_counter()
        emb, test_emb = embed(train["text"].tolist()), embed(test["text"].tolist())
        embed_s = time.perf_counter() - t
        curves: dict = {}
        for strategy in [s.strip() for s in args.strategies.split(",") if s.strip()]:
            curves[strategy] = []
            for seed in range(args.seeds if strategy == "random" else args.strategy_seeds):
                t = time.perf_counter()
                curves[strategy].append(run(strategy, emb, y, test_emb, test_y, len(names), seed, args.budget, args.batch))
                print(ds, strategy, seed, curves[strategy][-1][-1], f"{time.perf_counter() - t:.1f}s", flush=True)
        # one real `label next` call on the pool (a CSV of its texts), seeded with 2 rows per class, cached embeddings
        pool = work / f"{ds}_pool.csv"
        train[["text"]].to_csv(pool, index=False)
        rng = np.random.default_rng(0)
        seed_rows = train.iloc[np.concatenate([rng.choice(np.flatnonzero(y == k), 2, replace=False) for k in range(len(names))])]
        seed_rows.to_csv(work / f"{ds}_seed.csv", index=False)
        t = time.perf_counter()
        next_batch(pool, seed_data=work / f"{ds}_seed.csv", n=args.batch)
        next_s = time.perf_counter() - t
        out["datasets"][ds] = {"pool": len(train), "test": len(test), "classes": len(names), "embed_s": round(embed_s, 1),
                               "label_next_s": round(next_s, 2), "curves": curves}
        (RESULTS / f"{args.tag}.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    _plot(out, args.tag)


def _plot(out: dict, tag: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for ds, d in out["datasets"].items():
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for strategy, runs in d["curves"].items():
            xs = [n for n, _ in runs[0]]
            acc = np.array([[a for _, a in r] for r in runs])
            ax.plot(xs, 100 * acc.mean(0), label=f"{strategy} ({len(runs)} seeds)", lw=2.2 if strategy in ("hybrid", "random") else 1.2,
                    ls="--" if strategy == "random" else "-")
            if strategy == "random" and len(runs) > 1:
                ax.fill_between(xs, 100 * acc.min(0), 100 * acc.max(0), alpha=0.15)
        ax.set_xlabel("labelled texts")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"active learning on {ds} (head on MiniLM embeddings)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(RESULTS / f"{tag}_{ds}.svg", metadata={"Date": None})
        plt.close(fig)


if __name__ == "__main__":
    main()
