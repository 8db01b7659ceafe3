"""Noisy labels on Banking77: flip 10% of the training labels (seeded; half uniformly at random, half to the most
confusable class), then measure how well `data issues` finds them (precision / recall of the flagged rows, precision
and recall at k = number flipped) and the test accuracy of `head` and `full` trained on clean, noisy, --fix drop,
--fix relabel and --fix auto data; and how long `data issues` and `label next` take with cached embeddings.

    PYTHONPATH=src python bench/label_noise.py [--methods head,full] [--noise 0.10] [--seed 0]
        [--full-rows 3000 --full-epochs 1 --full-max-length 48] [--auto-bars 0.5,0.7,0.9]

"Most confusable class" of a class: the other class whose mean embedding (bundled MiniLM) is nearest to its own.
Validation and test rows are not touched (validation carved from train before the flips; the head's C is chosen on it).

`head` here is the `head` method's own fitting code (`methods.probe.select_probe`: logistic regression, C in 1, 10,
100 chosen on validation) run on the MiniLM embeddings computed once and cached (max_length 128, those `data issues`
reads), not `domainfit train`: that re-embeds every training table it is given, and each cleaned table is another
one (minutes each on one core). `full` is `domainfit train --method full`, reduced (see --full-*): the same stratified
subsample of the training rows for every condition, each condition's labels (or drops) as its cleaned table says.
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


def condition_from_changes(noisy: pd.DataFrame, changes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(labels, kept) over the noisy table's positions, from a fix's changes.csv (row = position + 2)."""
    labels = noisy["label"].to_numpy(dtype=object).copy()
    kept = np.ones(len(noisy), dtype=bool)
    for row, action, new in zip(changes["row"].astype(int), changes["action"], changes["new_label"]):
        if action == "drop":
            kept[row - 2] = False
        else:
            labels[row - 2] = new
    return labels, kept


def check_cleaned(noisy: pd.DataFrame, labels, kept, cleaned_path: Path) -> None:
    """The condition rebuilt from changes.csv is the cleaned.csv `data issues` wrote, row for row."""
    cleaned = pd.read_csv(cleaned_path, dtype=str, keep_default_na=False)
    assert cleaned["text"].tolist() == noisy["text"][kept].tolist(), cleaned_path
    assert cleaned["label"].tolist() == list(labels[kept]), cleaned_path


def head_accuracy(x, labels, x_val, val_labels, x_test, test_labels, names) -> dict:
    from domainfit.interfaces import make_task
    from domainfit.methods.probe import select_probe

    task = make_task("classification")
    y = np.array([names.index(v) for v in labels])
    t = time.perf_counter()
    (w, b), C, _ = select_probe(task, x, y, x_val, list(val_labels), names, grid=[1.0, 10.0, 100.0], balanced=False, seed=42)
    import torch

    def metrics(xs, truth):
        return task.metrics(list(truth), task.decode(torch.as_tensor(xs @ w.T + b, dtype=torch.float32)), names)

    m, v = metrics(x_test, test_labels), metrics(x_val, val_labels)
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "val_accuracy": v["accuracy"], "C": C,
            "rows": len(labels), "wall_s": round(time.perf_counter() - t, 1)}


def train_full(train: Path, val: str, test: str, out: Path, args) -> dict:
    import domainfit

    t = time.perf_counter()
    model = domainfit.train({"method": "full", "data": {"train": str(train), "val": val, "test": test},
                             "model": {"max_length": args.full_max_length},
                             "training": {"batch_size": 32, "lr": 1e-4, "epochs": args.full_epochs, "threads": 1,
                                          "patience": None},
                             "baselines": [], "output": str(out)})
    m = model.metrics["model"]
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "wall_s": round(time.perf_counter() - t, 1)}


def stratified_subsample(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    if n >= len(y):
        return np.arange(len(y))
    keep, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(keep)


def time_label_next(clean: pd.DataFrame, work: Path, seed: int) -> dict:
    """`label next pool --seed seed.csv --n 100`: 2 labelled rows per class, the other training texts as the pool."""
    from domainfit.labelling.features import embed
    from domainfit.labelling.next import next_batch

    rng = np.random.default_rng(seed)
    seed_rows = np.concatenate([rng.choice(np.flatnonzero(clean["label"].to_numpy() == c), 2, replace=False)
                                for c in sorted(clean["label"].unique())])
    pool = clean.drop(index=seed_rows).drop_duplicates("text")
    clean.iloc[seed_rows].to_csv(work / "seed.csv", index=False)
    pool[["text"]].to_csv(work / "pool.csv", index=False)
    t = time.perf_counter()
    embed(pool["text"].tolist())  # what the first call on a new pool pays once (cached after)
    first = time.perf_counter() - t
    out = {"pool": len(pool), "seed_rows": len(seed_rows), "embed_pool_first_time_s": round(first, 1)}
    for n in (100, 200):
        t = time.perf_counter()
        result = next_batch(work / "pool.csv", seed_data=work / "seed.csv", n=n)
        out[f"label_next_n{n}_s"] = round(time.perf_counter() - t, 2)
        out[f"label_next_n{n}_stages"] = result.timings
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="head,full")
    ap.add_argument("--noise", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--auto-bars", default="0.5,0.7,0.9", help="fixed --relabel-above values measured beside the default")
    ap.add_argument("--full-rows", type=int, default=3000, help="stratified subsample of the training rows for `full`")
    ap.add_argument("--full-epochs", type=float, default=1.0)
    ap.add_argument("--full-max-length", type=int, default=48)
    ap.add_argument("--tag", default="label_noise")
    ap.add_argument("--dataset", default="banking77")
    ap.add_argument("--skip-timing", action="store_true", help="leave out the `label next` timing")
    ap.add_argument("--smoke", type=int, default=0, help="only this many train/val/test rows (a check of the script, not a result)")
    args = ap.parse_args()
    from domainfit.labelling.features import embed
    from domainfit.labelling.issues import issues_in_file

    load = {"start": Path("/proc/loadavg").read_text().strip()}
    work = Path(tempfile.mkdtemp(prefix="label-noise-"))
    splits = prepare_splits(args.dataset, work)
    if args.smoke:
        for split in ("train", "val", "test"):
            frame = pd.read_csv(splits[split], dtype=str, keep_default_na=False)
            frame.groupby("label").head(max(3, args.smoke // 3)).head(args.smoke).to_csv(splits[split], index=False)
    clean = pd.read_csv(splits["train"], dtype=str, keep_default_na=False)
    val = pd.read_csv(splits["val"], dtype=str, keep_default_na=False)
    test = pd.read_csv(splits["test"], dtype=str, keep_default_na=False)
    t = time.perf_counter()
    emb = embed(clean["text"].tolist())
    timings = {"embed_train_s (0 when cached)": round(time.perf_counter() - t, 1)}
    x_val, x_test = embed(val["text"].tolist()), embed(test["text"].tolist())
    noisy, flipped = flip(clean, emb, args.noise, args.seed)
    noisy_path = work / "noisy_train.csv"
    noisy.to_csv(noisy_path, index=False)
    truth = np.zeros(len(noisy), dtype=bool)
    truth[flipped] = True
    names = sorted(clean["label"].unique())

    # the interactive call, timed: embeddings cached, tables and report.html written, no fix
    t = time.perf_counter()
    found = issues_in_file(noisy_path, work / "issues", seed=args.seed)
    timings["data_issues_s"] = round(time.perf_counter() - t, 2)
    timings["data_issues_stages"] = found.timings
    fixes = {"fix_drop": {"fix": "drop"}, "fix_relabel": {"fix": "relabel"}, "fix_auto": {"fix": "auto"}}
    fixes.update({f"fix_auto@{b}": {"fix": "auto", "relabel_above": float(b)} for b in args.auto_bars.split(",") if b})
    conditions = {"clean": (clean["label"].to_numpy(dtype=object), np.ones(len(clean), bool)),
                  "noisy": (noisy["label"].to_numpy(dtype=object), np.ones(len(clean), bool))}
    fix_stats = {}
    for name, kw in fixes.items():
        t = time.perf_counter()
        issues_in_file(noisy_path, work / name, seed=args.seed, **kw)
        took = round(time.perf_counter() - t, 2)
        changes = pd.read_csv(work / name / "changes.csv", dtype=str, keep_default_na=False)
        labels, kept = condition_from_changes(noisy, changes)
        check_cleaned(noisy, labels, kept, work / name / "cleaned.csv")
        conditions[name] = (labels, kept)
        pos = changes["row"].astype(int).to_numpy() - 2
        relabel = (changes["action"] == "relabel").to_numpy()
        fix_stats[name] = {"seconds": took, "relabelled": int(relabel.sum()),
                           "relabelled_to_the_true_label": int((changes["new_label"][relabel].to_numpy() == clean["label"].to_numpy()[pos[relabel]]).sum()),
                           "relabelled_a_flipped_row": int(truth[pos[relabel]].sum()),
                           "dropped": int((~relabel).sum()), "dropped_flipped": int(truth[pos[~relabel]].sum())}
        print(name, fix_stats[name], flush=True)
    rep = found.report
    flagged = np.zeros(len(noisy), dtype=bool)
    flagged[rep.issues["position"].astype(int).to_numpy()] = True
    k = len(flipped)
    top_k = np.argsort(rep.quality, kind="stable")[:k]
    detection = {
        "rows": len(noisy), "flipped": k, "flagged": int(flagged.sum()),
        "precision": round(float(truth[flagged].mean()), 4) if flagged.any() else None,
        "recall": round(float(flagged[truth].mean()), 4),
        "precision_at_k": round(float(truth[top_k].mean()), 4), "recall_at_k": round(float(truth[top_k].sum() / k), 4),
        "recall_of_random_flips": round(float(flagged[flipped[: k // 2]].mean()), 4),
        "recall_of_confusable_flips": round(float(flagged[flipped[k // 2:]].mean()), 4),
    }
    print(detection, flush=True)
    results = {}
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if "head" in methods:
        for name, (labels, kept) in conditions.items():
            results[f"head/{name}"] = head_accuracy(emb[kept], labels[kept], x_val, val["label"], x_test, test["label"], names)
            print("head", name, results[f"head/{name}"], flush=True)
    if "full" in methods:
        sub = stratified_subsample(clean["label"].to_numpy(), args.full_rows, args.seed)
        for name in ("clean", "noisy", "fix_drop", "fix_relabel", "fix_auto"):
            labels, kept = conditions[name]
            rows = sub[kept[sub]]
            table = work / f"full-{name}.csv"
            pd.DataFrame({"text": clean["text"].to_numpy()[rows], "label": labels[rows]}).to_csv(table, index=False)
            results[f"full/{name}"] = {**train_full(table, splits["val"], splits["test"], work / f"full-{name}", args),
                                       "rows": len(rows)}
            print("full", name, results[f"full/{name}"], flush=True)
    if not args.skip_timing:
        timings["label_next"] = time_label_next(clean, work, args.seed)
    print(timings, flush=True)
    load["end"] = Path("/proc/loadavg").read_text().strip()
    payload = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": f"{platform.platform()}, Python {platform.python_version()}",
               "threads": "single (OMP/MKL/OpenBLAS = 1, benchslot, nice 5)", "loadavg": load,
               "noise": args.noise, "seed": args.seed, "splits": splits["rows"], "detection": detection, "fixes": fix_stats,
               "accuracy": results, "timings": timings, "issues_model": rep.model,
               "full_reduced": {"rows": args.full_rows, "epochs": args.full_epochs, "max_length": args.full_max_length}}
    out = RESULTS if not args.smoke else work
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.tag}.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
