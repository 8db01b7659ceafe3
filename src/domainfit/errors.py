"""The exception tree: every error a user can cause says what went wrong, where, and how to fix it.

    DomainfitError                 base; carries `where` (file:row:column or config key) and `hint` (the fix)
    ├── ConfigError                a config key is missing, unknown or invalid (all problems listed at once)
    ├── DataError                  an input file cannot be read or used
    │   ├── EncodingError          bytes that decode in no supported encoding
    │   ├── ColumnError            a text/label column is missing or ambiguous
    │   └── EmptyDataError         nothing usable remains after the checks
    ├── ModelNotFoundError         a backbone cannot be resolved offline (lists what was tried)
    ├── BundleError                a bundle folder is missing files or was written by an incompatible version
    ├── CompressionError           a compressed variant failed the accuracy parity gate (says by how much)
    └── RegistryError              an unknown task/method/... name (with "did you mean"), or a model-registry
                                   name/version/alias/URI that does not exist

The CLI prints `DomainfitError`s without a traceback (unless `--debug`); anything else is a bug.
"""

from __future__ import annotations

from domainfit.i18n import _

__all__ = [
    "BundleError",
    "CompressionError",
    "ColumnError",
    "ConfigError",
    "DataError",
    "DomainfitError",
    "EmptyDataError",
    "EncodingError",
    "ModelNotFoundError",
    "RegistryError",
]


class DomainfitError(Exception):
    """Base of every error a user can cause. `where` points at the culprit, `hint` says how to fix it."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += "\n  " + _("how to fix") + f": {self.hint}"
        return text


class ConfigError(DomainfitError):
    """A config key is missing, unknown or invalid. `problems` holds every (key, message) found.

    `hint` says where to fix them; without one it follows from the keys: command-line options (`--port`) point at the
    command's --help, keys of a YAML file at that file, dotted training keys (`task_options.stride`) at the training
    config and --set; other keys (a server setting, an API key file's entries) get none beyond their own messages.
    """

    def __init__(self, problems: list[tuple[str, str]], *, source: str | None = None, hint: str | None = None) -> None:
        self.problems = problems
        lines = [f"  {key}: {msg}" for key, msg in problems]
        head = _("{count} problem(s) in the configuration").format(count=len(problems)) + (f" ({source})" if source else "")
        super().__init__(head + ":\n" + "\n".join(lines), hint=hint if hint is not None else _config_hint(problems, source))


def _config_hint(problems: list[tuple[str, str]], source: str | None) -> str | None:
    keys = [str(key) for key, _msg in problems]
    if keys and all(key.startswith("-") for key in keys):
        return _("fix these command-line options; the command's --help lists them")
    if source and source.lower().endswith((".yaml", ".yml")):
        return _("edit these keys in {source}").format(source=source)
    if keys and all("." in key and " " not in key for key in keys):
        return _("set these keys in the training config or pass --set key=value; `domainfit train --help` lists the "
                 "options")
    return None


class DataError(DomainfitError):
    """An input file cannot be read or used."""


class EncodingError(DataError):
    """The bytes of a file decode in none of the supported encodings."""


class ColumnError(DataError):
    """A text or label column is missing or cannot be inferred unambiguously."""


class EmptyDataError(DataError):
    """Nothing usable remains after the checks."""


class ModelNotFoundError(DomainfitError):
    """A backbone cannot be found offline."""


class BundleError(DomainfitError):
    """A bundle folder is incomplete or incompatible."""


class CompressionError(DomainfitError):
    """A compressed variant lost more accuracy than the tolerance allows; it was not written."""


class RegistryError(DomainfitError):
    """An unknown registered name."""
