"""A training run killed with SIGKILL resumes from its checkpoint to the same model as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from tests.conftest import make_rows, write_csv

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _train_cmd(data, out, backbone):
    return [sys.executable, "-m", "domainfit.cli.main", "train", str(data), "-o", str(out), "--model", str(backbone),
            "--epochs", "60", "--batch-size", "4", "--max-length", "32", "--set", "training.patience=null",
            "--set", "training.checkpoint_every=25", "--set", "baselines=[tfidf]"]


def _env():
    return {**os.environ, "PYTHONPATH": SRC}


def test_sigkill_then_resume_equals_uninterrupted(tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "train.csv", make_rows(12, seed=4))
    full = tmp_path / "full"
    subprocess.run(_train_cmd(data, full, tiny_backbone), check=True, env=_env(), capture_output=True, timeout=600)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(data, killed, tiny_backbone), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ckpt = tmp_path / ".killed.partial" / "checkpoints" / "checkpoint.safetensors"  # the staging folder
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)  # let it get past the first checkpoint
    assert proc.poll() is None, "training finished before it could be killed; make the run longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "domainfit.json").exists()  # no bundle from a killed run

    r = subprocess.run(_train_cmd(data, killed, tiny_backbone) + ["--resume"], env=_env(), capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    a = load_file(str(full / "model" / "model.safetensors")) | load_file(str(full / "model" / "head.safetensors"))
    b = load_file(str(killed / "model" / "model.safetensors")) | load_file(str(killed / "model" / "head.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k
