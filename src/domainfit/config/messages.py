"""pydantic's validation messages in the user's language.

pydantic writes its messages in English only. In English they are shown as pydantic wrote them; in another language
the common kinds (bounds, types, a required key, a choice) are written again from the error's `type` and `ctx`
through the gettext catalog, and any other kind falls back to pydantic's English. Written by hand: pydantic has no
translation hook, and the catalogs people publish for it are not packaged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domainfit.i18n import _, language

__all__ = ["pydantic_message"]


def _plain(value: Any) -> str:
    """A bound as pydantic prints it: 1.0 → 1."""
    return format(value, "g") if isinstance(value, float) else str(value)


def _kinds(ctx: dict[str, str]) -> dict[str, Callable[[], str]]:
    c = ctx.get
    return {
        "missing": lambda: _("Field required"),
        "greater_than": lambda: _("Input should be greater than {gt}").format(gt=c("gt")),
        "greater_than_equal": lambda: _("Input should be greater than or equal to {ge}").format(ge=c("ge")),
        "less_than": lambda: _("Input should be less than {lt}").format(lt=c("lt")),
        "less_than_equal": lambda: _("Input should be less than or equal to {le}").format(le=c("le")),
        "literal_error": lambda: _("Input should be {expected}").format(expected=c("expected")),
        "enum": lambda: _("Input should be {expected}").format(expected=c("expected")),
        "bool_parsing": lambda: _("Input should be a valid boolean, unable to interpret input"),
        "bool_type": lambda: _("Input should be a valid boolean"),
        "int_parsing": lambda: _("Input should be a valid integer, unable to parse string as an integer"),
        "int_type": lambda: _("Input should be a valid integer"),
        "int_from_float": lambda: _("Input should be a valid integer, got a number with a fractional part"),
        "float_parsing": lambda: _("Input should be a valid number, unable to parse string as a number"),
        "float_type": lambda: _("Input should be a valid number"),
        "string_type": lambda: _("Input should be a valid string"),
        "list_type": lambda: _("Input should be a valid list"),
        "dict_type": lambda: _("Input should be a valid dictionary"),
        "model_type": lambda: _("Input should be a valid dictionary"),
        "too_short": lambda: _("should have at least {min_length} item(s), not {actual_length}").format(
            min_length=c("min_length"), actual_length=c("actual_length")),
        "too_long": lambda: _("should have at most {max_length} item(s), not {actual_length}").format(
            max_length=c("max_length"), actual_length=c("actual_length")),
    }


def pydantic_message(err: dict) -> str:
    """The message of one of `ValidationError.errors()`, in the current language (our own validators' messages,
    kind `value_error`, are returned without pydantic's "Value error, " prefix)."""
    msg = err["msg"].removeprefix("Value error, ")
    if language() == "en":
        return msg
    make = _kinds({k: _plain(v) for k, v in (err.get("ctx") or {}).items()}).get(err["type"])
    return make() if make else msg
