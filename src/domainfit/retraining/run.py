"""`domainfit retrain`: a challenger trained on new rows plus a replay of the champion's training rows, scored
against the champion on the old test rows and on new ones, promoted in the registry only when it wins.

The challenger is trained the way the champion was (its saved, resolved configuration: backbone, method and its
options, training settings, cleaning and redaction), from the backbone, on

    train = replay of the champion's training rows (all by default) + the new rows' training share
    val   = the champion's validation rows + the new rows' validation share
    test  = the champion's test rows + the new rows' test share (or --new-test)

Replaying the old rows is what keeps it from forgetting: a model trained on the corrections alone knows only them
(`bench/retrain.py` measures both). Classification only for now.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from domainfit.bundle import load_bundle, write_json
from domainfit.config.load import load_config
from domainfit.config.schema import DataConfig
from domainfit.data import prepare_data, read_table
from domainfit.errors import BundleError, DataError, DomainfitError
from domainfit.i18n import _
from domainfit.model_registry import ModelRegistry
from domainfit.predict import Predictor
from domainfit.retraining.gate import Gate, decide, label_scores
from domainfit.tasks.skeleton import run_training

__all__ = ["retrain", "replay_rows"]

SPLITS = ("train", "val", "test")


def replay_rows(old: pd.DataFrame, replay: str | float | int, seed: int = 42) -> pd.DataFrame:
    """The champion's training rows to train on again: "all", a share (0.5), or a number of rows (2000), sampled
    in proportion to each label (every label keeps at least one row)."""
    if replay in ("all", None) or (isinstance(replay, (int, float)) and not isinstance(replay, bool) and replay >= len(old)):
        return old
    value = float(replay)
    if value <= 0:
        return old.iloc[0:0]
    share = value if value <= 1 else value / len(old)
    picked = [g.sample(n=max(1, round(len(g) * share)), random_state=seed)
              for _label, g in old.groupby("label", sort=True)]
    return pd.concat(picked).sort_index().reset_index(drop=True)


def _parse_replay(value: str | float | int) -> str | float | int:
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip().lower()
    if text == "all":
        return "all"
    try:
        number = float(text)
    except ValueError:
        raise DataError(_("--replay {value} is not all, a share or a number of rows").format(value=repr(value)),
                        where="--replay",
                        hint=_("e.g. --replay all, --replay 0.5 (half of the old rows), --replay 2000, "
                               "--replay 0 (none)")) from None
    if number < 0:
        raise DataError(_("--replay {value} is negative").format(value=repr(value)), where="--replay",
                        hint=_("use 0 for no replay"))
    return int(number) if number > 1 else number


def _columns(path: Path, text_column: str | None, label_column: str | None) -> tuple[str | None, str | None]:
    """A corrections export has text and label beside predicted, score, ...: take those two when present."""
    if text_column and label_column:
        return text_column, label_column
    columns = set(read_table(path, bad_rows="reject").frame.columns)  # only the header matters here
    return (text_column or ("text" if "text" in columns else None), label_column or ("label" if "label" in columns else None))


def _predict_labels(bundle_path: Path, texts: list[str]) -> list[str | None]:
    if not texts:
        return []
    return [p["label"] for p in Predictor.from_bundle(bundle_path).predict(texts)]


def retrain(bundle_path: str | Path, new_data: str | Path, *, output: str | Path | None = None, replay="all",
            new_test: str | Path | None = None, new_test_size: float = 0.3, gate: Gate = Gate(),
            text_column: str | None = None, label_column: str | None = None, overrides=(), promote: str | None = None,
            alias: str = "champion", registry: str | None = None, reporter=None) -> dict:
    """Train a challenger (see the module doc), score both models, decide, and (with `promote`, a registry model
    name) push the challenger and move `alias` to it when it wins. Returns the report, also written as
    `retrain.json` in the challenger's bundle."""
    champion = load_bundle(bundle_path)
    if getattr(champion.make_task(), "targets", None) != "label":  # the gate compares accuracy and macro-F1 of labels
        raise DomainfitError(_("retrain supports bundles with one label per text (classification); "
                               "this one is {task}").format(task=repr(champion.task)), where=str(champion.path),
                             hint=_("train a new bundle on the old data plus the new rows with `domainfit train`, "
                                    "then compare"))
    old = {s: champion.path / "data" / f"{s}.csv" for s in SPLITS}
    missing = [str(p) for p in old.values() if not p.is_file()]
    if missing:
        raise BundleError(_("the bundle lacks its saved splits ({files})").format(files=", ".join(missing)),
                          where=str(champion.path),
                          hint=_("retrain needs the rows the champion was trained and tested on: "
                                 "retrain from the original data with `domainfit train`"))
    replay = _parse_replay(replay)
    if gate.metric not in ("accuracy", "macro_f1"):
        raise DataError(_("unknown gate metric {metric}").format(metric=repr(gate.metric)), where="--metric",
                        hint=_("use accuracy or macro_f1"))
    started = time.perf_counter()
    cfg0 = champion.meta.config
    out = Path(output) if output else champion.path.with_name(f"{champion.path.name}-retrained-{time.strftime('%Y%m%d-%H%M%S')}")
    tcol, lcol = _columns(Path(new_data), text_column, label_column)
    data_cfg = {k: v for k, v in cfg0["data"].items() if k in ("normalize", "redact", "seed")}
    new = prepare_data(DataConfig(train=new_data, test=new_test, text_column=tcol, label_column=lcol, min_per_class=1,
                                  test_size=new_test_size, val_size=0.1, **data_cfg))
    frames = {s: pd.read_csv(p, dtype=str, keep_default_na=False)[["text", "label"]] for s, p in old.items()}
    replayed = replay_rows(frames["train"], replay, seed=int(data_cfg.get("seed", 42)))
    parts = {"train": [replayed, new.train], "val": [frames["val"], new.val], "test": [frames["test"], new.test]}
    folder = out.parent / f"{out.name}-data"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, frames_of in parts.items():
        files[split] = folder / f"{split}.csv"
        pd.concat([f[["text", "label"]] for f in frames_of], ignore_index=True).to_csv(files[split], index=False)
    values = {"data.train": str(files["train"]), "data.val": str(files["val"]), "data.test": str(files["test"]),
              "data.text_column": "text", "data.label_column": "label", "data.encoding": None, "data.delimiter": None,
              "data.sheet": None, "data.min_per_class": 1, "output": str(out)}
    cfg = load_config({k: v for k, v in cfg0.items() if k != "output"}, values=values, overrides=overrides)
    challenger = run_training(cfg, reporter=reporter)

    old_test, new_test_rows = frames["test"], new.test
    scores = {}
    for name, path in (("champion", champion.path), ("challenger", challenger)):
        scores[name] = {"old": label_scores(old_test["label"], _predict_labels(path, old_test["text"].tolist())),
                        "new": label_scores(new_test_rows["label"], _predict_labels(path, new_test_rows["text"].tolist()))}
    decision = decide(scores["champion"], scores["challenger"], gate)
    report = {
        "champion": str(champion.path), "challenger": str(challenger), "new_data": str(new_data), "gate": gate.to_dict(),
        "rows": {"replayed": len(replayed), "old_train": len(frames["train"]), "new_train": len(new.train), "new_val": len(new.val),
                 "new_test": len(new.test), "new_rejected": len(new.rejects), "old_test": len(old_test)},
        "new_labels": sorted(set(new.labels) - set(champion.labels)), "scores": scores, "decision": decision,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if promote and decision["promote"]:
        reg = ModelRegistry(registry)
        pushed = reg.push(challenger, promote, description=f"retrained from {champion.path.name} on {Path(new_data).name}")
        report["registry"] = {"pushed": pushed, "promoted": reg.promote(promote, pushed["version"], alias)}
    write_json(Path(challenger) / "retrain.json", report)
    return report
