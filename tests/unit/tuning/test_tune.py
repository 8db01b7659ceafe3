"""`domainfit tune` on the tiny backbone with a real Optuna study in a SQLite storage: the defaults are trial 0, the
best trial's bundle becomes the output, the report holds Optuna's plots; the median pruner stops a trial that falls
behind at an epoch; a study killed mid-trial resumes, and two processes work on one study without duplicating trials;
a bad space key, a bad range and a bad storage URL fail before any trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from domainfit.errors import ConfigError
from domainfit.interfaces import SilentReporter, StepEvent
from domainfit.tuning import tune
from domainfit.tuning.study import _PruningReporter, tuning_folder
from tests.conftest import free_port, make_rows, write_csv

ROOT = Path(__file__).resolve().parents[3]
SPACE = "training.lr: {type: float, low: 1.0e-3, high: 2.0e-2, log: true}\ntraining.epochs: {type: int, low: 1, high: 3}\n"


def _config(tmp_path: Path, backbone: Path, name: str = "tuned") -> Path:
    data = write_csv(tmp_path / "rows.csv", make_rows(20, seed=4))
    config = {"data": {"train": str(data)}, "model": {"backbone": str(backbone), "max_length": 32}, "baselines": [],
              "training": {"epochs": 2, "batch_size": 8, "lr": 5e-3, "seed": 1, "threads": 1}, "output": str(tmp_path / name)}
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    (tmp_path / "space.yaml").write_text(SPACE)
    return path


def test_bad_space_and_storage_fail_before_any_trial(tiny_backbone, tmp_path):
    config = _config(tmp_path, tiny_backbone)
    (tmp_path / "bad.yaml").write_text("training.lrr: {type: float, low: 0.1, high: 0.2}\n"
                                       "training.epochs: {type: int, low: 5, high: 2}\n"
                                       "model.dropout: {type: float, low: 0.5, high: 1.5}\n")
    with pytest.raises(ConfigError) as caught:
        tune(config, trials=2, space=tmp_path / "bad.yaml")
    keys = [key for key, _ in caught.value.problems]
    assert keys == ["training.epochs", "training.lrr", "model.dropout"] or sorted(keys) == sorted(
        ["training.epochs", "training.lrr", "model.dropout"])
    assert "low < high" in str(caught.value) and "lrr" in str(caught.value)
    for url, says in ((f"postgresql+psycopg://tuner:pw@127.0.0.1:{free_port()}/study", "cannot open the study storage"),
                      ("not a url", "is not a database URL")):
        with pytest.raises(ConfigError, match=says) as caught:
            tune(config, trials=2, space=tmp_path / "space.yaml", storage=url)
        assert ":pw@" not in str(caught.value)
    assert not list(tuning_folder(tmp_path / "tuned").glob("trial-*"))  # nothing trained


def test_a_study_starts_from_the_defaults_and_keeps_the_best_bundle(tiny_backbone, tmp_path):
    config = _config(tmp_path, tiny_backbone)
    summary = tune(config, trials=3, space=tmp_path / "space.yaml")
    trials = summary["trials"]
    assert trials[0]["defaults"] and trials[0]["params"] == {"training.lr": 5e-3, "training.epochs": 2}
    assert summary["counts"]["COMPLETE"] + summary["counts"]["PRUNED"] == 3
    assert summary["best"]["value"] >= summary["defaults"]["value"]  # the defaults are a trial: never worse
    best_meta = json.loads((tmp_path / "tuned" / "domainfit.json").read_text())
    assert best_meta["config"]["training"]["lr"] == pytest.approx(summary["best"]["params"]["training.lr"])
    assert best_meta["training"]["best_val"] == pytest.approx(summary["best"]["value"])
    folder = tuning_folder(tmp_path / "tuned")
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2 and "优化历史" in html
    assert set(json.loads((folder / "tune.json").read_text())["importances"]) == {"training.lr", "training.epochs"}
    assert len(list(folder.glob("trial-*"))) <= 1  # only the leading trial's bundle is kept


def test_the_median_pruner_stops_a_trial_behind_the_others_at_the_same_epoch():
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=2))
    for value in (0.8, 0.9):
        trial = study.ask()
        trial.report(value, step=1)
        study.tell(trial, value)
    trial = study.ask()
    reporter = _PruningReporter(trial, "macro_f1", 1, SilentReporter())
    reporter.event(StepEvent("step", 3, 10, 0.3, loss=1.0))  # training steps are passed on, not reported
    with pytest.raises(optuna.TrialPruned, match="macro_f1 0.1000 at epoch 1.00"):
        reporter.event(StepEvent("eval", 10, 10, 1.0, metrics={"macro_f1": 0.1}))


def _tune(config: Path, storage: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "domainfit", "tune", str(config), "--space",
                             str(config.parent / "space.yaml"), "--storage", storage, "--study", "shared", *extra],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_a_killed_study_resumes_and_two_processes_share_one_sqlite_study(tiny_backbone, tmp_path):
    config = _config(tmp_path, tiny_backbone)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = _tune(config, storage, "--trials", "8")
    deadline = time.time() + 240
    while time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
        try:
            study = optuna.load_study(study_name="shared", storage=storage)
        except KeyError:  # not created yet
            continue
        if len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) >= 1 and any(
                t.state == optuna.trial.TrialState.RUNNING for t in study.trials):
            break
    os.kill(first.pid, signal.SIGKILL)  # mid-trial
    first.wait()
    killed = [t.number for t in optuna.load_study(study_name="shared", storage=storage).trials
              if t.state == optuna.trial.TrialState.RUNNING]
    assert killed, "the first run was not stopped in the middle of a trial"

    workers = [_tune(config, storage, "--trials", "4", "--set", f"output={tmp_path / name}") for name in ("a", "b")]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stderr.read().decode()[-3000:]
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    finished = [t for t in trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert 4 <= len(finished) <= 5  # both stop at 4 finished between them (one may finish its last one after)
    assert [t.number for t in trials if t.user_attrs.get("defaults")] == [0]  # the defaults once, as trial 0
    assert len({t.number for t in trials}) == len(trials)
    assert all(t.state != optuna.trial.TrialState.COMPLETE for t in trials if t.number in killed)
    assert (tmp_path / "a" / "domainfit.json").is_file() and (tmp_path / "b" / "domainfit.json").is_file()
