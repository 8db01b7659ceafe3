"""Fixtures of the monitor's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.watch.streams import write_yaml


@pytest.fixture()
def watch_yaml(tmp_path, tiny_bundle) -> Path:
    return write_yaml(tmp_path, tiny_bundle)
