"""A third-party package adds components through the `domainfit.plugins` entry-point group, without editing
domainfit: its module is imported on a registry's first use and registers what it brings."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint

import pytest

from domainfit import registry
from domainfit.errors import RegistryError

PLUGIN = '''
from domainfit.registry import baselines


@baselines.register("echo_plugin")
class EchoBaseline:
    """Predicts the first label for every text (a plug-in's baseline)."""

    description = "a plug-in's baseline"
    tasks = frozenset({"label"})
    needs_encoder = False
    needs_training_data = False
'''


@pytest.fixture()
def fresh_registry(monkeypatch):
    """A baselines registry that has not filled itself yet, and plug-ins not loaded yet."""
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    reg = registry.Registry("baseline")  # no providers: what is in it came from the plug-in
    monkeypatch.setattr(registry, "baselines", reg)
    yield reg
    sys.modules.pop("my_domainfit_plugin", None)


def test_a_plugin_module_registers_its_component_on_first_use(fresh_registry, tmp_path, monkeypatch):
    (tmp_path / "my_domainfit_plugin.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = EntryPoint(name="mine", value="my_domainfit_plugin", group=registry.PLUGIN_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep] if group == registry.PLUGIN_GROUP else [])
    assert "my_domainfit_plugin" not in sys.modules
    assert "echo_plugin" in fresh_registry  # first use: the plug-in module imported, its component registered
    assert fresh_registry.get("echo_plugin").description == "a plug-in's baseline"
    assert "my_domainfit_plugin" in sys.modules


def test_a_broken_plugin_is_named(fresh_registry, monkeypatch):
    ep = EntryPoint(name="broken", value="no_such_module_anywhere", group=registry.PLUGIN_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep])
    with pytest.raises(RegistryError, match="plug-in 'broken' .*failed to load"):
        fresh_registry.names()
