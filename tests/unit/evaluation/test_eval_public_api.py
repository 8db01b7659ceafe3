"""The public surface of domainfit.evaluation: every name in __all__ resolves, and importing it stays cheap."""

import subprocess
import sys

import domainfit.evaluation as evaluate


def test_all_names_resolve():
    for name in evaluate.__all__:
        assert getattr(evaluate, name) is not None


def test_listing_baselines_does_not_import_matplotlib_or_sklearn():
    code = ("import sys; from domainfit.registry import baselines; baselines.names(); "
            "print('matplotlib' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
