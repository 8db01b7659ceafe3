"""Paths read from a bundle's JSON, kept inside the bundle: an absolute path, `..` or a link that leads out is refused,
naming the key it was read from. Below `bundle.py` so that the encoder formats (which it loads) can use it too."""

from __future__ import annotations

from pathlib import Path

from domainfit.errors import BundleError

__all__ = ["TAMPER_HINT", "inside"]


def inside(root: str | Path, relative: str, *, key: str) -> Path:
    """`root / relative`, resolved, refused unless it stays inside `root`: an absolute path, `..` or a link that leads
    out of the bundle names the JSON key it was read from."""
    root = Path(root).resolve()
    text = str(relative)
    candidate = Path(text)
    if not text or "\x00" in text or candidate.is_absolute():
        raise BundleError(f"{key} holds {text!r}, which is not a path inside the bundle", where=f"{root}: {key}",
                          hint=TAMPER_HINT)
    full = (root / candidate).resolve()
    if not full.is_relative_to(root):
        raise BundleError(f"{key} points outside the bundle ({text!r} resolves to {full})", where=f"{root}: {key}",
                          hint=TAMPER_HINT)
    return full


TAMPER_HINT = ("the bundle was changed after domainfit wrote it (tampered, truncated or copied incompletely): "
               "copy it again from its source, or retrain")
