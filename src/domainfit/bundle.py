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
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from domainfit.errors import BundleError
from domainfit.modeling import TextModel

__all__ = ["FORMAT_VERSION", "Bundle", "library_versions", "load_bundle", "save_model", "write_json"]

FORMAT_VERSION = 1
META_FILE = "domainfit.json"
MODEL_DIR = "model"
HEAD_FILE = "head.safetensors"
REQUIRED = (META_FILE, f"{MODEL_DIR}/config.json", f"{MODEL_DIR}/{HEAD_FILE}")


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
        from domainfit.tasks import make_task

        return make_task(self.task, self.meta.get("task_options"), self.meta.get("task_state"))

    def read_json(self, name: str) -> dict | None:
        p = self.path / name
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None

    def load_model(self) -> tuple[TextModel, object]:
        """The TextModel (eval mode) and its tokenizer."""
        from transformers import AutoTokenizer

        from domainfit.backbones.encoder import quiet_transformers
        from domainfit.encoder_formats import encoder_formats

        quiet_transformers()
        task = self.make_task()
        fmt = self.meta["model"].get("encoder", {}).get("format", "transformers")
        encoder = encoder_formats.get(fmt).load(self.model_dir, self.meta)
        tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
        head = task.build_head(encoder.config.hidden_size, self.labels)
        head.load_state_dict(load_file(str(self.model_dir / HEAD_FILE)))
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
    meta = json.loads((root / META_FILE).read_text(encoding="utf-8"))
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"bundle format {version} is not supported by this domainfit (reads format {FORMAT_VERSION})",
            where=str(root / META_FILE),
            hint="install the domainfit version recorded in domainfit.json (versions.domainfit), or retrain",
        )
    return Bundle(path=root, meta=meta)


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
