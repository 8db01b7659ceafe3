"""The studio's languages: one JSON catalogue per language (locales/<code>.json, the same keys in each), the
language chosen by the `lang` cookie (the switch in the header) or else the browser's Accept-Language.

Written by hand: a dictionary lookup with `str.format` placeholders is all the pages need; Babel's gettext
catalogues would add a compile step for two languages. What the pages show from domainfit's own layers (a config
error's message, a data check's findings) comes from the package's gettext catalog, in the same language: the app
handles each request inside `domainfit.i18n.speaking(lang)`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

__all__ = ["DEFAULT", "LANGUAGES", "catalogue", "choose_language", "translator"]

LANGUAGES = ("en", "zh")
DEFAULT = "en"


@cache
def catalogue(lang: str) -> dict[str, str]:
    return json.loads(resources.files("domainfit.studio").joinpath(f"locales/{lang}.json").read_text(encoding="utf-8"))


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if it names one we have, else the best of Accept-Language ("zh-CN,zh;q=0.9,en;q=0.8"),
    else English."""
    if cookie in LANGUAGES:
        return cookie
    ranked = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and q > 0:
            ranked.append((-q, i, base))
    return min(ranked)[2] if ranked else DEFAULT


def translator(lang: str):
    """t(key, **values): the string of `key` in `lang`, its {placeholders} filled."""
    strings = catalogue(lang)

    def t(key: str, **values) -> str:
        text = strings.get(key) or catalogue(DEFAULT).get(key) or key
        return text.format(**values) if values else text

    return t
