"""What the studio finds in its working folder: data files, bundles, and paths a request names (kept inside it)."""

from __future__ import annotations

from pathlib import Path

from domainfit.errors import DomainfitError
from domainfit.i18n import _

__all__ = ["DATA_SUFFIXES", "bundles", "data_files", "listed", "resolve_inside"]

DATA_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".xlsx", ".conll", ".txt")
_SKIP = {".git", ".venv", "node_modules", "__pycache__", "variants", "checkpoints", "model", "evaluations", "monitoring"}
_OUTPUTS = ("leaderboard.json", "runs.json")  # a compare's output folder: its samples are not the user's data


def _walk(root: Path, depth: int):
    if depth < 0:
        return
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return
    for p in entries:
        if p.name.startswith(".") or p.name in _SKIP or (p.is_dir() and any((p / name).is_file() for name in _OUTPUTS)):
            continue
        yield p
        if p.is_dir() and not (p / "domainfit.json").is_file():
            yield from _walk(p, depth - 1)


def listed(workdir: Path, depth: int = 3) -> list[Path]:
    """The files under the working folder that are the user's (bundles' own files left out)."""
    return [p for p in _walk(workdir, depth) if p.is_file() and not _in_bundle(p, workdir)]


def data_files(workdir: Path, depth: int = 3) -> list[str]:
    """Tables under the working folder (relative paths), bundles' own files left out."""
    return [p.relative_to(workdir).as_posix() for p in listed(workdir, depth) if p.suffix.lower() in DATA_SUFFIXES]


def bundles(workdir: Path, depth: int = 3) -> list[str]:
    """Bundle folders (holding domainfit.json) under the working folder, relative paths."""
    found = [p.relative_to(workdir).as_posix() for p in _walk(workdir, depth) if p.is_dir() and (p / "domainfit.json").is_file()]
    return found + (["."] if (workdir / "domainfit.json").is_file() else [])


def _in_bundle(path: Path, workdir: Path) -> bool:
    return any((parent / "domainfit.json").is_file() for parent in path.parents if parent.is_relative_to(workdir))


def resolve_inside(workdir: Path, relative: str, *, what: str) -> Path:
    """`workdir / relative`, refused unless it stays inside the working folder."""
    root = workdir.resolve()
    full = (root / str(relative)).resolve()
    if not relative or "\x00" in str(relative) or not full.is_relative_to(root):
        raise DomainfitError(_("{what} {path} is not inside the studio's working folder").format(
                                 what=what, path=repr(relative)),
                             where=what, hint=_("pick a file under {root}").format(root=root))
    return full
