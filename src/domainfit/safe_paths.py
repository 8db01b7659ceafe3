"""Paths read from a bundle's JSON, kept inside the bundle: an absolute path, `..` or a link that leads out is refused,
naming the key it was read from. Below `bundle.py` so that the encoder formats (which it loads) can use it too."""

from __future__ import annotations

from pathlib import Path

from domainfit.errors import BundleError
from domainfit.i18n import _

__all__ = ["inside", "tamper_hint"]


def inside(root: str | Path, relative: str, *, key: str) -> Path:
    """`root / relative`, resolved, refused unless it stays inside `root`: an absolute path, `..` or a link that leads
    out of the bundle names the JSON key it was read from."""
    root = Path(root).resolve()
    text = str(relative)
    candidate = Path(text)
    if not text or "\x00" in text or candidate.is_absolute():
        raise BundleError(_("{key} holds {text}, which is not a path inside the bundle").format(
            key=key, text=repr(text)), where=f"{root}: {key}", hint=tamper_hint())
    full = (root / candidate).resolve()
    if not full.is_relative_to(root):
        raise BundleError(_("{key} points outside the bundle ({text} resolves to {full})").format(
            key=key, text=repr(text), full=full), where=f"{root}: {key}", hint=tamper_hint())
    return full


def tamper_hint() -> str:
    """The fix for a bundle that does not match what domainfit wrote, in the user's language."""
    return _("the bundle was changed after domainfit wrote it (tampered, truncated or copied incompletely): "
             "copy it again from its source, or retrain")
