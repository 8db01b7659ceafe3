"""The layer contract (pyproject.toml, [tool.importlinter]) holds: imports go downward only, each task is a leaf, no
subpackages import each other in a circle. import-linter reads the real import graph (grimp), function-level imports
included, so an upward import anywhere fails the build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "3 kept, 0 broken" in r.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contract is not vacuous: a copy of the package where the data layer imports the server fails it."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "domainfit", copy / "domainfit", ignore=shutil.ignore_patterns("__pycache__"))
    clean = copy / "domainfit" / "data" / "clean.py"
    clean.write_text(clean.read_text(encoding="utf-8") + "\nfrom domainfit.serving import app as _up  # noqa\n", encoding="utf-8")
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], capture_output=True, text=True,
                       cwd=tmp_path, env={"PYTHONPATH": str(copy), "PATH": ""}, timeout=300)
    assert r.returncode != 0 and "domainfit.data is not allowed to import domainfit.serving" in r.stdout, r.stdout[-3000:]
