"""The files of a bundle: the manifest (every file with its size and sha256, written when the bundle is sealed,
checked on load), the refusal of pickle-format files, and training's staging folder swapped in when complete.
The manifest is written by hand (no library does this for a folder); the hashing is hashlib's."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from domainfit.bundle_meta import META_FILE, write_json
from domainfit.errors import BundleError
from domainfit.i18n import _
from domainfit.safe_paths import inside, tamper_hint

__all__ = ["MANIFEST_FILE", "PICKLE_SUFFIXES", "UNSEALED_DIRS", "begin_stage", "check_output", "file_problem", "is_bundle", "read_manifest", "seal_bundle",
           "stage_path", "swap_in", "verify_bundle"]

MANIFEST_FILE = "manifest.json"
# Written into a bundle after it was sealed and never loaded as a model: reports of later runs, training scratch.
UNSEALED_DIRS = ("evaluations", "monitoring", "checkpoints", "serving")  # serving: what a server adds (recommend: posted items)
# Files that torch.load / pickle would read: refused anywhere in a bundle, whatever the manifest says.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".dill")


def _sealed_files(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel_dir = here.relative_to(root)
        if rel_dir.parts and rel_dir.parts[0] in UNSEALED_DIRS:
            dirnames[:] = []
            continue
        dirnames.sort()
        for name in sorted(filenames):
            rel = (rel_dir / name).as_posix()
            if rel != MANIFEST_FILE and not name.startswith(".tmp"):
                out.append(here / name)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def seal_bundle(path: str | Path) -> dict:
    """Write manifest.json: every file of the bundle (but the unsealed folders) with its size and sha256. Every
    command that writes into a bundle seals it again when done (it verified the bundle when it loaded it)."""
    root = Path(path)
    files = {}
    for f in _sealed_files(root):
        rel = f.relative_to(root).as_posix()
        if f.is_symlink():
            raise BundleError(_("{rel} is a link; a bundle holds only plain files").format(rel=rel),
                              where=str(root / rel), hint=_("replace the link by the file it points to"))
        files[rel] = {"sha256": _sha256(f), "bytes": f.stat().st_size}
    manifest = {"format": 1, "algorithm": "sha256", "files": files}
    tmp = root / f".tmp-{MANIFEST_FILE}"
    write_json(tmp, manifest)
    os.replace(tmp, root / MANIFEST_FILE)
    return manifest


def read_manifest(root: Path) -> dict:
    p = root / MANIFEST_FILE
    if not p.is_file():
        return {}
    try:
        manifest = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(_("manifest.json cannot be read ({error})").format(error=e), where=str(p),
                          hint=tamper_hint()) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BundleError(_("manifest.json has no files table"), where=str(p), hint=tamper_hint())
    return manifest


def file_problem(root: Path, rel: str, entry: dict) -> str | None:
    f = root / rel
    if f.is_symlink():
        return _("{rel} is a link; a bundle holds only plain files").format(rel=rel)
    if not f.is_file():
        return _("{rel} is missing (the manifest lists it)").format(rel=rel)
    size = f.stat().st_size
    if size != entry.get("bytes"):
        return _("{rel} has {size} bytes, the manifest says {expected} (truncated or changed)").format(
            rel=rel, size=size, expected=entry.get("bytes"))
    if _sha256(f) != entry.get("sha256"):
        return _("{rel} differs from the file domainfit wrote (sha256 mismatch)").format(rel=rel)
    return None


def verify_bundle(path: str | Path) -> list[str]:
    """Every problem of the bundle's files against its manifest, and every pickle-format file it holds ([] when sound)."""
    root = Path(path)
    manifest = read_manifest(root)
    if not manifest:
        return [_("manifest.json is missing")]
    problems = [p for rel, entry in sorted(manifest["files"].items())
                for p in [file_problem(root, rel, entry) if _inside_or_none(root, rel) else
                          _("the manifest lists {rel}, a path outside the bundle").format(rel=repr(rel))] if p]
    for f in _sealed_files(root):
        if f.suffix.lower() in PICKLE_SUFFIXES:
            problems.append(_("{rel} is a pickle-format file, which could run code when loaded; "
                              "a bundle holds safetensors, ONNX and JSON only").format(
                rel=f.relative_to(root).as_posix()))
    return problems


def _inside_or_none(root: Path, rel: str) -> Path | None:
    try:
        return inside(root, rel, key="manifest.json")
    except BundleError:
        return None


def stage_path(out: str | Path) -> Path:
    """Where a bundle for `out` is written before it is swapped in: a hidden sibling folder (same file system, so the
    swap is a rename); its checkpoints/ is what `--resume` continues from."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def is_bundle(path: Path) -> bool:
    return (path / META_FILE).is_file()


def check_output(out: str | Path, *, overwrite: bool, resume: bool) -> None:
    """Refuse, before any work, an output folder training would clobber: a non-empty folder that is not a bundle, or a
    bundle without `overwrite`; with `resume`, a run that has nothing to resume."""
    out = Path(out)
    stage = stage_path(out)
    if resume:
        if not (stage / "checkpoints").is_dir():
            done = _(" it holds a finished bundle.") if is_bundle(out) else ""
            raise BundleError(
                _("nothing to resume: no interrupted run for {out} (no checkpoints in {stage}).{done}").format(
                    out=out, stage=stage, done=done),
                where="--resume", hint=_("train without --resume (with --overwrite to replace a bundle)"))
        return
    if out.exists() and not out.is_dir():
        raise BundleError(_("{out} is a file, not a folder").format(out=out), where="--output",
                          hint=_("choose another -o folder"))
    if out.is_dir() and any(out.iterdir()):
        if not is_bundle(out):
            raise BundleError(
                _("{out} is not empty and is not a domainfit bundle: training will not write into it").format(out=out),
                where="--output", hint=_("choose a new or empty -o folder"))
        if not overwrite:
            raise BundleError(_("{out} already holds a bundle").format(out=out), where="--output",
                              hint=_("pass --overwrite to replace it (the old one is kept until the new one is "
                                     "complete), or choose another -o folder"))


def begin_stage(out: str | Path, *, resume: bool) -> Path:
    """The staging folder, emptied unless resuming."""
    stage = stage_path(out)
    if not resume:
        shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True, exist_ok=True)
    return stage


def swap_in(stage: Path, out: str | Path) -> Path:
    """Seal the finished bundle in `stage` and move it to `out` (replacing an old bundle there: two renames, the old
    one deleted only after the new one is in place)."""
    out = Path(out)
    shutil.rmtree(stage / "checkpoints", ignore_errors=True)
    seal_bundle(stage)
    old = out.parent / f".{out.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(stage, out)
    shutil.rmtree(old, ignore_errors=True)
    return out


