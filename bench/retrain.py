"""Retraining benchmark: new intents appear; do corrections plus a replay of the old rows teach them without
forgetting the rest, and does the gate promote the right challengers?

Banking77 (../shared/datasets). The champion (`head`, the bundled MiniLM) is trained on 72 of the 77 intents. The
"corrections" are k labelled queries of each of the 5 unseen intents (from the training file, as reviewers would
label live traffic). The challenger is trained by `domainfit.retrain` with the champion's recipe on the corrections
plus a replay of all, 20 % or none of the old training rows, and both are scored on

- old test: the official test queries of the 72 known intents,
- new test: the official test queries of the 5 new intents (given as --new-test).

Run by hand:  .venv/bin/python bench/retrain.py [--shots 10,40] [--work /tmp/retrain-bench]
Writes bench/results/retrain.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, SHARED  # noqa: E402

os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})

HELD_OUT = 5
REPLAYS = ("all", "0.2", "0")


def _data(work: Path, shots: list[int]) -> dict:
    train = pd.read_csv(SHARED / "banking77" / "train.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(SHARED / "banking77" / "test.csv", dtype=str, keep_default_na=False)
    labels = sorted(train["label"].unique())
    unseen = sorted(labels[3::len(labels) // HELD_OUT][:HELD_OUT])
    known = lambda f: f[~f["label"].isin(unseen)]  # noqa: E731
    paths = {"train": work / "train.csv", "test": work / "test.csv", "new_test": work / "new_test.csv"}
    known(train).to_csv(paths["train"], index=False)
    known(test).to_csv(paths["test"], index=False)
    test[test["label"].isin(unseen)].to_csv(paths["new_test"], index=False)
    pool = train[train["label"].isin(unseen)].sample(frac=1.0, random_state=0)
    for k in shots:
        paths[f"new_{k}"] = work / f"corrections_{k}.csv"
        pool.groupby("label").head(k).to_csv(paths[f"new_{k}"], index=False)
    return {"paths": paths, "unseen": unseen}


def run(shots: list[int], work: Path) -> dict:
    import domainfit
    from domainfit.retraining.gate import Gate

    work.mkdir(parents=True, exist_ok=True)
    data = _data(work, shots)
    p = data["paths"]
    champion = work / "champion"
    if not (champion / "metrics.json").is_file():
        domainfit.train({"data": {"train": str(p["train"]), "test": str(p["test"])}, "method": "head", "baselines": [],
                         "output": str(champion)})
    rows = []
    for k in shots:
        for replay in REPLAYS:
            out = work / f"challenger-{k}-{replay}"
            t = time.perf_counter()
            report = domainfit.retrain(champion, p[f"new_{k}"], new_test=p["new_test"], output=out, replay=replay,
                                       gate=Gate(metric="macro_f1", min_gain=0.0, max_drop=0.01), overrides=["baselines=[]"])
            s = report["scores"]
            rows.append({"corrections_per_intent": k, "replay": replay, "replayed": report["rows"]["replayed"],
                         "train_rows": report["rows"]["replayed"] + report["rows"]["new_train"],
                         "champion_old": s["champion"]["old"], "champion_new": s["champion"]["new"],
                         "challenger_old": s["challenger"]["old"], "challenger_new": s["challenger"]["new"],
                         "promote": report["decision"]["promote"], "reasons": report["decision"]["reasons"],
                         "seconds": round(time.perf_counter() - t, 1)})
            print(json.dumps({k2: v for k2, v in rows[-1].items() if k2 != "reasons"}), flush=True)
    return {"dataset": "banking77", "unseen_intents": data["unseen"], "rows": rows}


def write(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "retrain.json").write_text(json.dumps(result, indent=2))
    champ = result["rows"][0]
    lines = [
        "# Retraining with replay on Banking77 (bench/retrain.py)",
        "",
        f"Champion: `head` on 72 intents. New intents: {', '.join(result['unseen_intents'])}. Old test: "
        f"{champ['champion_old']['n']} queries of the 72 intents; new test: {champ['champion_new']['n']} queries of the 5 new ones. "
        f"The champion scores {100 * champ['champion_old']['accuracy']:.1f} % / macro-F1 {100 * champ['champion_old']['macro_f1']:.1f} "
        f"on the old test and {100 * champ['champion_new']['accuracy']:.1f} % on the new (it cannot know those intents). "
        "Gate: promote when macro-F1 on the new rows does not fall and the old test loses at most 1 point.",
        "",
        "| corrections per new intent | replay of old rows | rows trained on | old test acc. | old macro-F1 | new test acc. | new macro-F1 | promoted | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        o, n = r["challenger_old"], r["challenger_new"]
        lines.append(f"| {r['corrections_per_intent']} | {r['replay']} ({r['replayed']}) | {r['train_rows']} | {100 * o['accuracy']:.1f} | "
                     f"{100 * o['macro_f1']:.1f} | {100 * n['accuracy']:.1f} | {100 * n['macro_f1']:.1f} | "
                     f"{'yes' if r['promote'] else 'no: ' + '; '.join(r['reasons'])} | {r['seconds']} |")
    (RESULTS / "retrain.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", default="10,40")
    parser.add_argument("--work", type=Path, default=Path("/tmp/retrain-bench"))
    args = parser.parse_args()
    if not (SHARED / "banking77" / "train.csv").is_file():
        sys.exit(f"skipped: {SHARED / 'banking77'} is absent (the shared datasets live beside the project)")
    write(run([int(k) for k in args.shots.split(",")], args.work))
    print((RESULTS / "retrain.md").read_text())


if __name__ == "__main__":
    main()
