"""Benchmarks of the `multilabel` and `regression` tasks: domainfit `full` and `head` against TF-IDF, same splits.

Run by hand (not a test):  .venv/bin/python bench/tasks.py --part multilabel|regression|retrieval|ner
(ner: see bench/tasks_ner.py, WNUT17's CoNLL files read as they are.)
Writes bench/results/tasks_<part>.{md,json}. Each system runs in its own subprocess (its peak RSS is its own).
../shared/datasets holds no dataset made for these tasks, so each benchmark is built from real annotations there
(never copied into the project; the derived CSVs live in a temporary folder):

- multilabel, from WNUT17 (English NER on tweets and forum posts): a sentence's labels are the entity types it
  mentions (person, location, group, creative-work, corporation, product), so "which kinds of entity does this text
  talk about". Sentences without an entity are left out (the task rejects empty label lists). Official splits:
  train → train, dev → validation, test → test.
- regression, from Financial PhraseBank: a sentence's score is its sentiment (positive +1, neutral 0, negative -1)
  times the annotator agreement of that label, read from the nested variants (in allagree: 1.0; else in 75agree:
  0.75; else in 66agree: 0.66; else 0.5), so -1 ... +1, a signed "how clearly positive/negative" score. The 50agree
  files (every sentence) give train and test; validation is carved from train (10%, seeded, stratified by quantile
  bins of the score).
- retrieval, from Banking77 as a FAQ: each of the 77 intents is an answer of the bank, its text the intent's name made
  readable ("card_arrival" -> "card arrival"; Banking77 has no descriptions, and none are written here); training
  pairs are (train text, its intent), queries the official test texts; validation is 10% of train (seeded,
  stratified by answer). One domainfit run (`full`) scores the fine-tuned bi-encoder, BM25 (answer text + its
  training queries) and the untouched backbone on the same test queries (its metrics.json comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, SHARED  # noqa: E402

SYSTEMS = ("domainfit-full", "domainfit-head", "tfidf")
HP = {"batch_size": 32, "max_length": 64, "lr": 1e-4}
AGREEMENT = (("allagree", 1.0), ("75agree", 0.75), ("66agree", 0.66), ("50agree", 0.5))
POLARITY = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}
BASELINE = {"multilabel": "tfidf_multilabel", "regression": "tfidf_ridge"}
RETRIEVAL_HP = {"method": "full", "epochs": 1, "batch_size": 64, "max_length": 64, "lr": 2e-4}


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "PYTHONPATH": str(ROOT / "src")}


# ---------------------------------------------------------------- building the data sets
def _conll_sentences(path: Path) -> list[tuple[list[str], list[str]]]:
    sentences, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        token, tag = line.split("\t")[:2]
        tokens.append(token)
        tags.append(tag)
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def build_multilabel(work: Path) -> dict:
    """text,label CSVs from WNUT17: label = the entity types of the sentence, ';'-separated."""
    import pandas as pd

    files = {}
    for split, name in (("train", "train"), ("val", "dev"), ("test", "test")):
        rows = []
        for tokens, tags in _conll_sentences(SHARED / "wnut17" / f"{name}.conll"):
            types = sorted({tag[2:] for tag in tags if tag != "O"})
            if types:
                rows.append({"text": " ".join(tokens), "label": ";".join(types)})
        files[split] = work / f"wnut17_types_{split}.csv"
        pd.DataFrame(rows).to_csv(files[split], index=False)
    return {"train": files["train"], "val": files["val"], "test": files["test"]}


def build_regression(work: Path) -> dict:
    """text,label CSVs from Financial PhraseBank: label = polarity x agreement level of the sentence."""
    import pandas as pd

    out = {}
    for split in ("train", "test"):
        variants = {v: pd.read_csv(SHARED / "financial_phrasebank" / v / f"{split}.csv", dtype=str) for v, _ in AGREEMENT}
        agreement = {}
        for variant, level in reversed(AGREEMENT):  # the smallest variant holding a sentence sets its level
            agreement.update(dict.fromkeys(variants[variant]["text"], level))
        frame = variants["50agree"]
        score = [round(POLARITY[lab] * agreement[text], 2) for text, lab in zip(frame["text"], frame["label"])]
        out[split] = work / f"fpb_score_{split}.csv"
        pd.DataFrame({"text": frame["text"], "label": score}).to_csv(out[split], index=False)
    return out


def prepare(part: str, work: Path) -> dict:
    """The benchmark's train/val/test CSVs after domainfit's data checks (the same rows for every system)."""
    from domainfit.config import DataConfig
    from domainfit.data import prepare_data
    from domainfit.tasks import make_task

    files = build_multilabel(work) if part == "multilabel" else build_regression(work)
    data = prepare_data(DataConfig(val_size=0.1, seed=42, **files), task=make_task(part))
    paths = {}
    for split in ("train", "val", "test"):
        paths[split] = str(work / f"{part}_{split}.prepared.csv")
        getattr(data, split)[["text", "label"]].to_csv(paths[split], index=False)
    counts = data.report.counts
    return {**paths, "rows": {s: counts[s] for s in ("train", "val", "test")}, "labels": data.labels,
            "rejected": counts["rows_rejected"], "rejected_by_reason": counts["rejected_by_reason"],
            "per_label": counts["per_label"]}


def build_retrieval(work: Path) -> dict:
    """bank.csv (id = intent, answer = the intent made readable) and (query, faq_id) pairs from Banking77."""
    import pandas as pd

    from domainfit.methods.zeroshot import label_text

    frames = {split: pd.read_csv(SHARED / "banking77" / f"{split}.csv", dtype=str, keep_default_na=False) for split in ("train", "test")}
    intents = sorted(set(frames["train"]["label"]))
    pd.DataFrame({"id": intents, "answer": [label_text(i) for i in intents]}).to_csv(work / "bank.csv", index=False)
    out = {"answers": str(work / "bank.csv")}
    for split, frame in frames.items():
        out[split] = str(work / f"banking77_faq_{split}.csv")
        pd.DataFrame({"query": frame["text"], "faq_id": frame["label"]}).to_csv(out[split], index=False)
    return out


def prepare_retrieval(work: Path) -> dict:
    from domainfit.config import DataConfig
    from domainfit.tasks.retrieval.data import prepare_pairs
    from domainfit.tasks import make_task

    files = build_retrieval(work)
    data = prepare_pairs(DataConfig(val_size=0.1, seed=42, **files), task=make_task("retrieval"))
    counts = data.report.counts
    return {**files, "rows": {s: counts[s] for s in ("train", "val", "test")}, "labels": data.labels,
            "rejected": counts["rows_rejected"], "rejected_by_reason": counts["rejected_by_reason"],
            "per_label": counts["per_label"]}


def run_retrieval(splits: dict, out: Path) -> dict:
    """One training run; its comparison (model, bm25, backbone on the same test queries) gives the rows."""
    import domainfit

    hp = RETRIEVAL_HP
    t = time.perf_counter()
    model = domainfit.train({
        "task": "retrieval", "method": hp["method"],
        "data": {"train": splits["train"], "test": splits["test"], "answers": splits["answers"], "val_size": 0.1, "seed": 42},
        "model": {"max_length": hp["max_length"]},
        "training": {"epochs": hp["epochs"], "batch_size": hp["batch_size"], "lr": hp["lr"]},
        "baselines": ["bm25", "backbone"], "output": str(out),
    })
    wall = time.perf_counter() - t
    meta, metrics = model.meta, model.metrics
    rows = []
    for row in metrics["comparison"]:
        name = row["name"].replace("baseline: ", "")
        rows.append({**_summary("retrieval", row), "system": "domainfit-full" if name.startswith("domainfit") else name,
                     "fit_s": row.get("train_seconds") or 0.0, "note": row.get("note")})
    rows[0].update({"wall_s": wall, "train_examples_per_s": meta["training"].get("train_examples_per_s"),
                    "steps": meta["training"].get("steps"), "task_state": meta["task_state"],
                    "no_answer": metrics["model"].get("no_answer"), "timings": meta.get("timings")})
    return {"rows": rows}


# ---------------------------------------------------------------- one system, in a subprocess
def run_domainfit(part: str, method: str, splits: dict, out: Path) -> dict:
    import domainfit

    t = time.perf_counter()
    model = domainfit.train({
        "task": part, "method": method,
        "data": {"train": splits["train"], "val": splits["val"], "test": splits["test"]},
        "model": {"max_length": HP["max_length"]},
        "training": {"batch_size": HP["batch_size"], "lr": HP["lr"]},
        "baselines": [],
        "output": str(out),
    })
    wall = time.perf_counter() - t
    meta, m = model.meta, model.metrics["model"]
    return {**_summary(part, m), "wall_s": wall, "fit_s": meta["training"]["seconds"],
            "train_examples_per_s": meta["training"].get("train_examples_per_s"), "best_step": meta["training"].get("best_step"),
            "stopped_early": meta["training"].get("stopped_early"), "task_state": meta["task_state"]}


def run_tfidf(part: str, splits: dict, out: Path) -> dict:
    """The registered TF-IDF baseline of the task; for multilabel also with thresholds tuned on validation like the model's."""
    import pandas as pd

    from domainfit.registry import baselines
    from domainfit.tasks import make_task

    task = make_task(part)
    frames = {s: pd.read_csv(splits[s], dtype=str, keep_default_na=False) for s in ("train", "val", "test")}
    labels = splits["labels"]
    t = time.perf_counter()
    both = pd.concat([frames["val"], frames["test"]])
    scores = baselines.get(BASELINE[part])().fit_predict(frames["train"]["text"].tolist(), frames["train"]["label"].tolist(),
                                                         both["text"].tolist(), labels, seed=42)
    wall = time.perf_counter() - t
    val, test = scores[: len(frames["val"])], scores[len(frames["val"]):]
    result = {**_summary(part, task.metrics(frames["test"]["label"].tolist(), test, labels)), "wall_s": wall, "fit_s": wall}
    if part == "multilabel":
        task.tune(frames["val"]["label"].tolist(), val, labels)
        tuned = task.metrics(frames["test"]["label"].tolist(), test, labels)
        result["tuned_thresholds"] = {k: tuned[k] for k in task.summary_metrics}
    return result | {"train_examples_per_s": None}


def _summary(part: str, metrics: dict) -> dict:
    from domainfit.registry import tasks

    keys = tasks.get(part).summary_metrics
    return {k: metrics.get(k) for k in keys} | ({"per_label": metrics["per_label"]} if "per_label" in metrics else {})


def child(part: str, system: str, splits_json: str, out: str, result_path: str) -> None:
    splits = json.loads(Path(splits_json).read_text())
    if part == "retrieval":
        result = run_retrieval(splits, Path(out))
    elif system == "tfidf":
        result = run_tfidf(part, splits, Path(out))
    else:
        result = run_domainfit(part, system.removeprefix("domainfit-"), splits, Path(out))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    Path(result_path).write_text(json.dumps(result))


# ---------------------------------------------------------------- the driver
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("multilabel", "regression", "retrieval", "ner"))
    ap.add_argument("--systems", default=None, help=f"default: {','.join(SYSTEMS)} (retrieval: domainfit-full, "
                                                   "whose run also scores bm25 and the untouched backbone)")
    ap.add_argument("--child", nargs=5, metavar=("PART", "SYSTEM", "SPLITS", "OUT", "RESULT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.part is None:
        ap.error("--part multilabel|regression|retrieval|ner is required")
    if args.part == "ner":  # its own module: one run on the CoNLL files, the dictionary baseline inside it
        import tasks_ner

        tasks_ner.main()
        return
    if not SHARED.is_dir():
        sys.exit(f"skipped: {SHARED} is absent (the benchmark reads ../shared/datasets beside the project)")

    work = Path(tempfile.mkdtemp(prefix=f"domainfit-bench-{args.part}-"))
    retrieval = args.part == "retrieval"
    if retrieval and not (SHARED / "banking77" / "train.csv").is_file():
        sys.exit(f"skipped: {SHARED / 'banking77'} is absent (the retrieval benchmark builds its FAQ from Banking77)")
    splits = prepare_retrieval(work) if retrieval else prepare(args.part, work)
    (work / "splits.json").write_text(json.dumps(splits))
    systems = args.systems or ("domainfit-full" if retrieval else ",".join(SYSTEMS))
    results = {"part": args.part, "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                              "python": platform.python_version()},
               "hyperparameters": RETRIEVAL_HP if retrieval else HP, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv),
               "data": {k: splits[k] for k in ("rows", "labels", "rejected", "rejected_by_reason", "per_label")}, "runs": []}
    print(f"== {args.part}: {splits['rows']} ({len(splits['labels'])} outputs, {splits['rejected']} rows rejected)", flush=True)
    if retrieval:  # shared machines: how fast this one multiplies matrices now, to read the times by
        results["machine"]["torch_fp32_gflops_before"] = _gflops()
    for system in systems.split(","):
        res_path = work / f"{system}.result.json"
        t = time.perf_counter()
        env = {**_env(), "DOMAINFIT_CACHE": str(work / f"cache-{system}")}  # every system timed cold
        proc = subprocess.run([sys.executable, __file__, "--child", args.part, system, str(work / "splits.json"),
                               str(work / system), str(res_path)], env=env)
        if proc.returncode != 0 or not res_path.is_file():
            print(f"   {system}: FAILED (exit {proc.returncode})", flush=True)
            results["runs"].append({"system": system, "error": f"exit {proc.returncode}"})
            continue
        r = json.loads(res_path.read_text()) | {"system": system, "process_s": round(time.perf_counter() - t, 1)}
        rows = [{**row, "peak_rss_mb": r["peak_rss_mb"]} for row in r["rows"]] if "rows" in r else [r]  # retrieval: 3 rows
        for r in rows:
            results["runs"].append(r)
            shown = "  ".join(f"{k} {r[k]:.4f}" for k in _keys(args.part) if r.get(k) is not None)
            print(f"   {r['system']:15s} {shown}  fit {r['fit_s']:.1f}s  wall {r.get('wall_s') or 0:.1f}s  "
                  f"RSS {r['peak_rss_mb']} MB", flush=True)
        _write(results)
    if retrieval:
        results["machine"]["torch_fp32_gflops_after"] = _gflops()
    _write(results)


def _gflops() -> float:
    from domainfit.compression.bench import matmul_rates

    return round(matmul_rates(2)["torch_fp32"], 1)


def _keys(part: str) -> tuple[str, ...]:
    from domainfit.registry import tasks

    return tasks.get(part).summary_metrics


HOW = {
    "multilabel": "WNUT17 sentences labelled with the entity types they mention (6 labels; sentences without an entity "
                  "left out); official train / dev (validation) / test.",
    "regression": "Financial PhraseBank sentences scored polarity (+1/0/-1) x annotator agreement (1.0 allagree, 0.75, "
                  "0.66, 0.5 from the nested variants), -1 ... +1; 50agree train/test, validation 10% of train.",
    "retrieval": "Banking77 as a FAQ: the 77 intents are the answer bank (answer text = the intent name made readable, e.g. "
                 "'card arrival'); training pairs (train text, its intent), validation 10% of train, queries = the official "
                 "test texts. The bm25 and backbone rows come from the same run, on the same test queries; their no-answer "
                 "thresholds are tuned on the same validation queries by the same rule.",
}


DEFAULTS = {"retrieval": "(domainfit defaults otherwise: in-batch negatives, scale 20, no-answer threshold `auto`). The "
                          "baselines' `fit` is their indexing and scoring time."}


def _write(results: dict) -> None:
    part = results["part"]
    keys = _keys(part)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"tasks_{part}.json").write_text(json.dumps(results, indent=2))
    m = results["machine"]
    lines = [f"# {part} benchmark ({results['started']})", "",
             f"Command: `.venv/bin/python bench/tasks.py --part {part}`. Machine: {m['cpus']} CPU cores, {m['platform']}, "
             f"Python {m['python']}" + (f" (fp32 matrix multiply, 2 threads: {m['torch_fp32_gflops_before']} GFLOP/s before the run, "
                                        f"{m.get('torch_fp32_gflops_after', '—')} after; about 170 on an idle machine)"
                                        if "torch_fp32_gflops_before" in m else "")
             + f". Backbone: bundled all-MiniLM-L6-v2. Hyperparameters: {results['hyperparameters']} "
             + (DEFAULTS.get(part) or "(domainfit defaults otherwise: 4 epochs, early stopping on the task's primary "
                "metric, LP-FT head)."), "",
             f"Data: {HOW[part]} Rows after the data checks: {results['data']['rows']}, rejected "
             f"{results['data']['rejected']} {results['data']['rejected_by_reason'] or ''}.", "",
             "Every system trains on the same rows and is scored on the same test rows. `fit` = training only; `wall` = the "
             "whole call (data, embeddings, training, evaluation).", "",
             "| system | " + " | ".join(keys) + " | fit s | wall s | train ex/s | peak RSS MB |",
             "|---|" + "---|" * (len(keys) + 4)]
    for r in results["runs"]:
        if "error" in r:
            lines.append(f"| {r['system']} | failed: {r['error']} |" + " |" * (len(keys) + 3))
            continue
        cells = [f"{r[k]:.4f}" if r.get(k) is not None else "—" for k in keys]
        wall = f"{r['wall_s']:.1f}" if r.get("wall_s") is not None else "—"
        lines.append(f"| {r['system']} | " + " | ".join(cells) + f" | {r['fit_s']:.1f} | {wall} | "
                     f"{r.get('train_examples_per_s') or '—'} | {r['peak_rss_mb']} |")
        if r.get("tuned_thresholds"):
            t = r["tuned_thresholds"]
            lines.append(f"| {r['system']} (thresholds tuned on validation) | "
                         + " | ".join(f"{t[k]:.4f}" if t.get(k) is not None else "—" for k in keys) + " | | | | |")
    (RESULTS / f"tasks_{part}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
