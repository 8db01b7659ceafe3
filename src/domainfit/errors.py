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
            text += f"\n  {_('how to fix')}: {self.hint}"
        return text


class ConfigError(DomainfitError):
    """A config key is missing, unknown or invalid. `problems` holds every (key, message) found."""

    def __init__(self, problems: list[tuple[str, str]], *, source: str | None = None) -> None:
        self.problems = problems
        lines = [f"  {key}: {msg}" for key, msg in problems]
        head = f"{len(problems)} problem(s) in the configuration" + (f" ({source})" if source else "")
        super().__init__(
            head + ":\n" + "\n".join(lines),
            hint="edit these keys in the YAML file or pass --set key=value; `domainfit train --help` lists the options",
        )


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
