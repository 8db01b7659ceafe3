"""Optional: the real benchmark files in ../shared/datasets, when this checkout has them."""

from __future__ import annotations

from pathlib import Path

import pytest

from domainfit.config.schema import DataConfig
from domainfit.data import prepare_data

DATASETS = Path(__file__).resolve().parents[4] / "shared" / "datasets"


@pytest.mark.skipif(not (DATASETS / "banking77" / "train.csv").exists(), reason=f"no shared datasets at {DATASETS} (optional real-data check)")
def test_banking77_reads_with_quoted_newlines_and_finds_whitespace_only_leakage():
    out = prepare_data(DataConfig(train=DATASETS / "banking77" / "train.csv", test=DATASETS / "banking77" / "test.csv"))
    c = out.report.counts
    assert (c["rows_in"], len(out.labels)) == (13083, 77)
    assert c["rows_in"] == c["rows_kept"] + c["rows_rejected"]
    # MANIFEST: no text is in both files byte for byte; after whitespace normalisation 7 train texts are also in
    # test, and 4 train rows + 1 test row repeat an earlier row of their file. The test file is scored as given
    # (its official 3,080 rows): its repeat is only a warning.
    assert c["rejected_by_reason"] == {"duplicate": 4, "leakage": 7}
    assert [(f["rows"], f["rows_rejected"]) for f in out.report.files] == [(10003, 11), (3080, 0)]
    assert len(out.test) == 3080
    assert any(i.code == "duplicate" and i.severity == "warning" for i in out.report.issues)
    assert (out.train["text"].str.contains("\n")).sum() == 0  # the quoted newlines were normalised away
