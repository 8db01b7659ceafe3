"""Save, load and validate the bundle: the one self-describing folder every later step needs.

    <bundle>/
      domainfit.json         task, its options and learned state (multi-label thresholds, regression target mean/std),
                             labels, method + options, backbone (name, resolved path, weights sha256), pooling,
                             resolved config, data fingerprint and counts, library versions, timings
      model/                 tokenizer, head.safetensors and the encoder: whole (plain `transformers.AutoModel` loads it)
                             or, for adapter methods, the adapter weights over a base model named in domainfit.json
      metrics.json           test metrics of the model and of each baseline on the same split
      report.html            what a person reads
      reference_stats.json   what monitoring compares live traffic against
      data_report.json       every data issue found; rejects.csv holds the rows not used, with their reason
      data/{train,val,test}.csv   the exact splits (evaluation, compression parity and retraining reuse them)
      manifest.json          every file above with its size and sha256: written when the bundle is sealed, checked on load

A bundle is data, never code: weights are safetensors (or ONNX in variants/), everything else JSON/CSV/text. Loading
refuses a file that pickle would read (`.bin`, `.pt`, ...), a file that differs from the manifest (tampered, truncated),
a file the manifest does not list, and any path from the bundle's JSON that leads outside the bundle (`inside`).
The manifest is written by hand (no library does this for a folder); the hashing is hashlib's.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from domainfit.errors import BundleError
from domainfit.safe_paths import TAMPER_HINT as _TAMPER_HINT
from domainfit.safe_paths import inside
from domainfit.modeling import TextModel

__all__ = ["FORMAT_VERSION", "Bundle", "begin_stage", "check_output", "inside", "is_bundle", "library_versions", "load_bundle",
           "save_model", "seal_bundle", "stage_path", "swap_in", "verify_bundle", "write_json"]

FORMAT_VERSION = 1
META_FILE = "domainfit.json"
MODEL_DIR = "model"
HEAD_FILE = "head.safetensors"
MANIFEST_FILE = "manifest.json"
REQUIRED = (META_FILE, f"{MODEL_DIR}/config.json", f"{MODEL_DIR}/{HEAD_FILE}")
# Written into a bundle after it was sealed and never loaded as a model: reports of later runs, training scratch.
UNSEALED_DIRS = ("evaluations", "monitoring", "checkpoints")
# Files that torch.load / pickle would read: refused anywhere in a bundle, whatever the manifest says.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".dill")


@dataclass
class Bundle:
    path: Path
    meta: dict

    @property
    def task(self) -> str:
        return self.meta["task"]

    @property
    def labels(self) -> list[str]:
        return self.meta["labels"]

    @property
    def model_dir(self) -> Path:
        return self.path / MODEL_DIR

    def make_task(self):
        """The bundle's Task with its options and learned state (bundles from before task state: the defaults)."""
        from domainfit.interfaces import make_task

        return make_task(self.task, self.meta.get("task_options"), self.meta.get("task_state"))

    def read_json(self, name: str) -> dict | None:
        p = inside(self.path, name, key=name)
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None

    def file(self, relative: str, *, key: str) -> Path:
        """The bundle file `relative` (a path read from the bundle's JSON at `key`), refused unless it lies inside the
        bundle and is listed in its manifest with the hash it has now."""
        path = inside(self.path, relative, key=key)
        rel = path.relative_to(self.path.resolve()).as_posix()
        entry = self.manifest.get("files", {}).get(rel)
        if entry is None:
            raise BundleError(f"{rel} is not listed in the bundle's manifest: it was added after the bundle was written "
                              "and is not loaded", where=f"{self.path}: {key}",
                              hint="rebuild it with the domainfit command that makes it (e.g. `domainfit compress`), "
                                   "or delete it")
        problem = _file_problem(self.path, rel, entry)
        if problem:
            raise BundleError(problem, where=f"{self.path}: {key}", hint=_TAMPER_HINT)
        return path

    @property
    def manifest(self) -> dict:
        return _read_manifest(self.path)

    @property
    def model_sha256(self) -> str:
        """One hash of every file of model/ (weights, head, tokenizer): what a compressed variant is bound to."""
        files = self.manifest.get("files", {})
        h = hashlib.sha256()
        for rel in sorted(f for f in files if f.startswith(f"{MODEL_DIR}/")):
            h.update(f"{rel}\x1f{files[rel]['sha256']}\x1e".encode())
        return h.hexdigest()

    def load_model(self) -> tuple[TextModel, object]:
        """The TextModel (eval mode) and its tokenizer."""
        from transformers import AutoTokenizer

        from domainfit.backbones.encoder import quiet_transformers
        from domainfit.encoder_formats import encoder_formats

        from safetensors import SafetensorError

        quiet_transformers()
        task = self.make_task()
        fmt = self.meta["model"].get("encoder", {}).get("format", "transformers")
        try:
            encoder = encoder_formats.get(fmt).load(self.model_dir, self.meta)
            tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
            head = task.build_head(encoder.config.hidden_size, self.labels)
            head.load_state_dict(load_file(str(self.model_dir / HEAD_FILE)))
        except (SafetensorError, OSError, ValueError, RuntimeError, KeyError) as e:  # unreadable or mismatched weights
            raise BundleError(f"the model in {self.model_dir} cannot be loaded ({type(e).__name__}: {str(e)[:300]})",
                              where=str(self.model_dir), hint=_TAMPER_HINT) from None
        m = self.meta["model"]
        model = TextModel(encoder, head, pooling=m["pooling"], normalize=m["normalize"], dropout=0.0)
        model.eval()
        return model, tokenizer


def save_model(path: str | Path, model: TextModel, tokenizer, *, encoder_format: str = "transformers",
               format_options: dict | None = None) -> dict:
    """Write the encoder (in `encoder_format`), tokenizer and head (safetensors) into <bundle>/model/; returns the
    encoder's description for domainfit.json (`model.encoder`)."""
    from domainfit.encoder_formats import encoder_formats

    out = Path(path) / MODEL_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = encoder_formats.get(encoder_format).save(model.encoder, out)
    tokenizer.save_pretrained(str(out))
    save_file({k: v.detach().contiguous().cpu() for k, v in model.head.state_dict().items()}, str(out / HEAD_FILE))
    return {"format": encoder_format, **(format_options or {}), **written}


def write_json(path: str | Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")


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
            raise BundleError(f"{rel} is a link; a bundle holds only plain files", where=str(root / rel),
                              hint="replace the link by the file it points to")
        files[rel] = {"sha256": _sha256(f), "bytes": f.stat().st_size}
    manifest = {"format": 1, "algorithm": "sha256", "files": files}
    tmp = root / f".tmp-{MANIFEST_FILE}"
    write_json(tmp, manifest)
    os.replace(tmp, root / MANIFEST_FILE)
    return manifest


def _read_manifest(root: Path) -> dict:
    p = root / MANIFEST_FILE
    if not p.is_file():
        return {}
    try:
        manifest = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"manifest.json cannot be read ({e})", where=str(p), hint=_TAMPER_HINT) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BundleError("manifest.json has no files table", where=str(p), hint=_TAMPER_HINT)
    return manifest


def _file_problem(root: Path, rel: str, entry: dict) -> str | None:
    f = root / rel
    if f.is_symlink():
        return f"{rel} is a link; a bundle holds only plain files"
    if not f.is_file():
        return f"{rel} is missing (the manifest lists it)"
    size = f.stat().st_size
    if size != entry.get("bytes"):
        return f"{rel} has {size} bytes, the manifest says {entry.get('bytes')} (truncated or changed)"
    if _sha256(f) != entry.get("sha256"):
        return f"{rel} differs from the file domainfit wrote (sha256 mismatch)"
    return None


def verify_bundle(path: str | Path) -> list[str]:
    """Every problem of the bundle's files against its manifest, and every pickle-format file it holds ([] when sound)."""
    root = Path(path)
    manifest = _read_manifest(root)
    if not manifest:
        return ["manifest.json is missing"]
    problems = [p for rel, entry in sorted(manifest["files"].items())
                for p in [_file_problem(root, rel, entry) if _inside_or_none(root, rel) else
                          f"the manifest lists {rel!r}, a path outside the bundle"] if p]
    for f in _sealed_files(root):
        if f.suffix.lower() in PICKLE_SUFFIXES:
            problems.append(f"{f.relative_to(root).as_posix()} is a pickle-format file, which could run code when loaded; "
                            "a bundle holds safetensors, ONNX and JSON only")
    return problems


def _inside_or_none(root: Path, rel: str) -> Path | None:
    try:
        return inside(root, rel, key="manifest.json")
    except BundleError:
        return None


def load_bundle(path: str | Path) -> Bundle:
    """Open and validate a bundle folder; the error says what is missing and how to get a valid one."""
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"no bundle folder at {root.resolve()}", where=str(path), hint="pass the -o folder of `domainfit train`")
    missing = [f for f in REQUIRED if not (root / f).is_file()]
    if missing:
        raise BundleError(
            f"{root} is not a complete domainfit bundle: missing {', '.join(missing)}",
            where=str(path),
            hint="training may have been interrupted: run `domainfit train ... -o "
            f"{root} --resume`, or train again",
        )
    try:
        meta = json.loads((root / META_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"{META_FILE} cannot be read ({e})", where=str(root / META_FILE), hint=_TAMPER_HINT) from None
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if version != FORMAT_VERSION:
        raise BundleError(
            f"bundle format {version} is not supported by this domainfit (reads format {FORMAT_VERSION})",
            where=str(root / META_FILE),
            hint="install the domainfit version recorded in domainfit.json (versions.domainfit), or retrain",
        )
    problems = verify_bundle(root)
    if problems:
        raise BundleError(f"{root} does not match its manifest: " + "; ".join(problems[:5])
                          + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""), where=str(root),
                          hint=_TAMPER_HINT if problems != ["manifest.json is missing"] else
                          "bundles written before domainfit 0.2 have no manifest: retrain, or, if you trust this copy, "
                          f"seal it as it is with `domainfit bundle seal {root}`")
    return Bundle(path=root, meta=meta)


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
            done = " it holds a finished bundle." if is_bundle(out) else ""
            raise BundleError(f"nothing to resume: no interrupted run for {out} (no checkpoints in {stage}).{done}",
                              where="--resume", hint="train without --resume (with --overwrite to replace a bundle)")
        return
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out} is a file, not a folder", where="--output", hint="choose another -o folder")
    if out.is_dir() and any(out.iterdir()):
        if not is_bundle(out):
            raise BundleError(f"{out} is not empty and is not a domainfit bundle: training will not write into it",
                              where="--output", hint="choose a new or empty -o folder")
        if not overwrite:
            raise BundleError(f"{out} already holds a bundle", where="--output",
                              hint="pass --overwrite to replace it (the old one is kept until the new one is complete), "
                                   "or choose another -o folder")


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


def library_versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "torch": torch.__version__}
    for pkg in ("domainfit", "transformers", "tokenizers", "accelerate", "scikit-learn", "numpy", "pandas"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
