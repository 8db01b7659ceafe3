"""The unlabelled corpus of `domainfit pretrain`: texts read from a table, a .txt (one text per line) or a folder of
them; cleaned as training cleans (normalisation, optional PII redaction); empty and duplicate texts dropped and counted;
a held-out share kept aside for measuring; a fingerprint of what was kept."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from domainfit.data.clean import make_cleaner
from domainfit.data.columns import resolve_columns
from domainfit.data.encoding import decode
from domainfit.data.io import FORMATS, read_table
from domainfit.errors import DataError, DomainfitError, EmptyDataError
from domainfit.i18n import _

__all__ = ["Corpus", "read_corpus", "read_texts"]

TEXT_SUFFIXES = (".txt", ".text")


@dataclass
class Corpus:
    train: list[str]
    heldout: list[str]
    counts: dict[str, int] = field(default_factory=dict)  # read, empty, duplicates, kept, train, heldout, characters
    files: list[dict] = field(default_factory=list)  # {"path", "rows", "column"?}
    fingerprint: str = ""

    def to_dict(self) -> dict:
        return {"fingerprint": self.fingerprint, "counts": self.counts, "files": self.files}


def _read_lines(path: Path, encoding: str | None) -> tuple[list[str], int]:
    """The lines of a text file, less those in another encoding or holding binary data (counted)."""
    try:
        decoded = decode(path.read_bytes(), encoding)
    except DomainfitError as e:  # decode names no file: add it
        raise type(e)(e.message, where=str(path), hint=e.hint) from None
    return [line for i, line in enumerate(decoded.lines) if i not in decoded.bad], len(decoded.bad)


def _files(source: Path) -> list[Path]:
    if not source.exists():
        raise DataError(_("not found: {path}").format(path=source.resolve()), where=str(source),
                        hint=_("pass a table (csv/tsv/jsonl/parquet/xlsx), a .txt file with one text per line, or a folder of them"))
    if source.is_file():
        return [source]
    found = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in (*TEXT_SUFFIXES, *FORMATS))
    if not found:
        raise DataError(_("the folder {folder} holds no text or table files").format(folder=source), where=str(source),
                        hint=_("put .txt files (one text per line) or tables ({formats}) in it").format(formats=", ".join(FORMATS)))
    return found


def read_texts(source: str | Path, *, text_column: str | None = None, encoding: str | None = None,
               delimiter: str | None = None) -> tuple[list[str], list[dict]]:
    """Every raw text of `source` (in file order) and what was read from each file. A .txt file is one text per line
    (never split into columns); a table gives its text column (named, or inferred as training infers it)."""
    texts: list[str] = []
    files: list[dict] = []
    for path in _files(Path(source)):
        if path.suffix.lower() in TEXT_SUFFIXES:
            lines, bad = _read_lines(path, encoding)
            texts.extend(lines)
            files.append({"path": str(path), "rows": len(lines), "unreadable_rows": bad})
            continue
        result = read_table(path, encoding=encoding, delimiter=delimiter, bad_rows="reject")
        column, _ = resolve_columns(result.frame, text_column, None, path=str(path), require_label=False)
        values = result.frame[column].tolist()
        texts.extend(values)
        files.append({"path": str(path), "rows": len(values), "column": column, "unreadable_rows": len(result.rejects)})
    return texts, files


def read_corpus(source: str | Path, *, text_column: str | None = None, encoding: str | None = None,
                delimiter: str | None = None, normalize: bool = True, redact: bool | str | Sequence[str] | None = None,
                heldout: float = 0.05, seed: int = 42, max_texts: int | None = None,
                cleaner: Callable[[str], str] | None = None) -> Corpus:
    """Read, clean, de-duplicate (first occurrence kept) and split `source` into training and held-out texts."""
    raw, files = read_texts(source, text_column=text_column, encoding=encoding, delimiter=delimiter)
    clean = cleaner or make_cleaner(normalize, redact)
    seen: set[str] = set()
    kept: list[str] = []
    empty = duplicates = 0
    for text in raw:
        t = clean(text or "")
        if not t:
            empty += 1
        elif t in seen:
            duplicates += 1
        else:
            seen.add(t)
            kept.append(t)
    if len(kept) < 2:
        raise EmptyDataError(_("{n} usable text(s) in {source} ({read} read, {empty} empty, {duplicates} duplicates)").format(
                                 n=len(kept), source=source, read=len(raw), empty=empty, duplicates=duplicates), where=str(source),
                             hint=_("pretraining needs unlabelled texts: a few thousand lines at least to help"))
    order = list(range(len(kept)))
    random.Random(seed).shuffle(order)
    if max_texts is not None:
        order = order[:max_texts]
    n_held = min(len(order) - 1, max(1, round(heldout * len(order)))) if heldout > 0 else 0
    held = [kept[i] for i in sorted(order[:n_held])]
    train = [kept[i] for i in sorted(order[n_held:])]
    digest = hashlib.sha256()
    for t in train + ["\x00heldout\x00"] + held:
        digest.update(t.encode("utf-8") + b"\n")
    counts = {"read": len(raw), "empty": empty, "duplicates": duplicates, "kept": len(kept), "train": len(train),
              "heldout": len(held), "characters": sum(len(t) for t in train)}
    return Corpus(train=train, heldout=held, counts=counts, files=files, fingerprint=digest.hexdigest()[:16])
