"""What the benchmarks share: where the data is, and train/val/test splits made once with domainfit's data layer."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "bench" / "results"
DATASETS = {
    "banking77": ("banking77/train.csv", "banking77/test.csv"),
    "fpb_allagree": ("financial_phrasebank/allagree/train.csv", "financial_phrasebank/allagree/test.csv"),
    "fpb_50agree": ("financial_phrasebank/50agree/train.csv", "financial_phrasebank/50agree/test.csv"),
}


def prepare_splits(name: str, workdir: Path) -> dict:
    """train/val/test CSVs (text,label) for one dataset: validation carved from train (10%, stratified, seed 42);
    the official test file is scored as given."""
    import pandas as pd

    from domainfit.config import DataConfig
    from domainfit.data import prepare_data

    train, test = (SHARED / p for p in DATASETS[name])
    data = prepare_data(DataConfig(train=train, test=test, val_size=0.1, seed=42))
    paths = {}
    for split in ("train", "val", "test"):
        p = workdir / f"{name}_{split}.csv"
        getattr(data, split)[["text", "label"]].to_csv(p, index=False)
        paths[split] = str(p)
    raw_test = pd.read_csv(test, dtype=str, keep_default_na=False)
    return {**paths, "rows": {s: len(getattr(data, s)) for s in ("train", "val", "test")}, "official_test_rows": len(raw_test),
            "labels": len(data.labels), "rejected": data.report.counts["rows_rejected"]}
