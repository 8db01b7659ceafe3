"""Slots an answer template fills from the customer's message: `{card_last4}`, `{phone_last4}`, `{email}`, `{name}`
through the personal-data detectors of `domainfit.data.pii` (the same ones that redact the logs), and `{amount}`.

Each slot is one registered function (text → value or None). The amount finder is the one rule written here (no
detector in `domainfit.data` finds amounts, on purpose: redaction leaves them alone): a number with a currency sign,
code or word on either side (¥200, 200元, 1,250.50 EUR, 三百 is not read).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

from domainfit.data.pii import find_pii
from domainfit.registry import Registry

__all__ = ["SLOTS", "extract_slots", "fill", "slot_names"]

SLOTS: Registry[Callable[[str], str | None]] = Registry("answer slot", listing="slots")


def _first(text: str, kind: str) -> str | None:
    found = find_pii(text, [kind])
    return text[found[0].start:found[0].end] if found else None


def _last4(value: str | None) -> str | None:
    digits = re.sub(r"\D", "", value or "")
    return digits[-4:] if len(digits) >= 4 else None


SLOTS.register("card_last4")(lambda text: _last4(_first(text, "bank_card")))
SLOTS.register("phone_last4")(lambda text: _last4(_first(text, "phone")))
SLOTS.register("email")(lambda text: _first(text, "email"))
SLOTS.register("name")(lambda text: _first(text, "name"))

_CURRENCY = r"(?:[$€£¥￥]|RMB|CNY|USD|EUR|GBP|HKD|JPY|dollars?|euros?|pounds?|yuan|元|块钱|块|美元|欧元|英镑|港币)"
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_AMOUNT = re.compile(rf"{_CURRENCY}\s?(?:{_NUMBER})|(?:{_NUMBER})\s?{_CURRENCY}", re.IGNORECASE)


@SLOTS.register("amount")
def _amount(text: str) -> str | None:
    m = _AMOUNT.search(text)
    return m.group(0) if m else None  # as the customer wrote it: ¥200, 200元, 1,250.50 EUR


def extract_slots(text: str, names) -> dict[str, str]:
    """The slots among `names` found in `text` (a slot not found is left out)."""
    out = {}
    for name in names:
        value = SLOTS.get(name)(text)
        if value:
            out[name] = value
    return out


def slot_names(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def fill(template: str, text: str, missing: str | None = None) -> tuple[str, dict[str, str]]:
    """(the reply, the slots used): `template` with its slots from `text`; when one is not there, `missing` (itself a
    template over the slots that were found, or said as it is) — or, without it, the template with the slot left out."""
    names = slot_names(template)
    found = extract_slots(text, names)
    if len(found) == len(set(names)):
        return template.format_map(found), found
    if missing is not None:
        return missing.format_map(_Blank(found)), found
    return template.format_map(_Blank(found)), found


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "…"
