"""What the CLI says, in the user's language: English, or Chinese when `DOMAINFIT_LANG=zh` or the locale says so
(`LANG=zh_CN.UTF-8`, `LC_ALL`, `LC_MESSAGES`). Messages are marked `_("...")` (format fields stay as `{name}`).

Catalogs are gettext's: Babel extracts the marked messages (`make i18n`: `pybabel extract` with babel.cfg, then
`pybabel update` and `pybabel compile`); the translations live in locale/zh_CN/LC_MESSAGES/domainfit.po and the
compiled domainfit.mo is committed and shipped as package data, so at run time only the standard library's gettext
is needed (no Babel, no build step). A test extracts the messages afresh and checks every one has a Chinese
translation and that the .mo matches the .po. The lowest layer: it imports nothing of domainfit.

A server that speaks to people in several languages (the studio: a `lang` cookie per browser) sets the language of
one request with `speaking(lang)`, a context variable, so the errors raised while it is handled are in the page's
language and a concurrent request in another language is not affected.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

__all__ = ["DOMAIN", "LOCALE_DIR", "_", "language", "speaking"]

DOMAIN = "domainfit"
LOCALE_DIR = Path(__file__).parent / "locale"
_CATALOG = {"zh": "zh_CN"}
_REQUEST_LANGUAGE: ContextVar[str | None] = ContextVar("domainfit_language", default=None)


@contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Messages made inside the block are in `lang` ("zh", "en"; None: the environment's), in this context only."""
    token = _REQUEST_LANGUAGE.set(lang)
    try:
        yield
    finally:
        _REQUEST_LANGUAGE.reset(token)


def language() -> str:
    """"zh" or "en": the language `speaking()` set, else DOMAINFIT_LANG (zh, zh_CN, en, ...), then LC_ALL,
    LC_MESSAGES, LANG (gettext's order)."""
    chosen = (_REQUEST_LANGUAGE.get() or os.environ.get("DOMAINFIT_LANG", "")).strip().lower()
    if not chosen:
        for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
            if os.environ.get(var):
                chosen = os.environ[var].lower()
                break
    return "zh" if chosen.startswith("zh") else "en"


@cache
def _translations(lang: str) -> gettext.NullTranslations:
    if lang not in _CATALOG:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[_CATALOG[lang]], fallback=True)


def _(message: str) -> str:
    """`message` in the current language (itself when there is no translation)."""
    return _translations(language()).gettext(message)
