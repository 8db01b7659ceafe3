"""Benchmark check: the tfidf baseline reaches the reference accuracy on Banking77 (../shared/REFERENCE.md: 91.33%)."""

import pathlib
import time

import pytest

from domainfit.evaluation import classification_metrics
from domainfit.registry import baselines

# the checkout sits beside ../shared (as /work/main and /work/shared do)
DATA = pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "banking77"


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "train.csv").exists(), reason=f"Banking77 not found at {DATA}: benchmark skipped")
def test_tfidf_banking77_accuracy():
    pd = pytest.importorskip("pandas")
    # pandas, not line splitting: a few texts hold newlines inside quotes
    train, test = pd.read_csv(DATA / "train.csv"), pd.read_csv(DATA / "test.csv")
    labels = sorted(train["label"].unique())
    start = time.perf_counter()
    proba = baselines.get("tfidf")().fit_predict(train["text"].tolist(), train["label"].tolist(),
                                                 test["text"].tolist(), labels)
    seconds = time.perf_counter() - start
    metrics = classification_metrics(test["label"].tolist(), proba, labels)
    print(f"\nBanking77 tfidf: accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f}, {seconds:.1f} s")
    assert metrics["accuracy"] >= 0.90
