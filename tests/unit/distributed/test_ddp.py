"""Distributed data-parallel training with 2 CPU processes (gloo) under `accelerate launch`, on the tiny backbone with
dropout off: the ranks check that they read the same rows, take alternate batches of one order (so 2 processes at
batch size B are one process at B with 2 accumulation steps), average gradients, agree on validation (rank 0's metrics
broadcast), and only rank 0 writes checkpoints and the bundle. `full`, `lora` and NER each match the single-process run
within float tolerance; a DDP run killed after a checkpoint and resumed with --resume lands on the same weights."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
from safetensors.torch import load_file

import domainfit
from domainfit.bundle import stage_path, verify_bundle
from domainfit.training.checkpoint import CHECKPOINT_FILE, load_checkpoint
from tests.conftest import free_port, make_ner_sentences, make_rows, write_conll, write_csv

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def still_backbone(tiny_backbone, tmp_path_factory) -> Path:
    """The tiny backbone without dropout: two runs that see the same batches then make the same updates."""
    folder = tmp_path_factory.mktemp("still-bert") / "bert"
    shutil.copytree(tiny_backbone, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _launch(*args: str, wait: bool = True):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(free_port()), *args]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    if not wait:
        return proc
    out = proc.communicate(timeout=300)[0].decode(errors="replace")
    assert proc.returncode == 0, out[-4000:]
    return out


def _weights(bundle: Path) -> dict[str, torch.Tensor]:
    return {f"{f.name}:{k}": v for f in sorted((bundle / "model").glob("*.safetensors")) for k, v in load_file(f).items()}


def _assert_same_model(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys() and wa
    worst = max((wa[k].float() - wb[k].float()).abs().max().item() for k in wa)
    assert worst < 1e-4, f"weights differ by {worst}"
    ma, mb = (json.loads((p / "domainfit.json").read_text())["training"] for p in (a, b))
    assert ma["steps"] == mb["steps"] and ma["best_step"] == mb["best_step"]
    assert ma["best_val"] == pytest.approx(mb["best_val"], abs=1e-6)
    verify_bundle(b)  # sealed once, complete: rank 1 wrote nothing beside it


def _configs(backbone: Path, tmp: Path) -> dict[str, dict]:
    table = write_csv(tmp / "rows.csv", make_rows(32, seed=2))  # 69 training rows: 18 batches of 4
    conll = write_conll(tmp / "ner.conll", make_ner_sentences(68, seed=3))  # 47 training sentences: 12 batches of 4
    common = {"model": {"backbone": str(backbone), "max_length": 32, "dropout": 0.0}, "baselines": []}
    train = {"epochs": 2, "batch_size": 4, "lr": 5e-3, "seed": 2, "threads": 1}
    return {
        "full": {**common, "data": {"train": str(table)}, "training": train},
        "lora": {**common, "data": {"train": str(table)}, "method": "lora", "method_options": {"dropout": 0.0, "r": 4},
                 "training": {**train, "lr": 1e-2}},
        "ner": {**common, "data": {"train": str(conll)}, "training": train},
    }


def _single(config: dict, out: Path) -> Path:
    """The reference: one process, the same batch size per step (2 accumulated batches of 4)."""
    domainfit.train({**config, "training": {**config["training"], "grad_accum": 2}, "output": str(out)})
    return out


def test_lora_and_ner_under_ddp_match_one_process(still_backbone, tmp_path):
    configs = _configs(still_backbone, tmp_path)
    runs = [{**configs[name], "output": str(tmp_path / f"ddp-{name}")} for name in ("lora", "ner")]
    _launch(str(Path(__file__).with_name("train_several.py")), json.dumps(runs))
    for name in ("lora", "ner"):
        _assert_same_model(_single(configs[name], tmp_path / f"one-{name}"), tmp_path / f"ddp-{name}")


def test_full_under_ddp_through_the_cli_resumes_after_a_kill_and_matches_one_process(still_backbone, tmp_path):
    config = _configs(still_backbone, tmp_path)["full"]
    config["training"] = {**config["training"], "epochs": 6, "checkpoint_every": 3}
    (tmp_path / "full.yaml").write_text(json.dumps({**config, "output": str(tmp_path / "ddp")}))  # JSON is YAML
    train = ["-m", "domainfit", "train", str(tmp_path / "full.yaml")]

    proc = _launch(*train, wait=False)
    checkpoint = stage_path(tmp_path / "ddp") / "checkpoints" / CHECKPOINT_FILE
    deadline = time.time() + 240
    while not checkpoint.is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    doomed = [proc.pid, *(child.pid for child in psutil.Process(proc.pid).children(recursive=True))]
    for pid in doomed:  # the launcher and both ranks, mid-run (the ranks may sit in a session of their own)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    while any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in doomed):
        time.sleep(0.05)
    assert checkpoint.is_file() and not (tmp_path / "ddp").exists(), "the run finished before it could be interrupted"
    saved = load_checkpoint(checkpoint)
    assert len(saved["rng_ranks"]) == 2 and 0 < saved["state"]["step"] < 48  # rank 0 wrote it, with both ranks' RNG

    out = _launch(*train, "--resume")
    assert "resuming from" in out and out.count("bundle: ") == 1  # one process speaks
    _assert_same_model(_single(config, tmp_path / "one"), tmp_path / "ddp")
