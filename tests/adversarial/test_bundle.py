"""A bundle is data, never code: planted pickles never run, paths never leave the bundle, tampered or truncated files are
refused with the file named, training never serves a stale variant, and --resume says what it does.

Each test is the reproduction of a finding of the adversarial review (issue 12, items 1-3), kept after the fix.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import domainfit
from domainfit.bundle import seal_bundle, stage_path, verify_bundle
from domainfit.cli.main import app
from domainfit.errors import BundleError, DomainfitError
from domainfit.training.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import make_pairs, make_rows, write_csv

SRC = str(Path(__file__).resolve().parents[2] / "src")
TEXTS = ["card stolen pin", "loan rate please", "transfer not arrived"]


class _Payload:
    """Unpickling this touches a marker file: proof that loading ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _plant_pickle(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(_Payload(marker)))


def _copy(bundle: Path, dst: Path) -> Path:
    return Path(shutil.copytree(bundle, dst))


def _cli(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real `domainfit` entry point in a fresh process, as a user (or a server) runs it."""
    return subprocess.run([sys.executable, "-m", "domainfit.cli.main", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": SRC}, timeout=300, cwd=cwd)


def _planted_torch_variant(bundle: Path, marker: Path) -> None:
    folder = bundle / "variants" / "torch-int8"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "variant.json").write_text(json.dumps({"kind": "torch", "name": "torch-int8", "file": "model.int8.pt",
                                                     "parity_passed": True,
                                                     "bench": {"sentences_per_s_batch32": 1e9}}))
    _plant_pickle(folder / "model.int8.pt", marker)


# -- item 1: loading a bundle executes code ---------------------------------------------------------------------------

def test_planted_pickle_variant_never_runs_on_predict(tiny_bundle, tmp_path):
    bundle = _copy(tiny_bundle, tmp_path / "b")
    marker = tmp_path / "PWNED"
    _planted_torch_variant(bundle, marker)
    r = _cli("predict", bundle, "--text", "card stolen")
    assert not marker.exists(), "loading the bundle ran the planted pickle"
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "model.int8.pt" in r.stderr and "pickle" in r.stderr  # says which file and why


def test_planted_pickle_with_a_forged_manifest_still_never_runs(tiny_bundle, tmp_path):
    """An attacker who can write the bundle can rewrite its manifest too: the defence is that nothing is unpickled."""
    bundle = _copy(tiny_bundle, tmp_path / "b")
    marker = tmp_path / "PWNED"
    _planted_torch_variant(bundle, marker)
    (bundle / "variants" / "torch-int8" / "model.int8.pt").rename(bundle / "variants" / "torch-int8" / "weights.dat")
    meta = json.loads((bundle / "variants" / "torch-int8" / "variant.json").read_text())
    meta.update(file="weights.dat", model_sha256=domainfit.load(tiny_bundle, variant="torch")._predictor.bundle.model_sha256)
    (bundle / "variants" / "torch-int8" / "variant.json").write_text(json.dumps(meta))
    seal_bundle(bundle)  # the forged manifest
    with pytest.raises(BundleError, match="pickled state dict, which is never loaded"):
        domainfit.load(bundle, variant="torch-int8")
    assert domainfit.load(bundle).variant == "torch"  # auto never picks it: it cannot be loaded
    assert not marker.exists()


@pytest.mark.parametrize("rel", ["model/model.safetensors", "model/head.safetensors"])
def test_a_pickle_disguised_as_safetensors_is_refused_without_running(tiny_bundle, tmp_path, rel):
    bundle = _copy(tiny_bundle, tmp_path / "b")
    marker = tmp_path / "PWNED"
    _plant_pickle(bundle / rel, marker)
    seal_bundle(bundle)  # forged: the manifest matches the planted file
    with pytest.raises(BundleError, match="cannot be loaded"):
        domainfit.load(bundle).predict(TEXTS)
    assert not marker.exists()


def test_planted_checkpoint_never_runs_on_resume(tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "t.csv", make_rows(10, seed=1))
    out = tmp_path / "run"
    marker = tmp_path / "PWNED"
    ckpts = stage_path(out) / "checkpoints"
    _plant_pickle(ckpts / "checkpoint.pt", marker)  # the old file name, read by torch.load before the fix
    _plant_pickle(ckpts / "checkpoint.safetensors", marker)  # and the new one, holding a pickle
    r = _cli("train", data, "-o", out, "--model", tiny_backbone, "--epochs", "1", "--max-length", "32", "--resume",
             "--set", "baselines=[]")
    assert not marker.exists(), "resuming ran the planted checkpoint"
    assert r.returncode == 2 and "Traceback" not in r.stderr and "cannot be read" in r.stderr, r.stderr[-1500:]


def test_checkpoints_round_trip_as_safetensors_with_every_type(tmp_path):
    state = {"model": {"w": torch.randn(3, 2)}, "optimizer": {"state": {0: {"step": torch.tensor(4.0), "exp_avg": torch.ones(2)}},
                                                               "param_groups": [{"lr": 1e-3, "params": [0], "betas": (0.9, 0.999)}]},
             "rng": torch.get_rng_state(), "state": {"step": 7, "best_score": float("-inf"), "history": [{"loss": 0.5}]},
             "best": None}
    save_checkpoint(tmp_path / "c.safetensors", state)
    back = load_checkpoint(tmp_path / "c.safetensors")
    assert back["optimizer"]["state"][0]["exp_avg"].tolist() == [1.0, 1.0]  # int keys kept: the optimizer needs them
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999) and back["state"]["best_score"] == float("-inf")
    assert torch.equal(back["rng"], state["rng"]) and torch.equal(back["model"]["w"], state["model"]["w"])
    (tmp_path / "c.safetensors").write_bytes((tmp_path / "c.safetensors").read_bytes()[:100])  # truncated
    with pytest.raises(DomainfitError, match="cannot be read"):
        load_checkpoint(tmp_path / "c.safetensors")


# -- item 2: paths in a bundle escape it; tampered files; the manifest ------------------------------------------------

def test_a_variant_file_outside_the_bundle_is_refused(tiny_bundle, tmp_path):
    other = _copy(tiny_bundle, tmp_path / "other")
    domainfit.compress(other, to="onnx", quantize="none")
    bundle = _copy(tiny_bundle, tmp_path / "b")
    domainfit.compress(bundle, to="onnx", quantize="none")
    meta_path = bundle / "variants" / "onnx-fp32" / "variant.json"
    meta = json.loads(meta_path.read_text())
    meta["file"] = "../../../other/variants/onnx-fp32/model.onnx"
    meta_path.write_text(json.dumps(meta))
    seal_bundle(bundle)  # even with a forged manifest
    with pytest.raises(BundleError, match="variant.json: file.*outside the bundle|outside the bundle"):
        domainfit.load(bundle, variant="onnx-fp32")
    meta["file"] = "/etc/passwd"
    meta_path.write_text(json.dumps(meta))
    seal_bundle(bundle)
    with pytest.raises(BundleError, match="not a path inside the bundle"):
        domainfit.load(bundle, variant="onnx-fp32")


def test_an_adapter_dir_outside_the_bundle_is_refused(tiny_backbone, tmp_path):
    bundle = _lora_bundle(tiny_backbone, tmp_path)
    meta = json.loads((bundle / "domainfit.json").read_text())
    assert meta["model"]["encoder"]["format"] == "peft"
    meta["model"]["encoder"]["adapter_dir"] = "../../elsewhere"
    (bundle / "domainfit.json").write_text(json.dumps(meta))
    seal_bundle(bundle)
    with pytest.raises(BundleError, match="adapter_dir"):
        domainfit.load(bundle)


def _lora_bundle(tiny_backbone, folder: Path) -> Path:
    data = write_csv(folder / "t.csv", make_rows(12, seed=2))
    return domainfit.train({"method": "lora", "data": {"train": str(data)}, "baselines": [],
                            "model": {"backbone": str(tiny_backbone), "max_length": 32},
                            "training": {"epochs": 1, "batch_size": 8}, "output": str(folder / "lora")}).path


def _retrieval_bundle(tiny_backbone, folder: Path) -> Path:
    rows = make_pairs(6, seed=3)
    pairs = write_csv(folder / "pairs.csv", rows, header=("query", "answer"))
    return domainfit.train({"task": "retrieval", "method": "full", "data": {"train": str(pairs)}, "baselines": [],
                            "model": {"backbone": str(tiny_backbone), "max_length": 32},
                            "training": {"epochs": 1, "batch_size": 8}, "output": str(folder / "faq")}).path


@pytest.fixture(scope="module")
def artifact_bundles(tiny_backbone, tmp_path_factory):
    """One bundle of each kind of artifact a bundle can hold: encoder + head, adapter, variant, index."""
    folder = tmp_path_factory.mktemp("artifacts")
    from tests.conftest import train_tiny_bundle

    plain = train_tiny_bundle(tiny_backbone, folder / "plain", epochs=1)
    domainfit.compress(plain, to="onnx", quantize="none")
    return {"plain": plain, "lora": _lora_bundle(tiny_backbone, folder), "faq": _retrieval_bundle(tiny_backbone, folder)}


@pytest.mark.parametrize(("kind", "rel"), [("plain", "model/model.safetensors"), ("plain", "model/head.safetensors"),
                                           ("plain", "model/tokenizer.json"), ("plain", "domainfit.json"),
                                           ("plain", "variants/onnx-fp32/model.onnx"),
                                           ("plain", "variants/onnx-fp32/variant.json"),
                                           ("lora", "model/adapter/adapter_model.safetensors"),
                                           ("faq", "index/answers.csv")])
@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_a_tampered_artifact_is_refused_naming_the_file(artifact_bundles, tmp_path, kind, rel, damage):
    bundle = _copy(artifact_bundles[kind], tmp_path / "b")
    target = bundle / rel
    data = target.read_bytes()
    if damage == "flip":
        target.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    else:
        target.unlink()
    with pytest.raises(BundleError) as info:
        domainfit.load(bundle).predict(TEXTS)
    assert rel in str(info.value) and "how to fix" in str(info.value)
    assert any(rel in p for p in verify_bundle(bundle))
    r = _cli("bundle", "verify", bundle)
    assert r.returncode == 3 and rel in r.stdout


def test_a_sound_bundle_verifies_and_a_file_added_to_variants_is_not_loaded(artifact_bundles, tmp_path):
    bundle = _copy(artifact_bundles["plain"], tmp_path / "b")
    assert verify_bundle(bundle) == []
    assert _cli("bundle", "verify", bundle).returncode == 0
    planted = bundle / "variants" / "onnx-int8"
    shutil.copytree(bundle / "variants" / "onnx-fp32", planted)  # a copy dropped in by hand: never sealed
    (planted / "variant.json").write_text((planted / "variant.json").read_text().replace("onnx-fp32", "onnx-int8"))
    assert domainfit.load(bundle).variant == "onnx-fp32"  # auto skips the unsealed one
    with pytest.raises(BundleError, match="not in the bundle's manifest"):
        domainfit.load(bundle, variant="onnx-int8")


def test_a_bundle_without_a_manifest_says_how_to_seal_it(tiny_bundle, tmp_path):
    bundle = _copy(tiny_bundle, tmp_path / "b")
    (bundle / "manifest.json").unlink()
    with pytest.raises(BundleError, match="domainfit bundle seal"):
        domainfit.load(bundle)
    assert _cli("bundle", "seal", bundle).returncode == 0
    assert domainfit.load(bundle).predict(TEXTS)


# -- item 3: training into an existing folder keeps the old variants ----------------------------------------------------

def test_training_into_a_bundle_needs_overwrite_and_never_keeps_old_variants(tiny_bundle, tiny_backbone, tmp_path):
    stale = _copy(tiny_bundle, tmp_path / "stale")
    domainfit.compress(stale, to="onnx", quantize="int8", tolerance=100)
    assert domainfit.load(stale).variant == "onnx-int8"
    relabelled = write_csv(tmp_path / "relabelled.csv", [(t, {"card": "loan", "loan": "transfer", "transfer": "card"}[y])
                                                       for t, y in make_rows(20, seed=5)])
    args = ("train", relabelled, "--method", "head", "-o", stale, "--model", tiny_backbone, "--max-length", "32",
            "--set", "baselines=[]")
    r = _cli(*args)
    assert r.returncode == 2 and "--overwrite" in r.stderr and "Traceback" not in r.stderr
    assert (stale / "variants" / "onnx-int8").is_dir()  # refused: nothing touched

    r = _cli(*args, "--overwrite")
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (stale / "variants").exists()  # the new bundle replaced the old one whole
    model = domainfit.load(stale)
    assert model.variant == "torch" and verify_bundle(stale) == []
    assert not stage_path(stale).exists() and not (tmp_path / ".stale.old").exists()


def test_a_variant_bound_to_other_weights_is_never_served(tiny_bundle, tmp_path):
    bundle = _copy(tiny_bundle, tmp_path / "b")
    domainfit.compress(bundle, to="onnx", quantize="none")
    other = _copy(tiny_bundle, tmp_path / "other")
    head = other / "model" / "head.safetensors"
    from safetensors.torch import load_file, save_file

    weights = load_file(str(head))
    save_file({k: v + 1 for k, v in weights.items()}, str(head))  # "retrained": other weights
    shutil.copytree(bundle / "variants", other / "variants")  # the old variant copied beside them
    seal_bundle(other)
    assert domainfit.load(other).variant == "torch"
    with pytest.raises(BundleError, match="built from another model"):
        domainfit.load(other, variant="onnx-fp32")


def test_a_run_that_fails_half_way_leaves_the_old_bundle_whole(tiny_bundle, tiny_backbone, tmp_path):
    bundle = _copy(tiny_bundle, tmp_path / "b")
    before = {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
    bad = tmp_path / "four-labels.csv"
    write_csv(bad, make_rows(10, seed=1) + [("weather in paris", "weather")] * 10)

    class Boom(Exception):
        pass

    class FailAfterFirstStep:
        def progress(self, description, total):
            return lambda n: None

        def log(self, message):
            pass

        def event(self, event):
            if event.kind == "step":
                raise Boom

    with pytest.raises(Boom):
        domainfit.train({"method": "full", "data": {"train": str(bad)}, "baselines": [], "output": str(bundle),
                         "model": {"backbone": str(tiny_backbone), "max_length": 32}, "training": {"epochs": 2}},
                        overwrite=True, reporter=FailAfterFirstStep())
    after = {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
    assert after == before and verify_bundle(bundle) == []


def test_a_non_bundle_folder_is_refused_before_any_work(tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "t.csv", make_rows(10, seed=1))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my notes")
    with pytest.raises(BundleError, match="not empty and is not a domainfit bundle"):
        domainfit.train({"data": {"train": str(data)}, "output": str(tmp_path / "mine"),
                         "model": {"backbone": str(tiny_backbone)}}, overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "my notes"


# -- item 10: --resume says what it does ---------------------------------------------------------------------------------

def test_resume_on_a_finished_bundle_says_so_at_once(tiny_bundle, tmp_path):
    bundle = _copy(tiny_bundle, tmp_path / "b")
    data = write_csv(tmp_path / "t.csv", make_rows(10, seed=1))
    r = CliRunner().invoke(app, ["train", str(data), "-o", str(bundle), "--resume"])
    assert r.exit_code != 0
    assert isinstance(r.exception, BundleError) and "nothing to resume" in str(r.exception)
    assert "finished bundle" in str(r.exception)


def test_resume_says_it_is_resuming_and_from_which_step(tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "t.csv", make_rows(12, seed=4))
    out = tmp_path / "run"
    logs: list[str] = []

    class Interrupt(Exception):
        pass

    class StopAtCheckpoint:
        def progress(self, description, total):
            return lambda n: None

        def log(self, message):
            logs.append(message)

        def event(self, event):
            if event.kind == "checkpoint" and event.step == 4 and not any("resuming" in m for m in logs):
                raise Interrupt

    cfg = {"method": "full", "data": {"train": str(data)}, "baselines": [], "output": str(out),
           "model": {"backbone": str(tiny_backbone), "max_length": 32},
           "training": {"epochs": 3, "batch_size": 4, "checkpoint_every": 2, "patience": None}}
    with pytest.raises(Interrupt):
        domainfit.train(cfg, reporter=StopAtCheckpoint())
    assert not out.exists()
    domainfit.train(cfg, resume=True, reporter=StopAtCheckpoint())
    assert any("resuming from" in m and "(step 4)" in m for m in logs), logs
    assert verify_bundle(out) == []
