"""Text normalisation: the one function that training, evaluation and serving all apply to a text.

`normalize_text` is pure and cheap (a few microseconds for a short text) because the inference path calls it on
every request. What it does, in order:

1. Unicode NFKC: full-width ASCII letters, digits and punctuation become half-width (`ＡＢＣ１２３！` -> `ABC123!`),
   the ideographic space U+3000 becomes a space, ligatures and circled digits are unfolded. CJK punctuation that
   has no half-width twin (`。`, `、`, `「」`) stays as it is.
2. Control and format characters are removed (zero-width spaces and joiners, bidi marks, the BOM, soft hyphens,
   C0/C1 controls): they are invisible, and BERT-style tokenizers drop them anyway, so two texts that look the
   same compare equal. Line breaks, tabs and the other whitespace controls count as whitespace.
3. Runs of whitespace collapse to one space; the ends are stripped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

from domainfit.data.pii import Redactor

__all__ = ["cleaner_for", "make_cleaner", "normalize_text", "strip_text"]

# Unicode category Cf (format) and the C0/C1 controls that are not whitespace. Listed rather than computed with
# unicodedata.category per character, which is ~20x slower. (`str.split()` already treats \t \n \v \f \r
# \x1c-\x1f \x85 as whitespace.)
_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"  # C0/C1 controls that are not whitespace
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
    "]"
)


def normalize_text(text: str) -> str:
    """NFKC, drop control/zero-width characters, collapse whitespace to single spaces, strip.

    >>> normalize_text("  ＨＥＬＬＯ\u3000ｗｏｒｌｄ！\u200b 你好。\\n")
    'HELLO world! 你好。'
    """
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    return " ".join(text.split())


def strip_text(text: str) -> str:
    """What a text becomes when normalisation is switched off (`data.normalize: false`): only the ends stripped."""
    return text.strip() if text else ""


def make_cleaner(normalize: bool = True, redact: bool | str | Sequence[str] | None = None) -> Callable[[str], str]:
    """The text cleaner of a configuration: `normalize_text` (or `strip_text`), then the personal data of the
    `redact` kinds replaced by placeholders (`domainfit.data.pii`). Redaction runs after normalisation, so
    full-width digits (１３８...) are found as well."""
    base = normalize_text if normalize else strip_text
    redactor = Redactor(redact) if redact else None
    if not redactor:
        return base

    def clean(text: str) -> str:
        return redactor(base(text))

    clean.redacts = True  # type: ignore[attr-defined]  # callers keep personal data out of what they write
    return clean


def cleaner_for(data: Mapping) -> Callable[[str], str]:
    """The cleaner a bundle's saved configuration describes (its "data" section), as training applied it."""
    return make_cleaner(data.get("normalize", True), data.get("redact"))
