"""Domain-adaptive pretraining benchmark on waimai_10k (Chinese food-delivery reviews, binary sentiment).

Run by hand (not a test), from a snapshot worktree, with nice:
    nice -n 10 .venv/bin/python bench/pretrain_waimai.py [--labelled 2000 --test 1000 --steps 200 ...]
Writes bench/results/pretrain_waimai.{md,json}.

What it measures, on one labelled sample and one test sample (seed 42):
  1. TF-IDF + logistic regression: characters only; the project's default (regex words + characters); characters +
     jieba words — on the full training set (they are cheap).
  2. plain MiniLM `head` and `full` on the labelled sample.
  3. `domainfit pretrain` on the training texts (labels ignored) for each variant (vocabulary extension off/auto,
     objective), each in its own subprocess (its own peak memory); then `head` and `full` on each pretrained backbone.
Data is read in place from ../shared/datasets (never copied into the project).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, SHARED

DATA = SHARED / "waimai_10k"


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(ROOT / "src")}


def _cli(*args: str) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "domainfit.cli.main", *args], env=_env(), capture_output=True, text=True,
                       check=False)
    if r.returncode:
        raise SystemExit(f"domainfit {' '.join(args)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return time.perf_counter() - t


def samples(work: Path, labelled: int, test: int) -> dict:
    import pandas as pd

    train = pd.read_csv(DATA / "train.csv", dtype=str, keep_default_na=False)
    tst = pd.read_csv(DATA / "test.csv", dtype=str, keep_default_na=False)
    lab = train.sample(n=min(labelled, len(train)), random_state=42)
    tst = tst.sample(n=min(test, len(tst)), random_state=42)
    paths = {"labelled": work / "labelled.csv", "test": work / "test.csv", "texts": work / "texts.csv"}
    lab.to_csv(paths["labelled"], index=False)
    tst.to_csv(paths["test"], index=False)
    train[["text"]].to_csv(paths["texts"], index=False)  # every training text, labels dropped
    return {**{k: str(v) for k, v in paths.items()}, "rows": {"labelled": len(lab), "test": len(tst), "texts": len(train)},
            "train_frame": train, "test_frame": tst}


def tfidf(train, test) -> list[dict]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import FeatureUnion, make_pipeline

    from domainfit.evaluation.baselines import tfidf_features
    from domainfit.evaluation.segment import word_tokens

    def char():
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)

    variants = {
        "tfidf characters (2-5)": lambda: char(),
        "tfidf default (regex words 1-2 + characters 2-5)": lambda: tfidf_features(segment="regex"),
        "tfidf jieba words 1-2 + characters 2-5": lambda: FeatureUnion([
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, tokenizer=word_tokens, token_pattern=None,
                                     lowercase=False)), ("char", char())]),
    }
    rows = []
    for name, make in variants.items():
        t = time.perf_counter()
        pipe = make_pipeline(make(), LogisticRegression(C=10.0, max_iter=2000))
        pipe.fit(train["text"].tolist(), train["label"].tolist())
        pred = pipe.predict(test["text"].tolist())
        rows.append({"system": name, "train_rows": len(train), "accuracy": accuracy_score(test["label"], pred),
                     "macro_f1": f1_score(test["label"], pred, average="macro"), "seconds": time.perf_counter() - t})
    return rows


def finetune(backbone: str | None, method: str, s: dict, out: Path, args) -> dict:
    model = ["--model", backbone] if backbone else []
    wall = _cli("train", s["labelled"], "--test", s["test"], "-o", str(out), "--method", method, *model,
                "--max-length", str(args.max_length), "--batch-size", "32", "--epochs", str(args.epochs),
                "--set", "baselines=[]", "--overwrite")
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["model"]
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "seconds": round(wall, 1)}


def pretrain(name: str, extend: str, objective: str, s: dict, out: Path, args) -> dict:
    wall = _cli("pretrain", s["texts"], "--text", "text", "-o", str(out), "--extend-vocab", extend, "--objective", objective,
                "--steps", str(args.steps), "--batch-size", "32", "--max-length", str(args.max_length), "--lr", str(args.lr),
                "--overwrite", *(["--words"] if args.words else []))
    meta = json.loads((out / "backbone.json").read_text(encoding="utf-8"))
    return {"variant": name, "extend_vocab": extend, "objective": objective, "seconds": round(wall, 1),
            "tokens_added": meta["tokens_added"]["total"], "coverage": meta["coverage"], "heldout": meta["heldout"],
            "steps": meta["steps"], "speed": meta["speed"], "curve": meta["curve"]}


def finetune_each(finetune, methods: list[str], folders: dict, s: dict, work: Path, args, results: list, save) -> None:
    """Each method on the plain backbone and on every pretrained one, a result row saved after each."""
    for method in methods:
        for name, folder in [("MiniLM (plain)", None), *folders.items()]:
            tag = "plain" if folder is None else folder.name
            r = finetune(None if folder is None else str(folder), method, s, work / f"{tag}-{method}", args)
            results.append({"backbone": name, "method": method, **r})
            print(results[-1], flush=True)
            save()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labelled", type=int, default=2000, help="labelled training rows for head/full")
    ap.add_argument("--test", type=int, default=1000, help="test rows scored")
    ap.add_argument("--steps", type=int, default=200, help="pretraining steps (batch 32)")
    ap.add_argument("--epochs", type=float, default=2.0, help="fine-tuning epochs of head/full")
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--words", action="store_true", help="also add jieba words to the vocabulary")
    ap.add_argument("--variants", default="off:mlm,auto:mlm,auto:mlm+simcse",
                    help="pretraining variants, extend:objective, comma-separated")
    ap.add_argument("--methods", default="full,head", help="fine-tuning methods run on each backbone, comma-separated")
    ap.add_argument("--no-full-tfidf", action="store_true", help="skip TF-IDF on the full training set (measured before)")
    ap.add_argument("--tag", default="pretrain_waimai")
    ap.add_argument("--render", action="store_true", help="only rewrite the .md from the committed .json")
    ap.add_argument("--notes", default="", help="a paragraph added to the .md (what was reduced and why)")
    ap.add_argument("--launcher", default="", help="with --render: how the run was launched, for the command line shown")
    args = ap.parse_args()
    if args.render:
        log = json.loads((RESULTS / f"{args.tag}.json").read_text(encoding="utf-8"))
        log["notes"] = args.notes or log.get("notes", "")
        if args.launcher:
            log["args"]["launcher"] = args.launcher
        _write(log, args.tag)
        return

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-pretrain-"))
    s = samples(work, args.labelled, args.test)
    log = {"args": vars(args), "rows": s["rows"], "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
           "timings": {}, "loadavg_start": Path("/proc/loadavg").read_text().strip()}
    t = time.perf_counter()
    lab = s["train_frame"].sample(n=min(args.labelled, len(s["train_frame"])), random_state=42)  # = the labelled sample
    log["tfidf"] = tfidf(lab, s["test_frame"])  # on the full training set at the end
    log["timings"]["tfidf"] = round(time.perf_counter() - t, 1)
    print(json.dumps(log["tfidf"], ensure_ascii=False, indent=1), flush=True)

    results: list[dict] = []
    pretrained: list[dict] = []

    def save() -> None:  # after every stage: a run cut short still leaves what it measured
        _write({**log, "finetune": results, "pretrain": pretrained, "seconds": round(time.perf_counter() - started),
                "loadavg_end": Path("/proc/loadavg").read_text().strip()}, args.tag)

    save()
    folders = {}
    for spec in args.variants.split(","):  # pretraining first: the new measurements, if the machine is slow
        extend, objective = spec.split(":")
        name = f"pretrained ({objective}, vocabulary {extend})"
        folders[name] = work / f"bb-{extend}-{objective.replace('+', '_')}"
        pretrained.append(pretrain(name, extend, objective, s, folders[name], args))
        print({k: v for k, v in pretrained[-1].items() if k != "curve"}, flush=True)
        save()
    finetune_each(finetune, args.methods.split(","), folders, s, work, args, results, save)
    if not args.no_full_tfidf:
        log["tfidf"] += tfidf(s["train_frame"], s["test_frame"])
    save()


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _write(log: dict, tag: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{tag}.json").write_text(json.dumps(log, indent=1, ensure_ascii=False), encoding="utf-8")
    a = log["args"]
    lines = ["# waimai_10k: domain-adaptive pretraining (`domainfit pretrain`)", "",
             (f"Command: `{a.get('launcher', 'nice -n 10 .venv/bin/python')} bench/pretrain_waimai.py --labelled {a['labelled']} "
              f"--test {a['test']} --steps {a['steps']} --epochs {a['epochs']} --max-length {a['max_length']} --lr {a['lr']} "
              f"--variants {a['variants']}{' --words' if a['words'] else ''}"
              f"{' --methods ' + a['methods'] if a.get('methods', 'full,head') != 'full,head' else ''}"
              f"{' --no-full-tfidf' if a.get('no_full_tfidf') else ''}`"), "",
             (f"Rows: {log['rows']['labelled']} labelled training rows (random sample, seed 42) for head/full, "
              f"{log['rows']['test']} test rows (random sample of the 2,395), {log['rows']['texts']} unlabelled training "
              f"texts for pretraining. Machine: {log['machine']}; load average at the start "
              f"`{log.get('loadavg_start', 'not recorded')}`, at the end `{log.get('loadavg_end', 'not recorded')}`."), "",
             "## Fine-tuned models (test accuracy / macro-F1, %)", "",
             "| backbone | method | accuracy | macro-F1 | wall s |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['backbone']} | {r['method']} | {_pct(r['accuracy'])} | {_pct(r['macro_f1'])} | {r['seconds']} |"
              for r in log.get("finetune", [])]
    lines += ["", "## TF-IDF + logistic regression (test accuracy / macro-F1, %)", "",
              "| features | training rows | accuracy | macro-F1 | s |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['system']} | {r['train_rows']} | {_pct(r['accuracy'])} | {_pct(r['macro_f1'])} | {r['seconds']:.1f} |"
              for r in log["tfidf"]]
    lines += ["", "## Pretraining runs", "",
              "| variant | tokens added | [UNK] before → after | tokens/char before → after | held-out MLM loss before → after warm-up → after | steps | tokens/s | peak RSS MiB | wall s |",
              "|---|---:|---|---|---|---:|---:|---:|---:|"]
    for p in log.get("pretrain", []):
        c, h = p["coverage"], p["heldout"]
        warm = h.get("after_warmup") or {}
        lines.append(f"| {p['variant']} | {p['tokens_added']} | {100 * c['before']['unk_share']:.1f}% → "
                     f"{100 * c['after']['unk_share']:.1f}% | {c['before']['tokens_per_char']:.2f} → "
                     f"{c['after']['tokens_per_char']:.2f} | {h['before']['mlm_loss']:.3f} → "
                     f"{warm.get('mlm_loss', float('nan')):.3f} → {h['after']['mlm_loss']:.3f} | "
                     f"{p['steps']['warmup']}+{p['steps']['main']} | {p['speed']['tokens_per_second']:.0f} | "
                     f"{p['speed']['peak_memory_mib']:.0f} | {p['seconds']} |")
    lines += ["", "## MLM loss curve (training loss, EMA, every 20th step; held-out loss where evaluated)", ""]
    for p in log.get("pretrain", []):
        pts = [f"{c['phase'][0]}{c['step']}:{c['loss']:.2f}" + (f"/{c['heldout_mlm_loss']:.2f}" if "heldout_mlm_loss" in c else "")
               for i, c in enumerate(p["curve"]) if c["step"] % 20 == 0 or "heldout_mlm_loss" in c]
        lines.append(f"- {p['variant']}: " + " ".join(pts))
    lines += ["", f"Total wall time: {log.get('seconds', 0)} s. Timings of each step are in the tables (wall s).", ""]
    if log.get("notes"):
        lines += ["## Notes", "", log["notes"], ""]
    (RESULTS / f"{tag}.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
