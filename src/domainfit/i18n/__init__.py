"""What the CLI says, in the user's language: English, or Chinese when `DOMAINFIT_LANG=zh` or the locale says so
(`LANG=zh_CN.UTF-8`, `LC_ALL`, `LC_MESSAGES`). Messages are marked `_("...")` (format fields stay as `{name}`).

Catalogs are gettext's: Babel extracts the marked messages (`make i18n`: `pybabel extract` with babel.cfg, then
`pybabel update` and `pybabel compile`); the translations live in locale/zh_CN/LC_MESSAGES/domainfit.po and the
compiled domainfit.mo is committed and shipped as package data, so at run time only the standard library's gettext
is needed (no Babel, no build step). A test extracts the messages afresh and checks every one has a Chinese
translation and that the .mo matches the .po. The lowest layer: it imports nothing of domainfit.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

__all__ = ["DOMAIN", "LOCALE_DIR", "_", "language"]

DOMAIN = "domainfit"
LOCALE_DIR = Path(__file__).parent / "locale"
_CATALOG = {"zh": "zh_CN"}


def language() -> str:
    """"zh" or "en": DOMAINFIT_LANG first (zh, zh_CN, en, ...), then LC_ALL, LC_MESSAGES, LANG (gettext's order)."""
    chosen = os.environ.get("DOMAINFIT_LANG", "").strip().lower()
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
