"""`domainfit compress`: build a variant, check it against the original on the test split, keep it only if it passes.

The exporter and the quantizer are noisy (torch.onnx's TracerWarnings, onnxruntime's shape inference and quantizer
logging, C++ messages on stderr) and none of it is the user's to act on: it goes into the variant's `build.log`, and
one line says how much there was. The capture is written by hand: no library routes warnings, log records and the
C-level stderr of a block into one file.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from domainfit.bundle import load_bundle, now_iso, seal_bundle, write_json
from domainfit.compression.parity import batch_agreement, check_gate, metric_names, parity, score_split, test_split
from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.inference.variants import VARIANTS_DIR, variant_kinds, variant_name
from domainfit.predict import Predictor

__all__ = ["compress_bundle", "folder_size"]

QUANTIZE = ("none", "int8", "int8-static", "bf16")
BUILD_LOG = "build.log"  # in the variant's folder: everything the libraries printed while it was built


def folder_size(path: Path) -> int:
    """Bytes of a model's files (a variant's build.log is not the model)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and f.name != BUILD_LOG)


@dataclass
class BuildOutput:
    """What the libraries said during a build: Python warnings, log records, and the text written to stderr."""

    warnings: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    stderr: str = ""
    sources: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.warnings) + len(self.records) + sum(1 for line in self.stderr.splitlines() if line.strip())

    def summary(self, name: str, log: Path) -> str:
        """One line for the user (in their language): how many warnings, from which libraries, and where they are."""
        if self.sources:
            return (_("{count} library warning from {sources} while building {name}: see {log}") if self.count == 1
                    else _("{count} library warnings from {sources} while building {name}: see {log}")).format(
                        count=self.count, sources=", ".join(sorted(self.sources)), name=name, log=log)
        return (_("{count} library warning while building {name}: see {log}") if self.count == 1
                else _("{count} library warnings while building {name}: see {log}")).format(
                    count=self.count, name=name, log=log)

    def text(self, name: str) -> str:
        parts = [f"build of {name}: {len(self.warnings)} Python warnings, {len(self.records)} log records, "
                 f"{sum(1 for line in self.stderr.splitlines() if line.strip())} lines on stderr"]
        for title, lines in (("warnings", self.warnings), ("log records", self.records),
                             ("standard error", [self.stderr] if self.stderr.strip() else [])):
            if lines:
                parts += ["", f"## {title}", *lines]
        return "\n".join(parts) + "\n"


def _package(filename: str) -> str | None:
    match = re.search(r"(?:site|dist)-packages[\\/]+([A-Za-z0-9_]+)", filename)
    return match.group(1) if match else None


class _Collect(logging.Handler):
    def __init__(self, out: BuildOutput) -> None:
        super().__init__(logging.NOTSET)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        self.out.records.append(f"{record.levelname} {record.name}: {record.getMessage()}")
        source = record.name.split(".")[0] if record.name != "root" else _package(record.pathname)
        if source:
            self.out.sources.add(source)


@contextlib.contextmanager
def library_output(name: str, log: Path):
    """Route what libraries print inside the block into `log` instead of the terminal: Python warnings, log records
    (onnxruntime's quantizer logs through the root logger, whose handlers are set aside meanwhile) and everything
    written to stderr, from Python or from C (file descriptor 2). Standard output is left alone: the distillation
    draws its progress bars there, and the exporters write nothing to it. Yields the `BuildOutput`."""
    out = BuildOutput()
    root = logging.getLogger()
    handlers = root.handlers[:]
    python_err = io.StringIO()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as c_err, warnings.catch_warnings(record=True) as caught, \
            contextlib.redirect_stderr(python_err):
        saved_fd = _redirect_fd(2, c_err.fileno())
        root.handlers = [_Collect(out)]
        try:
            yield out
        finally:
            root.handlers = handlers
            if saved_fd is not None:
                os.dup2(saved_fd, 2)
                os.close(saved_fd)
            c_err.seek(0)
            out.stderr = python_err.getvalue() + c_err.read().decode("utf-8", "replace")
            for w in caught:
                out.warnings.append(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}")
                if source := _package(w.filename):
                    out.sources.add(source)
            log.write_text(out.text(name), encoding="utf-8")


def _redirect_fd(fd: int, target: int) -> int | None:
    """Point file descriptor `fd` at `target`; returns a copy of the old one to restore (None where it cannot be done)."""
    try:
        saved = os.dup(fd)
    except OSError:
        return None
    os.dup2(target, fd)
    return saved


def compress_bundle(path: str | Path, *, to: str = "onnx", quantize: str = "int8", distill_layers: int | None = None,
                    base: str | None = None, tolerance: float = 1.0, force: bool = False, reporter=None, **options) -> dict:
    """Build one variant into <bundle>/variants/<name>/ for any task's bundle (classification, multi-label, regression,
    NER, retrieval); returns its variant.json. `distill_layers` builds a student
    instead (options: unlabelled, epochs, temperature, alpha). `base` stacks: export/quantize one of the bundle's
    variants (a distilled student) instead of the original, giving e.g. `distilled-3l-onnx-int8`; its parity is
    still measured against the original model, so the gate guards the total accuracy cost."""
    bundle = load_bundle(path)
    if distill_layers is not None and getattr(bundle.make_task(), "targets", None) != "label":
        # the student learns the teacher's class probabilities
        raise ConfigError([("--distill", _("distillation trains on the teacher's class probabilities, so it supports "
                                           "classification bundles only (one label per text); {path} is a {task} "
                                           "bundle").format(path=path, task=bundle.task))])
    if distill_layers is not None:
        kind, name, build_opts = "distilled", f"distilled-{distill_layers}l", {"layers": distill_layers, **options}
    else:
        problems = []
        if to not in variant_kinds or to == "distilled":
            problems.append(("--to", _("unknown target {to}; choose one of: onnx, torch").format(to=repr(to))))
        elif quantize not in variant_kinds.get(to).quantizations:
            why = _("{quantize} is not available for --to {to}; choose one of: {choices}").format(
                quantize=repr(quantize), to=to, choices=", ".join(variant_kinds.get(to).quantizations))
            problems.append(("--quantize", why + ("" if quantize in QUANTIZE else
                                                  _(" (int4 and fp16 are not supported on CPU here)"))))
        if problems:
            raise ConfigError(problems)
        kind, name, build_opts = to, variant_name(to, quantize), {"quantize": quantize}
        if base is not None:
            name, build_opts = f"{base}-{name}", {**build_opts, "base": base}
    split = test_split(bundle)

    root = bundle.path / VARIANTS_DIR
    tmp = root / f".tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if reporter:
            reporter.log(_("building {name} ...").format(name=name))
        t = time.perf_counter()
        log, said = tmp / BUILD_LOG, BuildOutput()
        try:
            with library_output(name, log) as said:
                built = variant_kinds.get(kind).build(bundle, tmp, reporter=reporter, **build_opts)
                build_s = time.perf_counter() - t
                meta = {"name": name, "kind": kind, **build_opts, **built, "model_sha256": bundle.model_sha256}
                original = Predictor.from_bundle(bundle.path, variant="torch")  # the task's own (NER, retrieval: theirs)
                runner = variant_kinds.get(kind).load(bundle, tmp, meta)
                candidate = Predictor.from_bundle(bundle.path, runner=runner)
                scores = score_split(split, candidate)
                result = parity(score_split(split, original), scores, split.y_true, bundle.labels, original.task)
                same = batch_agreement(split, candidate, scores, bundle.labels, original.task)
                if same is not None:
                    result["batch_agreement"] = same
        except Exception:
            if reporter and log.is_file() and said.count:  # kept outside the bundle, which stays as it was
                fd, kept = tempfile.mkstemp(prefix=f"domainfit-{name}-", suffix=f".{BUILD_LOG}")
                os.close(fd)
                shutil.copyfile(log, kept)
                reporter.log(_("the build of {name} failed; {summary}").format(name=name,
                                                                                summary=said.summary(name, Path(kept))))
            raise
        passed = check_gate(name, result, tolerance, force)
        meta.update({"parity": result, "tolerance_points": tolerance, "parity_passed": passed, "forced": force and not passed,
                     "size_mb": round(folder_size(tmp) / 2**20, 2), "build_seconds": round(build_s, 1), "created": now_iso(),
                     "build_log": {"file": BUILD_LOG, "warnings": said.count}})
        write_json(tmp / "variant.json", meta)
        final = root / name
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        seal_bundle(bundle.path)  # the new variant's files join the manifest (the bundle was verified when loaded)
        if reporter and said.count:
            reporter.log(said.summary(name, final / BUILD_LOG))
        return meta
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def describe(meta: dict) -> str:
    p = meta["parity"]
    first = metric_names(p)[0]
    agreement = f"agreement {100 * p['agreement']:.1f}%, " if "agreement" in p else ""
    if p.get("batch_agreement", 1.0) < 1.0:  # dynamic int8: the batch a text is scored in can change its decision
        agreement += f"{100 * (1 - p['batch_agreement']):.1f}% of decisions change with the batch, "
    return (f"{meta['name']}: {first} {100 * p[first]:.2f} ({p[f'{first}_delta_points']:+.2f} points), "
            f"{agreement}max |Δ| {p['max_probability_difference']:.4f}, {meta['size_mb']} MB"
            + ("" if meta["parity_passed"] else "  [FORCED past the parity gate]"))


def read_variant(path: Path) -> dict:
    return json.loads((path / "variant.json").read_text(encoding="utf-8"))
