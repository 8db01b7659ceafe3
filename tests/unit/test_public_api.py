"""The public surface is small and explicit: __all__ lists exactly the public names, each importable."""

from __future__ import annotations

import domainfit


def test_exported_members():
    public = {n for n in dir(domainfit) if not n.startswith("_")}
    # submodules imported as a side effect are not part of the API
    modules = {n for n in public if type(getattr(domainfit, n)).__name__ == "module"}
    assert set(domainfit.__all__) - {"__version__"} == public - modules
    for name in domainfit.__all__:
        assert hasattr(domainfit, name)


def test_errors_module_draws_the_tree():
    from domainfit import errors

    for name in errors.__all__:
        assert name in errors.__doc__, f"{name} is missing from the tree drawn in errors.py"


def test_api_functions_are_not_shadowed_by_subpackages():
    # `import domainfit.x` sets the attribute `domainfit.x` to the module: no subpackage may share an API name.
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(domainfit.__path__, "domainfit."):  # noqa: B007
        if not info.name.startswith("domainfit.cli"):
            importlib.import_module(info.name)
    for name in ("train", "load", "evaluate", "check_data", "compare", "compress", "bench", "redact", "redact_file", "retrain"):
        assert callable(getattr(domainfit, name)) and not type(getattr(domainfit, name)).__name__ == "module", name
