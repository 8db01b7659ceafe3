"""Out-of-scope benchmark on Banking77: a seeded quarter of the 77 intents held out as unknown (the hard, near case:
other banking questions), train and validate on the rest, test on the full official test set.

Run by hand (not a test):  .venv/bin/python bench/ood_banking77.py [--methods head,full] [--full-epochs 1]
                                                                   [--full-train-fraction 1.0]
Writes bench/results/ood_banking77.{md,json}. Data comes from ../shared/datasets, read in place.

For each method, one bundle is trained with the default `task_options.out_of_scope` (flag, the detector chosen on
validation, no out-of-scope examples, threshold keeping 95% of in-scope validation) and evaluated through
`domainfit.evaluate` on the test set with the held-out intents labelled out_of_scope: that is the default's row. Then
every detector is refitted on the same model's outputs with the same rule (threshold keeping 95% of in-scope
validation) and scored on the same test rows; and the literature's baseline, max softmax with the best threshold
(chosen on the test set itself, an oracle: the threshold maximising overall accuracy with "out of scope" as the
right answer for the held-out intents), in the same run.
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
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, SHARED

HELD_SEED = 77
HELD_SHARE = 0.25
DETECTORS = ("msp", "energy", "mahalanobis", "knn")


def held_out_intents(labels: list[str], seed: int = HELD_SEED) -> list[str]:
    return sorted(random.Random(seed).sample(sorted(labels), round(HELD_SHARE * len(labels))))


def write_inputs(work: Path, train_fraction: float) -> dict:
    train = pd.read_csv(SHARED / "banking77" / "train.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(SHARED / "banking77" / "test.csv", dtype=str, keep_default_na=False)
    held = held_out_intents(sorted(set(train["label"])))
    known = train[~train["label"].isin(held)]
    if train_fraction < 1.0:  # stratified subsample, seeded
        known = known.groupby("label", group_keys=False).sample(frac=train_fraction, random_state=0)
    oos_test = test.assign(label=np.where(test["label"].isin(held), "out_of_scope", test["label"]))
    paths = {"train": work / "train_known.csv", "test_known": work / "test_known.csv", "test_oos": work / "test_oos.csv"}
    known.to_csv(paths["train"], index=False)
    test[~test["label"].isin(held)].to_csv(paths["test_known"], index=False)
    oos_test.to_csv(paths["test_oos"], index=False)
    return {"paths": paths, "held": held, "train_rows": len(known), "test_rows": len(test),
            "test_oos_rows": int(test["label"].isin(held).sum()), "test": oos_test}


def oracle_msp(y: list[str], predicted: list[str], msp: np.ndarray, gold: np.ndarray) -> tuple[float, dict]:
    """The MSP threshold with the best overall accuracy on the test rows themselves (an out-of-scope row is right when
    refused, an in-scope row when predicted right and not refused)."""
    from domainfit.ood.metrics import flag_out_of_scope

    right = np.array([a == b for a, b in zip(y, predicted)]) & ~gold
    best_t, best = 0.0, -1.0
    for t in np.unique(np.quantile(msp, np.linspace(0, 1, 2001))):
        flags = flag_out_of_scope(msp, float(t))
        overall = float(np.mean(np.where(gold, flags, right & ~flags)))
        if overall > best:
            best_t, best = float(t), overall
    return best_t, {"overall_accuracy": best}


def layer_outputs(model, tokenizer, frame: pd.DataFrame, max_len: int) -> dict[str, np.ndarray]:
    """One pass over `frame`: logits, the pooled embedding the head reads, and, for the detector study, the last
    layer's [CLS] state and mean and the penultimate layer's mean (rows in `frame`'s order)."""
    import torch

    from domainfit.backbones.encoder import collate, pool, tokenize

    ids = tokenize(tokenizer, frame["text"].tolist(), max_len)
    order = np.argsort([len(x) for x in ids], kind="stable")
    parts: dict[str, list] = {"logits": [], "pooled": [], "cls_last": [], "mean_last": [], "mean_penult": []}
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), 128):
            batch = collate([ids[i] for i in order[start:start + 128]], tokenizer.pad_token_id or 0)
            out = model.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
            mask = batch["attention_mask"]
            pooled = pool(out.last_hidden_state, mask, model.pooling, model.normalize)
            parts["logits"].append(model.head(pooled))
            parts["pooled"].append(pooled)
            parts["cls_last"].append(out.last_hidden_state[:, 0])
            parts["mean_last"].append(pool(out.last_hidden_state, mask, "mean", False))
            parts["mean_penult"].append(pool(out.hidden_states[-2], mask, "mean", False))
    back = np.argsort(order)
    return {k: torch.cat(v).float().numpy()[back] for k, v in parts.items()}


def all_outputs(method: str, bundle, test: pd.DataFrame, out: Path, keep: Path | None,
                train_rows: int | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Every split's layer outputs and label indices (-1: an unknown intent); kept as .npz under `keep` (for
    bench/ood_detector_study.py) when given. `train_rows`: a seeded sample of the training split, at most that many."""
    model, tokenizer = bundle.load_model()
    index = {label: i for i, label in enumerate(bundle.labels)}
    frames = {s: pd.read_csv(out / "data" / f"{s}.csv", dtype=str, keep_default_na=False) for s in ("train", "val")}
    if train_rows is not None and len(frames["train"]) > train_rows:
        frames["train"] = frames["train"].sample(n=train_rows, random_state=0)
    frames["test"] = test
    result = {}
    for split, frame in frames.items():
        arrays = layer_outputs(model, tokenizer, frame, bundle.meta.model.max_length)
        arrays["y"] = np.array([index.get(str(v), -1) for v in frame["label"]], dtype=np.int64)
        result[split] = arrays
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            np.savez(keep / f"{method}-{split}.npz", **arrays)
    if keep is not None:
        (keep / f"{method}-labels.json").write_text(json.dumps(bundle.labels), encoding="utf-8")
    return result


def run_method(method: str, inputs: dict, work: Path, *, full_epochs: float, keep: Path | None = None,
               fit_rows: int | None = None, through_evaluate: bool = True) -> dict:
    import domainfit
    from domainfit.bundle import load_bundle
    from domainfit.ood import OutOfScopeOptions
    from domainfit.ood.detectors import make_detector
    from domainfit.ood.fit import Outputs, fit_out_of_scope
    from domainfit.ood.metrics import flag_out_of_scope, ood_metrics

    out = work / f"bundle-{method}"
    training = {"batch_size": 32, "lr": 1e-4, **({"epochs": full_epochs} if method == "full" else {})}
    t = time.perf_counter()
    options = {"out_of_scope": {"max_fit_rows": fit_rows}} if fit_rows else {}
    domainfit.train({"method": method, "data": {"train": str(inputs["paths"]["train"]), "test": str(inputs["paths"]["test_known"])},
                     "model": {"max_length": 64}, "training": training, "baselines": [], "task_options": options,
                     "output": str(out)})
    train_s = time.perf_counter() - t
    keys = ("in_scope_accuracy", "in_scope_accuracy_plain", "refused_in_scope", "oos_recall", "oos_precision", "auroc", "fpr_at_95")
    eval_s, default = None, None
    if through_evaluate:
        t = time.perf_counter()
        evaluated = domainfit.evaluate(out, inputs["paths"]["test_oos"], out_dir=work / f"eval-{method}", baselines=[])
        eval_s = time.perf_counter() - t
        default = evaluated["model"]["out_of_scope"]
    bundle = load_bundle(out)
    state = bundle.meta.task_state["out_of_scope"]

    # every detector, refitted on this model's outputs with the default rule, on the same test rows
    labels = bundle.labels
    test = inputs["test"].copy()
    t = time.perf_counter()
    arrays = all_outputs(method, bundle, test, out, keep, train_rows=fit_rows)
    train_out, val_out, test_out = (Outputs(arrays[s]["logits"], arrays[s]["pooled"], arrays[s]["y"])
                                    for s in ("train", "val", "test"))
    outputs_s = time.perf_counter() - t
    gold = (test["label"] == "out_of_scope").to_numpy()
    y = test["label"].tolist()
    predicted = [labels[i] for i in test_out.logits.argmax(1)]
    if default is None:  # the bundle's own fitted detector and threshold on the same test outputs (evaluate's arithmetic)
        from domainfit.ood.fit import load_detector

        own = load_detector(state, bundle.file(state["file"], key="ood") if state.get("file") else None)
        score = own.score(test_out.logits, test_out.embeddings)
        default = ood_metrics(y, predicted, score, flag_out_of_scope(score, state["threshold"]), gold)
    rows = {"default (auto)": {**{k: default[k] for k in keys}, "detector": state["detector"], "threshold": state["threshold"]}}
    for name in DETECTORS:
        fitted, tensors = fit_out_of_scope(OutOfScopeOptions(detector=name), labels, train_out, val_out)
        detector = make_detector(name).rebuild(tensors, fitted["params"]) if tensors else make_detector(name)
        score = detector.score(test_out.logits, test_out.embeddings)
        m = ood_metrics(y, predicted, score, flag_out_of_scope(score, fitted["threshold"]), gold)
        rows[name] = {**{k: m[k] for k in rows["default (auto)"] if k in m}, "detector": name, "threshold": fitted["threshold"]}
    msp = make_detector("msp").score(test_out.logits, None)
    t_best, extra = oracle_msp(y, predicted, msp, gold)
    m = ood_metrics(y, predicted, msp, flag_out_of_scope(msp, t_best), gold)
    rows["msp, best threshold (oracle on test)"] = {**{k: m[k] for k in rows["default (auto)"] if k in m}, "detector": "msp",
                                                     "threshold": t_best, **extra}
    return {"method": method, "train_s": round(train_s, 1), "evaluate_s": None if eval_s is None else round(eval_s, 1),
            "outputs_s": round(outputs_s, 1), "ood_step": {k: state.get(k) for k in ("seconds", "reused", "fit_rows")},
            "chosen": state["detector"], "chosen_by": state["chosen_by"], "selection_auroc": state["selection_auroc"],
            "accuracy_in_scope_test": bundle.read_json("metrics.json")["model"]["accuracy"],
            "training": {k: bundle.meta.training.get(k) for k in ("seconds", "steps", "best_step", "stopped_early")},
            "rows": rows}


def _fixed(x) -> str:
    return "—" if x is None else f"{x:.4f}"


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f}"


def write_results(results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ood_banking77.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    lines = [f"# Out-of-scope detection on Banking77 ({results['date']})", "",
             f"Machine: {results['machine']}. Backbone: bundled all-MiniLM-L6-v2, max length 64. "
             f"Held out as unknown: {len(results['held'])} of 77 intents (seed {HELD_SEED}); train on the other "
             f"{77 - len(results['held'])} (rows per method below, 10% carved for validation), test on the full "
             f"official test set ({results['test_rows']} rows, {results['test_oos_rows']} of them unknown intents).", "",
             "in-scope acc counts a refusal as an error; `plain` is the same model's in-scope accuracy with no refusal; "
             "recall/precision/AUROC/FPR@95 are for the unknown intents (FPR@95: the share of unknown-intent messages "
             "accepted at the threshold that keeps 95% of in-scope test messages).", "",
             "| method | detector | in-scope acc | plain | cost (points) | refused in-scope | OOS recall | OOS precision | AUROC | FPR@95 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["methods"]:
        for name, row in r["rows"].items():
            cost = (100 * (row["in_scope_accuracy_plain"] - row["in_scope_accuracy"])) if row.get("in_scope_accuracy") is not None else None
            label = f"{name} → {row['detector']}" if name.startswith("default") else name
            lines.append(f"| {r['method']} | {label} | {_pct(row['in_scope_accuracy'])} | {_pct(row['in_scope_accuracy_plain'])} | "
                         f"{'—' if cost is None else f'{cost:.2f}'} | {_pct(row['refused_in_scope'])} | {_pct(row['oos_recall'])} | "
                         f"{_pct(row['oos_precision'])} | {_fixed(row['auroc'])} | "
                         f"{_pct(row['fpr_at_95'])} |")
    lines += ["", f"Timings (seconds; load average at the start {results.get('loadavg_start', 'not recorded')}, at the end "
              f"{results.get('loadavg_end', 'not recorded')}):", "",
              "| method | train rows | epochs | train (incl. detector fit) | evaluate | outputs for the per-detector refits | "
              "chosen detector | selection AUROC on validation (simulated unknowns) |", "|---|---|---|---|---|---|---|---|"]
    for r in results["methods"]:
        sel = ", ".join(f"{k} {v:.3f}" for k, v in r["selection_auroc"].items() if v is not None)
        epochs = r.get("args", {}).get("full_epochs", "—") if r["method"] == "full" else "—"
        evaluate = "—" if r["evaluate_s"] is None else r["evaluate_s"]
        lines.append(f"| {r['method']} | {r.get('train_rows')} | {epochs} | {r['train_s']} | {evaluate} | {r['outputs_s']} | "
                     f"{r['chosen']} | {sel} |")
    lines += ["", f"Command: `{results['command']}`", "", "## Notes", "", *results.get("notes", [])]
    (RESULTS / "ood_banking77.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="head,full")
    ap.add_argument("--full-epochs", type=float, default=1.0)
    ap.add_argument("--full-train-fraction", type=float, default=1.0)
    ap.add_argument("--keep", type=Path, default=None, help="a folder to keep the bundles and every split's layer "
                    "outputs in (for bench/ood_detector_study.py); default: a temporary folder")
    ap.add_argument("--fit-rows", type=int, default=None, help="task_options.out_of_scope.max_fit_rows, and the "
                    "training rows (a seeded sample) the per-detector refits read")
    ap.add_argument("--no-evaluate", action="store_true", help="the default's row from the bundle's own detector on the "
                    "test outputs instead of a second test pass through domainfit.evaluate (a slot's time)")
    ap.add_argument("--append", action="store_true", help="add to bench/results/ood_banking77.json instead of replacing it")
    args = ap.parse_args()
    command = "python bench/ood_banking77.py " + " ".join(sys.argv[1:])
    results = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": command,
               "machine": f"{platform.platform()}, Python {platform.python_version()}", "methods": [],
               "args": vars(args), "loadavg_start": Path("/proc/loadavg").read_text().strip()}
    if args.append and (RESULTS / "ood_banking77.json").is_file():
        results = json.loads((RESULTS / "ood_banking77.json").read_text(encoding="utf-8"))
        results["command"] = f"{results['command']}; then {command}"
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for method in args.methods.split(","):
            fraction = args.full_train_fraction if method == "full" else 1.0
            inputs = write_inputs(work, fraction)
            results.update(held=inputs["held"], train_rows=inputs["train_rows"], test_rows=inputs["test_rows"],
                           test_oos_rows=inputs["test_oos_rows"])
            result = run_method(method, inputs, work, full_epochs=args.full_epochs, keep=args.keep, fit_rows=args.fit_rows,
                                through_evaluate=not args.no_evaluate)
            result["train_rows"] = inputs["train_rows"]
            result["args"] = {"full_epochs": args.full_epochs, "train_fraction": fraction} if method == "full" else {}
            results["methods"].append(result)
            print(json.dumps(result["rows"], indent=1), flush=True)
            results["loadavg_end"] = Path("/proc/loadavg").read_text().strip()
            write_results(results)


if __name__ == "__main__":
    main()
