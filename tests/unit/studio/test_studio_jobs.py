"""Studio jobs in real worker processes on the tiny backbone: start and progress, cancel, resume after a studio
restart (the worker killed mid-run, the job picked up again from its checkpoint), and a failure shown with its error."""

from __future__ import annotations

import os
import signal
import time

import pytest
from fastapi.testclient import TestClient

from domainfit.studio import StudioSettings, create_studio
from domainfit.studio.jobs import JobStore


def _config(backbone, **more) -> dict:
    return {"data.train": "tickets.csv", "model.backbone": str(backbone), "model.max_length": "32", "training.batch_size": "8",
            "training.lr": "0.005", **more}


def _wait_for(store: JobStore, job_id: str, predicate, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        store.reap()
        job = store.get(job_id)
        if predicate(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached the expected state: {store.get(job_id)}")


@pytest.fixture()
def studio(workdir):
    with TestClient(create_studio(StudioSettings(workdir=workdir))) as client:
        yield client


def test_a_job_runs_in_a_worker_and_reports_progress(studio, workdir, tiny_backbone):
    r = studio.post("/train", json=_config(tiny_backbone, method="head", output="runs/head"))
    assert r.status_code == 200, r.text
    job_id = r.json()["job"]
    store = studio.app.state.store
    assert store.get(job_id)["pid"] != os.getpid()  # a process of its own
    with studio.stream("GET", f"/jobs/{job_id}/events") as events:  # server-sent events until the job ends
        states = [line for line in events.iter_lines() if line.startswith("data: ")]
    assert '"state": "done"' in states[-1] and len(states) >= 2
    job = store.get(job_id)
    assert job["state"] == "done" and job["progress"]["bundle"].endswith("runs/head")
    assert (workdir / "runs" / "head" / "domainfit.json").is_file()
    assert any("method head" in line for line in job["progress"]["log"])
    page = studio.get(f"/jobs/{job_id}", headers={"accept": "text/html"}).text
    assert 'id="open-report"' in page and 'id="try-it"' in page


def test_cancel_resume_and_resume_after_a_studio_restart(workdir, tiny_backbone):
    settings = StudioSettings(workdir=workdir)
    config = _config(tiny_backbone, output="runs/long", **{"training.epochs": "25", "training.patience": "null",
                                                            "training.checkpoint_every": "10"})
    with TestClient(create_studio(settings)) as first:
        job_id = first.post("/train", json=config).json()["job"]
        store = first.app.state.store
        _wait_for(store, job_id, lambda j: j["progress"].get("stage") == "training" and j["progress"].get("done", 0) >= 3)
        assert first.post(f"/jobs/{job_id}/cancel").json()["state"] == "cancelled"
        job = store.get(job_id)
        assert job["state"] == "cancelled" and job["progress"]["loss"]  # the loss curve so far is kept
        assert 'id="resume"' in first.get(f"/jobs/{job_id}", headers={"accept": "text/html"}).text

        assert first.post(f"/jobs/{job_id}/resume").json()["state"] == "running"
        job = _wait_for(store, job_id, lambda j: j["progress"].get("resumed") and j["progress"].get("done", 0) >= 25
                        and _checkpoints(workdir))
        os.killpg(job["pid"], signal.SIGKILL)  # the machine goes down, worker and studio with it
        store._procs[job_id].wait()
    assert JobStore(settings.store_target).get(job_id)["state"] == "running"  # as it was when the power went

    with TestClient(create_studio(settings)) as second:  # the studio starts again and picks the job up
        assert second.app.state.resumed == [job_id]
        job = second.app.state.store.wait(job_id, timeout=300)
    assert job["state"] == "done", job["error"]
    assert job["attempts"] == 3 and job["progress"]["resumed"]
    assert "step" in job["progress"]["resumed_from"]  # from the checkpoint, not from the first step
    assert (workdir / "runs" / "long" / "domainfit.json").is_file()


def _checkpoints(workdir) -> list:
    return [p for p in (workdir / "runs").rglob("*") if p.is_file() and "checkpoints" in p.parts]


def test_a_failed_job_shows_its_error(studio, workdir, tiny_backbone):
    (workdir / "one_label.csv").write_text("text,label\n" + "".join(f"card lost {i},card\n" for i in range(20)))
    job_id = studio.post("/train", json=_config(tiny_backbone, method="head", output="runs/bad",
                                                **{"data.train": "one_label.csv"})).json()["job"]
    job = studio.app.state.store.wait(job_id, timeout=120)
    assert job["state"] == "failed" and "label" in job["error"]
    page = studio.get(f"/jobs/{job_id}", headers={"accept": "text/html"}).text
    assert 'id="job-error"' in page and "hidden" not in page.split('id="job-error"')[1][:40]
    assert 'id="resume"' in page
