"""Better `lora` defaults, chosen by a short study and checked on data not used to choose them, in one run.

    select  `domainfit.tune` of `lora` on Financial PhraseBank allagree (--per-class training rows per class, its own
            validation rows; a small test file only so that each trial's bundle is complete): learning rate, head
            learning-rate scale, rank, alpha (epochs stay at the global 4: a training-wide setting). The best trial's
            values, rounded (lr and head_lr_scale to one significant digit), are the candidate defaults.
    eval    on held-out data, each trained once at the same seed: `full` at its defaults, `lora` with the OLD
            defaults given explicitly (lr 1e-3, head_lr_scale 1, r 8, alpha 16) and `lora` with the candidate values
            given explicitly: Financial PhraseBank 50agree sentences that are NOT in allagree (train subsample, their
            test rows) and Banking77 at 10 examples per class (test: 20 per class of the official test).

`phase all` does both (what bench/results/lora_defaults.{json,md} hold); `eval --new '{"training.lr": ...}'` re-checks
given values. The code's defaults are then set to the candidate values (methods/lora.py), pinned by a unit test.

    PYTHONPATH=src benchslot timeout 1400 .venv/bin/python bench/lora_defaults.py all --trials 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, SHARED, prepare_splits

SPACE = """\
training.lr: {type: float, low: 3.0e-4, high: 1.0e-2, log: true}
method_options.head_lr_scale: {type: float, low: 1.0, high: 20.0, log: true}
method_options.r: {type: categorical, choices: [8, 16, 32]}
method_options.alpha: {type: categorical, choices: [16, 32, 64]}
"""
OLD = {"training.lr": 1e-3, "method_options.head_lr_scale": 1.0, "method_options.r": 8, "method_options.alpha": 16}


def candidate(params: dict) -> dict:
    """The best trial's values, rounded to what a default reads like (one significant digit)."""
    return {k: float(f"{v:.1g}") if isinstance(v, float) else v for k, v in params.items()}


def _load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def _per_class(frame: pd.DataFrame, k: int, seed: int = 0) -> pd.DataFrame:
    return frame.sample(frac=1.0, random_state=seed).groupby("label").head(k).sample(frac=1.0, random_state=seed)


def _rows(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    if n >= len(frame):
        return frame
    return frame.groupby("label").sample(frac=n / len(frame), random_state=seed).sample(frac=1.0, random_state=seed)


def _config(method: str, files: dict, out: Path, values: dict | None = None) -> dict:
    from domainfit.config.load import set_dotted

    tree = {"method": method, "data": {**files, "min_per_class": 1}, "model": {"max_length": 64}, "baselines": [],
            "output": str(out), "training": {"seed": 42}}
    for key, value in (values or {}).items():
        set_dotted(tree, key, value)
    return tree


def select(args, work: Path) -> dict:
    import domainfit

    splits = prepare_splits("fpb_allagree", work)
    train = _per_class(pd.read_csv(splits["train"], dtype=str, keep_default_na=False), args.per_class)
    val = pd.read_csv(splits["val"], dtype=str, keep_default_na=False)
    test = _per_class(pd.read_csv(splits["test"], dtype=str, keep_default_na=False), 10)  # only to complete bundles
    files = {}
    for name, frame in (("train", train), ("val", val), ("test", test)):
        frame.to_csv(work / f"sel_{name}.csv", index=False)
        files[name] = str(work / f"sel_{name}.csv")
    (work / "space.yaml").write_text(SPACE)
    t = time.perf_counter()
    summary = domainfit.api.tune(_config("lora", files, work / "sel"), trials=args.trials, space=work / "space.yaml",
                                 timeout=args.timeout)
    return {"rows": {"train": len(train), "val": len(val), "test": len(test)}, "wall_s": round(time.perf_counter() - t, 1),
            "summary": summary}


def _heldout(work: Path, which: list[str], train_rows: int) -> dict[str, dict]:
    fpb = SHARED / "financial_phrasebank"
    seen = set(pd.concat([pd.read_csv(fpb / "allagree" / f"{s}.csv", dtype=str, keep_default_na=False)
                          for s in ("train", "test")])["text"])
    sets = {}
    f50 = prepare_splits("fpb_50agree", work)
    frames = {s: pd.read_csv(f50[s], dtype=str, keep_default_na=False) for s in ("train", "val", "test")}
    frames = {s: f[~f["text"].isin(seen)] for s, f in frames.items()}  # no sentence the study saw, or could have
    sets["fpb_50agree_not_allagree"] = {"train": _rows(frames["train"], train_rows), "val": _rows(frames["val"], 100),
                                        "test": frames["test"]}
    if "banking77" in which:
        b77 = prepare_splits("banking77", work)
        frames = {s: pd.read_csv(b77[s], dtype=str, keep_default_na=False) for s in ("train", "val", "test")}
        sets["banking77_10_per_class"] = {"train": _per_class(frames["train"], 10), "val": _per_class(frames["val"], 4),
                                          "test": _per_class(frames["test"], 20)}
    out = {}
    for name, parts in sets.items():
        out[name] = {}
        for split, frame in parts.items():
            path = work / f"{name}_{split}_ho.csv"
            frame.to_csv(path, index=False)
            out[name][split] = str(path)
        out[name]["rows"] = {s: len(f) for s, f in parts.items()}
    return out


def evaluate(args, work: Path, new: dict) -> dict:
    import domainfit

    runs = []
    for dataset, files in _heldout(work, args.heldout.split(","), args.eval_train_rows).items():
        rows = files.pop("rows")
        for label, method, values in (("full (defaults)", "full", None), ("lora, old defaults", "lora", OLD),
                                      ("lora, candidate defaults", "lora", new)):
            out = work / f"{dataset}-{method}-{len(runs)}"
            t = time.perf_counter()
            domainfit.api.train(_config(method, files, out, values), overwrite=True)
            wall = time.perf_counter() - t
            metrics = json.loads((out / "metrics.json").read_text())["model"]
            meta = json.loads((out / "domainfit.json").read_text())
            cfg = meta["config"]
            runs.append({"dataset": dataset, "system": label, "rows": rows, "accuracy": metrics["accuracy"],
                         "macro_f1": metrics["macro_f1"], "wall_s": round(wall, 1),
                         "settings": {"lr": cfg["training"]["lr"], "epochs": cfg["training"]["epochs"],
                                      **{k: cfg["method_options"].get(k) for k in ("r", "alpha", "head_lr_scale")}}})
            print(json.dumps(runs[-1]), flush=True)
    return {"candidate": new, "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["all", "select", "eval"])
    ap.add_argument("--new", default=None, help="eval: the candidate values as JSON")
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--per-class", type=int, default=32)
    ap.add_argument("--timeout", type=float, default=None, help="select: stop starting trials after this many seconds")
    ap.add_argument("--heldout", default="fpb,banking77", help="eval: fpb and/or banking77")
    ap.add_argument("--eval-train-rows", type=int, default=400, help="eval: FPB training rows")
    args = ap.parse_args()
    load_start = _load()
    body: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.phase in ("all", "select"):
            body["select"] = select(args, Path(tmp))
            print(json.dumps({"best": body["select"]["summary"]["best"]}, default=str), flush=True)
        if args.phase in ("all", "eval"):
            new = json.loads(args.new) if args.new else candidate(body["select"]["summary"]["best"]["params"])
            body["eval"] = evaluate(args, Path(tmp), new)
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "args": vars(args),
              "loadavg_start": load_start, "loadavg_end": _load(), "single_threaded": True,
              "started": time.strftime("%Y-%m-%d %H:%M:%S"), **body}
    name = "lora_defaults" if args.phase == "all" else f"lora_defaults_{args.phase}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    if "select" in body:
        s = body["select"]["summary"]
        print("| trial | val macro-F1 | values |\n|---|---|---|")
        for t in s["trials"]:
            print(f"| {t['number']}{' = defaults' if t['defaults'] else ''} | {t['value'] if t['value'] is None else round(t['value'], 4)} | {t['params']} |")
        print(f"best {s['best']}; importances {s['importances']}; wall {body['select']['wall_s']} s")
    if "eval" in body:
        print("| dataset | system | accuracy | macro-F1 | wall s | settings |\n|---|---|---|---|---|---|")
        for r in body["eval"]["runs"]:
            print(f"| {r['dataset']} | {r['system']} | {r['accuracy']:.2%} | {r['macro_f1']:.4f} | {r['wall_s']} | {r['settings']} |")
    print(f"load average: start {load_start}; end {result['loadavg_end']}")


if __name__ == "__main__":
    main()
