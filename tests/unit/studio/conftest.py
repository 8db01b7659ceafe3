"""Studio fixtures: a working folder holding the demo CSV, and a helper to wait on a job."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_rows, write_csv


@pytest.fixture()
def workdir(tmp_path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(ROOT / "examples" / "bank_support" / "messy.csv", folder / "messy.csv")
    write_csv(folder / "tickets.csv", make_rows(30, seed=4))
    return folder
