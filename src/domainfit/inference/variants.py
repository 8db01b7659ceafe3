"""Compressed variants of a bundle, each in <bundle>/variants/<name>/ with a variant.json, and how to build and load them.

    onnx-fp32   the model exported to ONNX (torch.onnx, opset 17, dynamic batch and sequence axes; a token head's
                logits keep the sequence axis), run by onnxruntime
    onnx-int8   the same, weights dynamically quantized to int8 by onnxruntime's quantizer (MatMul, Gather); the
                activations are quantized per call with the range of the whole batch, so a text's scores (now and then
                its label) depend on the texts it shares a batch with
    onnx-int8-static  the same quantizer with static activation ranges (QDQ, MinMax calibration on up to 256 of the
                bundle's own training texts, uint8 activations, int8 per-channel weights, MatMul only): a text's
                result no longer depends on its batch, at some speed (bench/results/compression.md)
    torch-int8  PyTorch dynamic int8 quantization of the linear layers (torch.ao.quantization.quantize_dynamic), stored
                as a recipe only: the quantized module is rebuilt from the bundle's safetensors weights at load (the
                rebuild is deterministic), so no pickled state dict is ever written or read
    torch-bf16  the PyTorch model under bf16 autocast (fast only where the CPU/GPU has native bf16)
    distilled-<k>l  a smaller student trained from the teacher (see distill.py), run in PyTorch
    <base>-onnx-int8 ...  a variant compressed further (`--from distilled-3l --to onnx --quantize int8`)

A kind is one registered class with `build(bundle, folder, **options) -> dict` and `load(bundle, folder, meta) -> Runner`.

A variant is bound to the exact model it was built from: variant.json holds `model_sha256` (the bundle's
`Bundle.model_sha256`), and a variant whose model has changed since, whose files are not in the bundle's manifest, or
whose `file` leads outside its folder is never chosen and refused when asked for by name.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from pathlib import Path

import torch

from domainfit.bundle import Bundle, inside
from domainfit.errors import BundleError
from domainfit.i18n import _
from domainfit.inference.runners import EMBEDDING_OUTPUT, OnnxRunner, Runner, TorchRunner, WithEmbedding
from domainfit.registry import Registry
from domainfit.training.precision import bf16_native

__all__ = ["VARIANTS_DIR", "copy_own_detector", "export_onnx", "list_variants", "load_runner", "own_detector", "reads_embeddings", "unusable_variants", "variant_kinds", "variant_name"]

VARIANTS_DIR = "variants"
variant_kinds: Registry = Registry("variant kind", "domainfit.compression.distill")


def variant_name(to: str, quantize: str) -> str:
    return f"{to}-{'fp32' if quantize == 'none' else quantize}"


def list_variants(bundle: Bundle) -> dict[str, dict]:
    """{name: variant.json} of every variant the bundle holds that may run: sealed in the manifest and built from the
    bundle's model as it is now (`unusable_variants` says why the others may not)."""
    return _survey(bundle)[0]


def unusable_variants(bundle: Bundle) -> dict[str, str]:
    """{name: why it is not used} of the variant folders that fail `list_variants`'s checks."""
    return _survey(bundle)[1]


def _survey(bundle: Bundle) -> tuple[dict[str, dict], dict[str, str]]:
    root = bundle.path / VARIANTS_DIR
    usable: dict[str, dict] = {}
    refused: dict[str, str] = {}
    if not root.is_dir():
        return usable, refused
    listed = set(bundle.manifest.get("files", {}))
    model_sha = bundle.model_sha256
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        rel = f"{VARIANTS_DIR}/{folder.name}"
        files = [f.relative_to(bundle.path).as_posix() for f in folder.rglob("*") if f.is_file() or f.is_symlink()]
        unlisted = [f for f in files if f not in listed]
        if f"{rel}/variant.json" not in files:
            refused[folder.name] = _("no variant.json")
        elif unlisted:
            refused[folder.name] = _("{files} not in the bundle's manifest (added after the bundle was "
                                     "sealed)").format(files=", ".join(unlisted[:3]))
        else:
            try:
                meta = json.loads((folder / "variant.json").read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                refused[folder.name] = _("variant.json cannot be read ({error})").format(error=e)
                continue
            if not isinstance(meta, dict) or meta.get("kind") not in variant_kinds:
                refused[folder.name] = _("variant.json names no known kind (kinds: {kinds})").format(
                    kinds=", ".join(variant_kinds))
            elif (problem := _kind_problem(folder, meta)) is not None:
                refused[folder.name] = problem
            elif meta.get("model_sha256") != model_sha:
                refused[folder.name] = _("built from another model than the bundle holds now (model_sha256 differs): "
                                         "rebuild it with `domainfit compress {path} ...`").format(path=bundle.path)
            else:
                usable[folder.name] = meta
    return usable, refused


def _kind_problem(folder: Path, meta: dict) -> str | None:
    """What the variant's kind finds wrong with its variant.json before loading anything (None: nothing)."""
    check = getattr(variant_kinds.get(meta["kind"]), "problem", None)
    if check is None:
        return None
    try:
        return check(folder, meta)
    except BundleError as e:
        return e.message


def plain_model(bundle: Bundle, base: str | None = None):
    """The bundle's model with any adapter merged in, ready to export or quantize (a copy; the bundle is untouched).
    `base`: start from one of the bundle's variants instead (a distilled student), to stack compressions."""
    if base is not None:
        return _variant_model(bundle, base)
    model, tokenizer = bundle.load_model()
    model = copy.deepcopy(model)
    if hasattr(model.encoder, "merge_and_unload"):  # peft: fold the adapter into the weights
        model.encoder = model.encoder.merge_and_unload()
    model.eval()
    return model, tokenizer


def _variant_model(bundle: Bundle, base: str):
    """The fp32 PyTorch model of variant `base` (a distilled student), to export or quantize in turn."""
    from transformers import AutoTokenizer

    held = list_variants(bundle)
    if base not in held:
        raise BundleError(_("{path} has no variant {base} to start from").format(path=bundle.path, base=repr(base)),
                          where=f"--from {base}",
                          hint=_("variants it holds: {held}; build one first, e.g. "
                                 "`domainfit compress {path} --distill --layers 3`").format(
                              held=", ".join(held) or _("none"), path=bundle.path))
    runner = load_variant(bundle, base)
    model = getattr(runner, "model", None)
    quantized = model is not None and any(".quantized" in type(m).__module__ for m in model.modules())
    if model is None or quantized or getattr(runner, "bf16", False):
        raise BundleError(_("variant {base} is not an fp32 PyTorch model, so it cannot be compressed further").format(
            base=repr(base)), where=f"--from {base}", hint=_("start from the original model or a distilled student"))
    model.eval()
    return model, AutoTokenizer.from_pretrained(str(bundle.model_dir))


def reads_embeddings(bundle: Bundle) -> bool:
    """Whether the bundle's out-of-scope detector reads the pooled embedding (Mahalanobis, kNN), which its ONNX
    variants must then output beside the logits."""
    state = bundle.meta.task_state.get("out_of_scope")
    return isinstance(state, dict) and bool(state.get("needs_embeddings"))


def own_detector(runner: Runner, folder: Path, meta: dict) -> Runner:
    """A variant whose embeddings are not the model's (a distilled student, and what is compressed from it) carries
    its own out-of-scope detector, refitted on them: variant.json `ood` and its file in the variant's folder. The
    Predictor reads `runner.ood_state` and `runner.ood_root`."""
    if meta.get("ood"):
        runner.ood_state, runner.ood_root = meta["ood"], folder
    return runner


def copy_own_detector(bundle: Bundle, base: str | None, folder: Path) -> dict:
    """variant.json's `ood` of a variant compressed from `base`, its detector file copied along ({} when none)."""
    if base is None:
        return {}
    meta = list_variants(bundle).get(base) or {}
    own = meta.get("ood")
    if not own:
        return {}
    if own.get("file"):
        import shutil

        source = inside(bundle.path / VARIANTS_DIR / base, own["file"], key="variant.json: ood.file")
        target = inside(folder, own["file"], key="variant.json: ood.file")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return {"ood": own}


def export_onnx(model: torch.nn.Module, tokenizer, path: Path, opset: int = 17, *,
                logits_axes: dict[int, str] | None = None, with_embedding: bool = False) -> Path:
    """ONNX export of the whole model (encoder, pooling, head) → logits, dynamic batch and sequence axes.
    `logits_axes`: the dynamic axes of the output; by default batch, and also sequence for a model whose head scores
    every token (pooling "tokens": (batch, sequence, labels) logits, entity recognition).
    The TorchScript exporter (`dynamo=False`) matched PyTorch to 5e-6 here; the dynamo one needs onnxscript.
    `with_embedding`: a second output, the pooled embedding (an out-of-scope detector reads it)."""
    if logits_axes is None:
        logits_axes = {0: "batch", 1: "sequence"} if getattr(model, "pooling", None) == "tokens" else {0: "batch"}
    sample = tokenizer(["an example sentence for export", "short"], padding=True, return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"])
    path.parent.mkdir(parents=True, exist_ok=True)
    outputs, axes = ["logits"], {"logits": logits_axes}
    if with_embedding:
        model, outputs, axes = WithEmbedding(model, pair=True), [*outputs, EMBEDDING_OUTPUT], {**axes, EMBEDDING_OUTPUT: {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(model, args, str(path), input_names=["input_ids", "attention_mask"], output_names=outputs,
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                        **axes},
                          opset_version=opset, dynamo=False, do_constant_folding=True)
    return path


CALIBRATION_TEXTS = 256  # of the bundle's training texts, for the static ranges of onnx-int8-static
CALIBRATION_BATCH = 16


def calibration_batches(bundle: Bundle, tokenizer, limit: int = CALIBRATION_TEXTS) -> list[dict]:
    """Model inputs for static quantization: a seeded sample of the bundle's training texts (data/train.csv, column
    `text`), cleaned and tokenized exactly as the Predictor does, in batches padded to their longest member."""
    import numpy as np
    import pandas as pd

    from domainfit.backbones.encoder import tokenize
    from domainfit.data.clean import cleaner_for
    from domainfit.errors import ConfigError
    from domainfit.inference.runners import pad_batch

    path = bundle.path / "data" / "train.csv"
    frame = pd.DataFrame()
    if path.is_file():
        frame = pd.read_csv(bundle.file("data/train.csv", key="data/train.csv"), dtype=str, keep_default_na=False)
    if "text" not in frame.columns or frame.empty:
        why = _("int8-static calibrates on the bundle's training texts ({path}, column `text`), which this bundle "
                "does not have: use --quantize int8").format(path=path)
        raise ConfigError([("--quantize", why)])
    texts = frame["text"].sample(n=min(limit, len(frame)), random_state=0).tolist()
    clean = cleaner_for(bundle.meta.config["data"])
    ids = tokenize(tokenizer, [clean(t) for t in texts], bundle.meta.model.max_length)
    pad = tokenizer.pad_token_id or 0
    batches = []
    for i in range(0, len(ids), CALIBRATION_BATCH):
        input_ids, mask = pad_batch(ids[i: i + CALIBRATION_BATCH], pad)
        batches.append({"input_ids": input_ids.astype(np.int64), "attention_mask": mask.astype(np.int64)})
    return batches


def _quantize_static(src: Path, out: Path, batches: list[dict]) -> dict:
    """onnxruntime's static quantizer (QDQ): activation ranges read from `batches` (MinMax), uint8 activations and
    int8 per-channel weights (the pairing onnxruntime recommends on x86), MatMul nodes only (LayerNorm, softmax and
    GELU stay fp32, where static int8 costs transformers most accuracy)."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = iter(batches)

        def get_next(self):
            return next(self.left, None)

    quantize_static(str(src), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                    calibrate_method=CalibrationMethod.MinMax)
    return {"calibration": {"texts": sum(len(b["input_ids"]) for b in batches), "method": "minmax",
                            "activations": "uint8, static per tensor", "weights": "int8 per channel", "ops": ["MatMul"]}}


@variant_kinds.register("onnx")
class OnnxKind:
    quantizations = ("none", "int8", "int8-static")

    @staticmethod
    def build(bundle: Bundle, folder: Path, *, quantize: str = "none", base: str | None = None, reporter=None) -> dict:
        model, tokenizer = plain_model(bundle, base)
        batches = calibration_batches(bundle, tokenizer) if quantize == "int8-static" else None  # refused before any work
        fp32 = folder / "model.onnx"
        embedding = reads_embeddings(bundle)
        outputs = {"outputs": ["logits", EMBEDDING_OUTPUT]} if embedding else {}
        outputs.update(copy_own_detector(bundle, base, folder))
        if quantize == "none":
            export_onnx(model, tokenizer, fp32, with_embedding=embedding)
            return {"file": "model.onnx", **outputs}
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = folder / "model.fp32.onnx"
        export_onnx(model, tokenizer, tmp, with_embedding=embedding)
        src, preprocessed = tmp, False
        try:  # shape inference + graph optimisation first, as onnxruntime recommends before quantizing
            from onnxruntime.quantization.shape_inference import quant_pre_process

            # it writes scratch files (sym_shape_infer_temp.onnx, <uuid>.data) into the working directory
            with _working_directory(folder):
                quant_pre_process(str(tmp.resolve()), str((folder / "model.pre.onnx").resolve()), skip_symbolic_shape=False)
            src, preprocessed = folder / "model.pre.onnx", True
        except Exception:  # noqa: BLE001 - pre-processing is an optimisation; quantize the plain export instead
            pass
        extra: dict = {}
        if quantize == "int8-static":
            file = "model.int8-static.onnx"
            with _working_directory(folder):  # the calibrator writes its augmented model beside the input
                extra = _quantize_static(src.resolve(), (folder / file).resolve(), batches)
        else:
            file = "model.int8.onnx"
            quantize_dynamic(str(src), str(folder / file), weight_type=QuantType.QInt8)
        for f in [tmp, folder / "model.pre.onnx", *folder.glob("*.data"), folder / "sym_shape_infer_temp.onnx",
                  *folder.glob("augmented_model*.onnx")]:
            f.unlink(missing_ok=True)
        return {"file": file, "preprocessed": preprocessed, **extra, **outputs}

    @staticmethod
    def load(bundle: Bundle, folder: Path, meta: dict, *, threads: int | None = None) -> Runner:
        path = inside(folder, meta["file"], key="variant.json: file")
        if path.suffix != ".onnx":
            raise BundleError(_("variant.json names {file}, not an .onnx file").format(file=repr(meta["file"])),
                              where=f"{folder}/variant.json: file",
                              hint=_("rebuild the variant with `domainfit compress`"))
        return own_detector(OnnxRunner(path, _pad_id(bundle), name=meta["name"], threads=threads), folder, meta)

    @staticmethod
    def problem(folder: Path, meta: dict) -> str | None:
        path = inside(folder, str(meta.get("file", "")), key="variant.json: file")
        return None if path.suffix == ".onnx" else _("variant.json names {file}, not an .onnx file").format(
            file=repr(meta.get("file")))


@variant_kinds.register("torch")
class TorchKind:
    quantizations = ("int8", "bf16")

    @staticmethod
    def build(bundle: Bundle, folder: Path, *, quantize: str = "int8", base: str | None = None, reporter=None) -> dict:
        if base is not None:
            raise BundleError(_("--from stacks compressions through ONNX only"), where=f"--from {base}",
                              hint=_("use --to onnx with --from {base}").format(base=base))
        if quantize == "bf16":
            native = bf16_native(torch.device("cpu"))
            return {"autocast": "bf16", "native_bf16": native,
                    "note": "native bf16 on this CPU" if native else
                    "this CPU has no native bf16 (AVX512-BF16/AMX): torch emulates it, far slower than fp32"}
        # A recipe, not weights: dynamic quantization of the bundle's own (safetensors) weights is deterministic, so
        # the int8 module is rebuilt at load instead of unpickling a quantized state dict.
        return {"recipe": {"quantize_dynamic": "torch.nn.Linear", "dtype": "qint8"}}

    @staticmethod
    def load(bundle: Bundle, folder: Path, meta: dict, *, threads: int | None = None) -> Runner:
        model, _unused = plain_model(bundle)
        if meta.get("autocast") == "bf16":
            return TorchRunner(model, _pad_id(bundle), name=meta["name"], bf16=True)
        if "recipe" not in meta:
            raise BundleError(_("variant {name} was written by an older domainfit as a pickled state dict, "
                                "which is never loaded").format(name=repr(meta.get("name"))),
                              where=f"{folder}/variant.json",
                              hint=_("rebuild it: `domainfit compress {path} --to torch --quantize int8`").format(
                                  path=bundle.path))
        return TorchRunner(_quantize_torch(model), _pad_id(bundle), name=meta["name"])

    @staticmethod
    def problem(folder: Path, meta: dict) -> str | None:
        if meta.get("autocast") == "bf16" or "recipe" in meta:
            return None
        return _("written by an older domainfit as a pickled state dict, which is never loaded: rebuild it with "
                 "`domainfit compress ... --to torch --quantize int8`")


@contextlib.contextmanager
def _working_directory(path: Path):
    """Run a library that writes scratch files into the current directory inside `path` instead."""
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _quantize_torch(model: torch.nn.Module) -> torch.nn.Module:
    import warnings

    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao, but still works
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _pad_id(bundle: Bundle) -> int:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(bundle.model_dir)).pad_token_id or 0


def load_runner(bundle: Bundle, name: str, *, threads: int | None = None, device: str = "cpu") -> Runner:
    """The runner of `name`: "torch" (the model as trained) or one of the bundle's variants."""
    if name == "torch":
        model, tokenizer = bundle.load_model()
        return TorchRunner(model, tokenizer.pad_token_id or 0, name="torch", device=device)
    return load_variant(bundle, name, threads=threads)


def load_variant(bundle: Bundle, name: str, *, threads: int | None = None) -> Runner:
    variants, refused = _survey(bundle)
    if name in refused:
        raise BundleError(_("variant {name} is not loaded: {why}").format(name=repr(name), why=refused[name]),
                          where=str(bundle.path / VARIANTS_DIR / name),
                          hint=_("rebuild it with `domainfit compress {path} ...`, or delete its folder").format(
                              path=bundle.path))
    if name not in variants:
        raise BundleError(_("the bundle has no variant {name} (it has: {held})").format(
            name=repr(name), held=", ".join(variants) or _("none")),
                          where=str(bundle.path),
                          hint=_("create it with `domainfit compress {path} ...`").format(path=bundle.path))
    meta = variants[name]
    return variant_kinds.get(meta["kind"]).load(bundle, bundle.path / VARIANTS_DIR / name, meta, threads=threads)
