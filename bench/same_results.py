"""Same results before and after a refactor: the cheapest run of each workflow on real data, by two source trees.

Run by hand (not a test):
    git worktree add /tmp/before <commit>      # the tree before the change
    .venv/bin/python bench/same_results.py --src before=/tmp/before/src --src after=src
Writes bench/results/same_results.{md,json}: per run and tree, the headline metrics and the times.

The runs (one process per run and tree, so each imports its own tree; seeds fixed):
    classification-head   Banking77 and Financial PhraseBank (all agree), method `head`, the splits of
                          bench/classification.py (so the `domainfit-head` rows of bench/results/classification.md
                          are a third reference)
    retrieval-full        Banking77 as a FAQ (77 answers), 20 training queries per answer, the first 770 test queries,
                          method `full`, 1 epoch
    ner-full              WNUT17, the first 600 training and 300 dev sentences, the first 400 test sentences,
                          method `full`, 2 epochs
Data comes from ../shared/datasets (never copied); a run whose data is absent is skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "bench" / "results"
RUNS = ("classification-head-banking77", "classification-head-fpb_allagree", "retrieval-full", "ner-full")


def _split_table(train: Path, test: Path, work: Path, name: str) -> dict:
    """Validation carved from train (10%, stratified, seed 42) with scikit-learn, independently of either tree."""
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(train, dtype=str, keep_default_na=False)
    tr, va = train_test_split(frame, test_size=0.1, random_state=42, stratify=frame["label"])
    out = {}
    for split, f in (("train", tr), ("val", va), ("test", pd.read_csv(test, dtype=str, keep_default_na=False))):
        out[split] = str(work / f"{name}_{split}.csv")
        f[["text", "label"]].to_csv(out[split], index=False)
    return out


def _conll_head(src: Path, dst: Path, sentences: int) -> Path:
    blocks, current = [], []
    for line in src.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            if len(blocks) >= sentences:
                break
        else:
            current.append(line)
    if current and len(blocks) < sentences:
        blocks.append(current)
    dst.write_text("\n\n".join("\n".join(b) for b in blocks) + "\n", encoding="utf-8")
    return dst


def prepare(run: str, work: Path) -> dict | None:
    """The run's files, or None when its data is absent."""
    if run.startswith("classification-head-"):
        name = run.removeprefix("classification-head-")
        files = {"banking77": ("banking77/train.csv", "banking77/test.csv"),
                 "fpb_allagree": ("financial_phrasebank/allagree/train.csv", "financial_phrasebank/allagree/test.csv")}[name]
        train, test = SHARED / files[0], SHARED / files[1]
        if not train.is_file():
            return None
        return {"task": "classification", "method": "head", "data": _split_table(train, test, work, name),
                "model": {"max_length": 64}, "training": {"batch_size": 32, "lr": 1e-4}, "baselines": []}
    if run == "retrieval-full":
        if not (SHARED / "banking77" / "train.csv").is_file():
            return None
        train = pd.read_csv(SHARED / "banking77" / "train.csv", dtype=str, keep_default_na=False)
        test = pd.read_csv(SHARED / "banking77" / "test.csv", dtype=str, keep_default_na=False).head(770)
        train = train.groupby("label", sort=True).head(20)
        intents = sorted(set(train["label"]))
        pd.DataFrame({"id": intents, "answer": [i.replace("_", " ") for i in intents]}).to_csv(work / "bank.csv", index=False)
        for split, f in (("train", train), ("test", test)):
            pd.DataFrame({"query": f["text"], "faq_id": f["label"]}).to_csv(work / f"faq_{split}.csv", index=False)
        return {"task": "retrieval", "method": "full",
                "data": {"train": str(work / "faq_train.csv"), "test": str(work / "faq_test.csv"),
                         "answers": str(work / "bank.csv"), "val_size": 0.1, "seed": 42},
                "model": {"max_length": 64}, "training": {"epochs": 1, "batch_size": 64, "lr": 2e-4},
                "baselines": ["bm25"]}
    if run == "ner-full":
        folder = SHARED / "wnut17"
        files = {role: next(iter(sorted(folder.glob(f"*{role}*"))), None) for role in ("train", "dev", "test")}
        if not all(files.values()):
            return None
        sizes = {"train": 600, "dev": 300, "test": 400}
        cut = {role: str(_conll_head(files[role], work / f"wnut_{role}.conll", sizes[role])) for role in sizes}
        return {"task": "ner", "method": "full", "data": {"train": cut["train"], "val": cut["dev"], "test": cut["test"]},
                "model": {"max_length": 128}, "training": {"epochs": 2, "batch_size": 16, "lr": 1e-4, "patience": None},
                "baselines": ["dictionary"]}
    raise ValueError(run)


def child(config_json: str, out: str, result_path: str) -> None:
    import domainfit

    cfg = json.loads(Path(config_json).read_text())
    t = time.perf_counter()
    model = domainfit.train({**cfg, "output": out})
    wall = time.perf_counter() - t
    metrics = model.metrics
    from domainfit.registry import tasks

    keys = tasks.get(cfg["task"]).summary_metrics
    result = {"model": {k: metrics["model"].get(k) for k in keys}, "wall_s": round(wall, 1),
              "fit_s": model.meta["training"]["seconds"],
              "baselines": {name: {k: b.get(k) for k in keys[:2]} for name, b in (metrics.get("baselines") or {}).items()}}
    Path(result_path).write_text(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", action="append", required=False, help="NAME=PATH of a source tree's src/ (repeatable)")
    ap.add_argument("--runs", default=",".join(RUNS))
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    trees = dict(s.split("=", 1) for s in (args.src or [f"after={ROOT / 'src'}"]))
    results: dict = {"trees": trees, "runs": {}, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    with tempfile.TemporaryDirectory() as tmp:
        for run in args.runs.split(","):
            work = Path(tmp) / run
            work.mkdir()
            cfg = prepare(run, work)
            if cfg is None:
                print(f"{run}: skipped, its data is not in {SHARED}")
                results["runs"][run] = {"skipped": f"no data in {SHARED}"}
                continue
            (work / "config.json").write_text(json.dumps(cfg))
            results["runs"][run] = {}
            for name, src in trees.items():
                out, res = work / f"bundle-{name}", work / f"result-{name}.json"
                env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                       "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "2"}
                r = subprocess.run([sys.executable, __file__, "--child", str(work / "config.json"), str(out), str(res)],
                                   env=env, capture_output=True, text=True)
                if r.returncode:
                    results["runs"][run][name] = {"error": r.stderr[-1500:]}
                    print(f"{run} [{name}]: failed\n{r.stderr[-1500:]}")
                    continue
                results["runs"][run][name] = json.loads(res.read_text())
                print(f"{run} [{name}]: {results['runs'][run][name]['model']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "same_results.json").write_text(json.dumps(results, indent=2))
    (RESULTS / "same_results.md").write_text(markdown(results), encoding="utf-8")


def markdown(results: dict) -> str:
    names = list(results["trees"])
    lines = [f"# Same results before and after ({results['started']})", "",
             "Command: `.venv/bin/python bench/same_results.py " + " ".join(f"--src {n}={p}" for n, p in results["trees"].items())
             + "`. One process per run and tree; seeds fixed; 2 CPU cores.", "",
             "| run | metric | " + " | ".join(names) + " | difference |", "|---|---|" + "---|" * len(names) + "---|"]
    for run, by_tree in results["runs"].items():
        if "skipped" in by_tree:
            lines.append(f"| {run} | skipped: {by_tree['skipped']} |" + " |" * (len(names) + 1))
            continue
        first = next((v for v in by_tree.values() if "model" in v), None)
        if first is None:
            continue
        for metric in list(first["model"])[:3]:
            values = [by_tree.get(n, {}).get("model", {}).get(metric) for n in names]
            shown = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in values]
            diff = (f"{values[-1] - values[0]:+.4f}" if all(isinstance(v, float) for v in values) and len(values) > 1 else "—")
            lines.append(f"| {run} | {metric} | " + " | ".join(shown) + f" | {diff} |")
        lines.append(f"| {run} | wall s | " + " | ".join(str(by_tree.get(n, {}).get("wall_s")) for n in names) + " | — |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
