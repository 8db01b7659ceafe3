"""`domainfit compress`: build a variant, check it against the original on the test split, keep it only if it passes."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from domainfit.bundle import load_bundle, now_iso, write_json
from domainfit.compression.parity import check_gate, metric_names, parity, test_split
from domainfit.compression.variants import VARIANTS_DIR, variant_kinds, variant_name
from domainfit.errors import ConfigError

__all__ = ["compress_bundle", "folder_size"]

QUANTIZE = ("none", "int8", "bf16")


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def compress_bundle(path: str | Path, *, to: str = "onnx", quantize: str = "int8", distill_layers: int | None = None,
                    base: str | None = None, tolerance: float = 1.0, force: bool = False, reporter=None, **options) -> dict:
    """Build one variant into <bundle>/variants/<name>/ for any task's bundle (classification, multi-label, regression,
    NER, retrieval); returns its variant.json. `distill_layers` builds a student
    instead (options: unlabelled, epochs, temperature, alpha). `base` stacks: export/quantize one of the bundle's
    variants (a distilled student) instead of the original, giving e.g. `distilled-3l-onnx-int8`; its parity is
    still measured against the original model, so the gate guards the total accuracy cost."""
    from domainfit.predict import Predictor

    bundle = load_bundle(path)
    if distill_layers is not None and bundle.task != "classification":  # the student learns the class probabilities
        raise ConfigError([("--distill", f"distillation trains on the teacher's class probabilities, so it supports "
                                         f"classification bundles only; {path} is a {bundle.task} bundle")])
    if distill_layers is not None:
        kind, name, build_opts = "distilled", f"distilled-{distill_layers}l", {"layers": distill_layers, **options}
    else:
        problems = []
        if to not in variant_kinds or to == "distilled":
            problems.append(("--to", f"unknown target {to!r}; choose one of: onnx, torch"))
        elif quantize not in variant_kinds.get(to).quantizations:
            problems.append(("--quantize", f"{quantize!r} is not available for --to {to}; choose one of: "
                                           f"{', '.join(variant_kinds.get(to).quantizations)}"
                             + ("" if quantize in QUANTIZE else " (int4 and fp16 are not supported on CPU here)")))
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
            reporter.log(f"building {name} ...")
        t = time.perf_counter()
        built = variant_kinds.get(kind).build(bundle, tmp, reporter=reporter, **build_opts)
        build_s = time.perf_counter() - t
        meta = {"name": name, "kind": kind, **build_opts, **built}
        original = Predictor.from_bundle(bundle.path, variant="torch")  # the task's own predictor (NER, retrieval: theirs)
        runner = variant_kinds.get(kind).load(bundle, tmp, meta)
        candidate = Predictor.from_bundle(bundle.path, runner=runner)
        result = parity(split.score(original), split.score(candidate), split.y_true, bundle.labels, original.task)
        passed = check_gate(name, result, tolerance, force)
        meta.update({"parity": result, "tolerance_points": tolerance, "parity_passed": passed, "forced": force and not passed,
                     "size_mb": round(folder_size(tmp) / 2**20, 2), "build_seconds": round(build_s, 1), "created": now_iso()})
        write_json(tmp / "variant.json", meta)
        final = root / name
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        return meta
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def describe(meta: dict) -> str:
    p = meta["parity"]
    first = metric_names(p)[0]
    agreement = f"agreement {100 * p['agreement']:.1f}%, " if "agreement" in p else ""
    return (f"{meta['name']}: {first} {100 * p[first]:.2f} ({p[f'{first}_delta_points']:+.2f} points), "
            f"{agreement}max |Δ| {p['max_probability_difference']:.4f}, {meta['size_mb']} MB"
            + ("" if meta["parity_passed"] else "  [FORCED past the parity gate]"))


def read_variant(path: Path) -> dict:
    return json.loads((path / "variant.json").read_text(encoding="utf-8"))
