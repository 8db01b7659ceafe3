"""Drift-monitoring benchmark: does `domainfit monitor` stay quiet on quiet traffic and speak up when it changes?

Banking77 (../shared/datasets). A `head` model is trained on 72 of the 77 intents; its reference is one half of
the official test split. Live windows of real queries are then logged through the prediction log and judged by
`domainfit.monitor.run.monitor`, as in production:

- quiet:        the other half of the test split (same 72 intents, texts the reference has not seen)
- new intents:  quiet traffic with 5-40 % queries of the 5 intents the model never saw (the realistic drift: a new
                product, a new kind of complaint)
- other domain: quiet traffic with 5-40 % financial-news sentences (Financial PhraseBank)
- label shift:  quiet traffic in which 3 intents make 30 % of the queries (a campaign, an outage)

For each condition: how many windows raised an alert (and a warning) per check, the model's accuracy on the window
where it has labels, the texts' AUC, and the time one monitor run takes.

Run by hand:  .venv/bin/python bench/monitor.py [--windows 10] [--size 500] [--work /tmp/monitor-bench]
Writes bench/results/monitor.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, SHARED  # noqa: E402

os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})

HELD_OUT = 5
RATES = (0.05, 0.1, 0.2, 0.4)
CHECKS = ("labels", "confidence", "length", "input")


def _data(work: Path) -> dict:
    train = pd.read_csv(SHARED / "banking77" / "train.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(SHARED / "banking77" / "test.csv", dtype=str, keep_default_na=False)
    labels = sorted(train["label"].unique())
    unseen = set(labels[3::len(labels) // HELD_OUT][:HELD_OUT])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(test))
    ref_half, live_half = test.iloc[np.sort(order[::2])], test.iloc[np.sort(order[1::2])]
    seen = lambda frame: frame[~frame["label"].isin(unseen)]  # noqa: E731
    paths = {"train": work / "train.csv", "test": work / "reference.csv"}
    seen(train).to_csv(paths["train"], index=False)
    seen(ref_half).to_csv(paths["test"], index=False)
    news = pd.concat([pd.read_csv(SHARED / "financial_phrasebank" / "allagree" / f, dtype=str, keep_default_na=False)
                      for f in ("train.csv", "test.csv")])
    return {"paths": paths, "unseen": sorted(unseen),
            "pools": {"quiet": seen(live_half).reset_index(drop=True),
                      "new": pd.concat([train, live_half])[lambda f: f["label"].isin(unseen)].reset_index(drop=True),
                      "news": news.assign(label="").reset_index(drop=True)}}


def _train(paths: dict, out: Path) -> Path:
    import domainfit

    if (out / "reference_stats.json").is_file():
        return out
    domainfit.train({"data": {"train": str(paths["train"]), "test": str(paths["test"]), "val_size": 0.1},
                     "method": "head", "baselines": [], "output": str(out)})
    return out


def _predict(bundle: Path, pools: dict) -> dict:
    import domainfit

    model = domainfit.load(bundle)
    return {name: model.predict(frame["text"].tolist()) for name, frame in pools.items()}


def _window(pools: dict, preds: dict, condition: str, rate: float, size: int, rng) -> tuple[list, list, list]:
    """(texts, predictions, gold labels or "") of one live window."""
    quiet = pools["quiet"]
    if condition == "label shift":
        favoured = set(rng.choice(sorted(quiet["label"].unique()), 3, replace=False))
        chosen = quiet["label"].isin(favoured).to_numpy()
        p = np.where(chosen, rate / chosen.sum(), (1 - rate) / (~chosen).sum())  # the 3 intents: `rate` of the traffic
        picks = [("quiet", i) for i in rng.choice(len(quiet), size, replace=True, p=p / p.sum())]
    else:
        k = int(round(size * rate))
        source = {"new intents": "new", "other domain": "news"}.get(condition)
        picks = [("quiet", i) for i in rng.choice(len(quiet), size - k, replace=False)]
        if source:
            picks += [(source, i) for i in rng.choice(len(pools[source]), k, replace=False)]
    rng.shuffle(picks)
    return ([pools[s]["text"].iloc[i] for s, i in picks], [preds[s][i] for s, i in picks],
            [pools[s]["label"].iloc[i] for s, i in picks])


def run(windows: int, size: int, work: Path) -> dict:
    from domainfit.monitor.log import PredictionLog
    from domainfit.monitor.run import monitor

    work.mkdir(parents=True, exist_ok=True)
    data = _data(work)
    t0 = time.perf_counter()
    bundle = _train(data["paths"], work / "bundle")
    train_s = time.perf_counter() - t0
    preds = _predict(bundle, data["pools"])
    metrics = json.loads((bundle / "metrics.json").read_text())["model"]
    conditions = [("quiet", 0.0)] + [(c, r) for c in ("new intents", "other domain") for r in RATES] + [("label shift", 0.3)]
    rows = []
    for condition, rate in conditions:
        rng = np.random.default_rng(zlib.crc32(f"{condition}-{rate}".encode()))
        found = {"alert": {c: 0 for c in CHECKS}, "warn": {c: 0 for c in CHECKS}}
        overall, accuracy, auc, seconds = [], [], [], []
        for w in range(windows):
            texts, predictions, gold = _window(data["pools"], preds, condition, rate, size, rng)
            db = work / "logs" / f"{condition.replace(' ', '_')}-{rate}-{w}.db"
            db.parent.mkdir(exist_ok=True)
            db.unlink(missing_ok=True)
            with PredictionLog(db, texts="raw") as log:
                log.append([(f"w{w}-{i}", "banking77", "1", texts[i:i + 32], predictions[i:i + 32]) for i in range(0, size, 32)])
            t = time.perf_counter()
            report = monitor(bundle, db, out_dir=work / "reports" / db.stem)
            seconds.append(time.perf_counter() - t)
            overall.append(report["status"])
            for check in report["checks"]:
                if check["status"] in ("alert", "warn") and check["name"] in CHECKS:
                    found[check["status"]][check["name"]] += 1
                if check["name"] == "input" and check["value"] is not None:
                    auc.append(check["value"])
            labelled = [(p["label"], g) for p, g in zip(predictions, gold) if g]
            accuracy.append(np.mean([p == g for p, g in labelled]))
        rows.append({"condition": condition, "rate": rate, "windows": windows,
                     "alerts": overall.count("alert"), "warnings_or_alerts": sum(s in ("warn", "alert") for s in overall),
                     "alert_by_check": found["alert"], "warn_by_check": found["warn"],
                     "accuracy": float(np.mean(accuracy)), "input_auc": float(np.mean(auc)) if auc else None,
                     "seconds_per_run": float(np.median(seconds))})
        print(json.dumps(rows[-1]), flush=True)
    return {"dataset": "banking77", "unseen_intents": data["unseen"], "window_size": size, "windows": windows,
            "reference_rows": int(pd.read_csv(data["paths"]["test"]).shape[0]), "model_test_accuracy": metrics["accuracy"],
            "train_seconds": round(train_s, 1), "rows": rows}


def write(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "monitor.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# Drift monitoring on Banking77 (bench/monitor.py)",
        "",
        f"A `head` model trained on 72 intents (test accuracy {result['model_test_accuracy']:.1%}); reference: "
        f"{result['reference_rows']} test queries. {result['windows']} live windows of {result['window_size']} predictions "
        f"per condition, logged through the prediction log and judged by `domainfit monitor` (default thresholds: "
        "alert = p < 0.01 and PSI ≥ 0.25 or AUC ≥ 0.65). Unseen intents: " + ", ".join(result["unseen_intents"]) + ".",
        "",
        "| condition | share | windows alerting | alerting or warning | labels | confidence | length | texts (AUC) | mean AUC | model accuracy on the window | s per run |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        a = r["alert_by_check"]
        lines.append(f"| {r['condition']} | {r['rate']:.0%} | {r['alerts']}/{r['windows']} | {r['warnings_or_alerts']}/{r['windows']} | "
                     f"{a['labels']} | {a['confidence']} | {a['length']} | {a['input']} | "
                     f"{r['input_auc']:.3f} | {r['accuracy']:.1%} | {r['seconds_per_run']:.2f} |")
    lines += ["", "Per-check columns count the windows in which that check alerted. Model accuracy counts only the "
              "queries that have a label (news sentences have none)."]
    (RESULTS / "monitor.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--work", type=Path, default=Path("/tmp/monitor-bench"))
    args = parser.parse_args()
    if not (SHARED / "banking77" / "train.csv").is_file():
        sys.exit(f"skipped: {SHARED / 'banking77'} is absent (the shared datasets live beside the project)")
    result = run(args.windows, args.size, args.work)
    write(result)
    print((RESULTS / "monitor.md").read_text())


if __name__ == "__main__":
    main()
