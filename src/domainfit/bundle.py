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
domainfit.json is a typed `BundleMeta` (pydantic, unknown keys refused), read and written only by `read_meta` and
`write_meta`; a bundle of another format version is refused, naming the domainfit version that wrote it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import load_file, save_file

from domainfit.backbones.encoder import quiet_transformers
from domainfit.bundle_files import (
    MANIFEST_FILE,
    PICKLE_SUFFIXES,
    UNSEALED_DIRS,
    begin_stage,
    check_output,
    file_problem,
    is_bundle,
    read_manifest,
    seal_bundle,
    stage_path,
    swap_in,
    verify_bundle,
)
from domainfit.bundle_meta import (
    FORMAT_VERSION,
    META_FILE,
    BackboneMeta,
    BundleMeta,
    DataMeta,
    EncoderMeta,
    IndexMeta,
    ModelMeta,
    TrackingMeta,
    library_versions,
    now_iso,
    read_meta,
    write_json,
    write_meta,
)
from domainfit.encoder_formats import encoder_formats
from domainfit.errors import BundleError
from domainfit.i18n import _
from domainfit.interfaces import make_task
from domainfit.modeling import TextModel
from domainfit.safe_paths import inside, tamper_hint

# The loader; the metadata schema is `bundle_meta.py`, the manifest and staging `bundle_files.py` (re-exported here).
__all__ = ["FORMAT_VERSION", "MANIFEST_FILE", "META_FILE", "PICKLE_SUFFIXES", "UNSEALED_DIRS", "BackboneMeta", "Bundle", "BundleMeta", "DataMeta", "EncoderMeta", "IndexMeta", "ModelMeta",
           "TrackingMeta", "begin_stage", "check_output", "inside", "is_bundle", "library_versions", "load_bundle", "now_iso",
           "read_meta", "save_model", "seal_bundle", "stage_path", "swap_in", "verify_bundle", "write_json", "write_meta"]

MODEL_DIR = "model"
HEAD_FILE = "head.safetensors"
REQUIRED = (META_FILE, f"{MODEL_DIR}/config.json", f"{MODEL_DIR}/{HEAD_FILE}")


@dataclass
class Bundle:
    path: Path
    meta: BundleMeta

    @property
    def task(self) -> str:
        return self.meta.task

    @property
    def labels(self) -> list[str]:
        return self.meta.labels

    @property
    def model_dir(self) -> Path:
        return self.path / MODEL_DIR

    def make_task(self):
        """The bundle's Task with its options and learned state (bundles from before task state: the defaults)."""
        return make_task(self.task, self.meta.task_options, self.meta.task_state)

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
            raise BundleError(
                _("{rel} is not listed in the bundle's manifest: it was added after the bundle was written "
                  "and is not loaded").format(rel=rel), where=f"{self.path}: {key}",
                hint=_("rebuild it with the domainfit command that makes it (e.g. `domainfit compress`), or delete it"))
        problem = file_problem(self.path, rel, entry)
        if problem:
            raise BundleError(problem, where=f"{self.path}: {key}", hint=tamper_hint())
        return path

    @property
    def manifest(self) -> dict:
        return read_manifest(self.path)

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
        from safetensors import SafetensorError
        from transformers import AutoTokenizer

        quiet_transformers()
        task = self.make_task()
        fmt = self.meta.model.encoder.format
        try:
            encoder = encoder_formats.get(fmt).load(self.model_dir, self.meta)
            tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
            head = task.build_head(encoder.config.hidden_size, self.labels)
            head.load_state_dict(load_file(str(self.model_dir / HEAD_FILE)))
        except (SafetensorError, OSError, ValueError, RuntimeError, KeyError) as e:  # unreadable or mismatched weights
            raise BundleError(_("the model in {path} cannot be loaded ({error})").format(
                path=self.model_dir, error=f"{type(e).__name__}: {str(e)[:300]}"),
                              where=str(self.model_dir), hint=tamper_hint()) from None
        m = self.meta.model
        model = TextModel(encoder, head, pooling=m.pooling, normalize=m.normalize, dropout=0.0)
        model.eval()
        return model, tokenizer


def save_model(path: str | Path, model: TextModel, tokenizer, *, encoder_format: str = "transformers",
               format_options: dict | None = None) -> dict:
    """Write the encoder (in `encoder_format`), tokenizer and head (safetensors) into <bundle>/model/; returns the
    encoder's description for domainfit.json (`model.encoder`)."""
    out = Path(path) / MODEL_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = encoder_formats.get(encoder_format).save(model.encoder, out)
    tokenizer.save_pretrained(str(out))
    save_file({k: v.detach().contiguous().cpu() for k, v in model.head.state_dict().items()}, str(out / HEAD_FILE))
    return {"format": encoder_format, **(format_options or {}), **written}


def load_bundle(path: str | Path) -> Bundle:
    """Open and validate a bundle folder; the error says what is missing and how to get a valid one."""
    root = Path(path)
    if not root.is_dir():
        raise BundleError(_("no bundle folder at {path}").format(path=root.resolve()), where=str(path),
                          hint=_("pass the -o folder of `domainfit train`"))
    missing = [f for f in REQUIRED if not (root / f).is_file()]
    if missing:
        raise BundleError(
            _("{path} is not a complete domainfit bundle: missing {files}").format(path=root, files=", ".join(missing)),
            where=str(path),
            hint=_("training may have been interrupted: run `domainfit train ... -o {path} --resume`, "
                   "or train again").format(path=root),
        )
    meta = read_meta(root)  # before the manifest: a bundle of another format may have none
    problems = verify_bundle(root)
    if problems:
        raise BundleError(_("{path} does not match its manifest: ").format(path=root) + _("; ").join(problems[:5])
                          + (_(" (and {n} more)").format(n=len(problems) - 5) if len(problems) > 5 else ""),
                          where=str(root),
                          hint=tamper_hint() if problems != [_("manifest.json is missing")] else
                          _("bundles written before domainfit 0.2 have no manifest: retrain, or, if you trust this "
                            "copy, seal it as it is with `domainfit bundle seal {path}`").format(path=root))
    return Bundle(path=root, meta=meta)


