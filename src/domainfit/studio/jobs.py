"""Studio jobs: a training run in a worker process of its own, its state in a database (SQLite by default).

    queued → running → done | failed | cancelled        (cancelled or failed: `resume` runs it again from its checkpoint)

The worker (`python -m domainfit.studio.worker <db> <job id>`) calls `domainfit.api.train` — the CLI's function —
with a reporter that writes progress (stage, step, loss and validation curves, ETA, the last log lines) to the job's
row, and stops at the next progress call once a cancel is asked for. State lives in the table, not in the studio's
memory, so a restarted studio shows every job as it was; a job marked running whose worker is gone (the machine or
the studio was killed) is started again with `resume=True`, from the last checkpoint the loop wrote. Written by hand:
the glue between SQLAlchemy Core, subprocess and the training reporter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, insert, select, update

from domainfit.store.engine import open_engine

__all__ = ["FINAL_STATES", "JobStore", "actions_table", "jobs_table"]

metadata = MetaData()
jobs_table = Table(
    "studio_jobs", metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("config", Text, nullable=False),  # the values the form sent, as JSON (load_config reads them again)
    Column("output", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("progress", Text, nullable=False, default="{}"),
    Column("error", Text),
    Column("pid", Integer),
    Column("attempts", Integer, nullable=False, default=0),
    Column("cancel_requested", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
actions_table = Table(  # who moved which registry alias, and when (the Models page shows them)
    "studio_actions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("who", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("detail", Text, nullable=False),
)
FINAL_STATES = frozenset({"done", "failed", "cancelled"})


class JobStore:
    """The jobs of one studio: create, read, update, launch, cancel, recover."""

    def __init__(self, target: str | Path, *, workdir: str | Path = ".") -> None:
        self.target = str(target)
        self.engine = open_engine(target)
        self.workdir = Path(workdir)
        metadata.create_all(self.engine)
        self._procs: dict[str, subprocess.Popen] = {}

    # ---- rows
    def create(self, kind: str, config: dict, output: str) -> str:
        job_id = uuid.uuid4().hex[:12]
        now = time.time()
        with self.engine.begin() as c:
            c.execute(insert(jobs_table).values(id=job_id, kind=kind, config=json.dumps(config), output=output, state="queued",
                                                progress="{}", attempts=0, cancel_requested=0, created_at=now, updated_at=now))
        return job_id

    def get(self, job_id: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(jobs_table).where(jobs_table.c.id == job_id)).mappings().first()
        return _plain(row) if row else None

    def all(self) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(select(jobs_table).order_by(jobs_table.c.created_at.desc())).mappings().all()
        return [_plain(r) for r in rows]

    def set(self, job_id: str, **values: Any) -> None:
        if "progress" in values and not isinstance(values["progress"], str):
            values["progress"] = json.dumps(values["progress"])
        with self.engine.begin() as c:
            c.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(**values, updated_at=time.time()))

    def record(self, who: str, action: str, detail: dict) -> None:
        with self.engine.begin() as c:
            c.execute(insert(actions_table).values(at=time.time(), who=who, action=action, detail=json.dumps(detail)))

    def actions(self, limit: int = 50) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(select(actions_table).order_by(actions_table.c.id.desc()).limit(limit)).mappings().all()
        return [{**dict(r), "detail": json.loads(r["detail"]),
                 "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(r["at"]))} for r in rows]

    # ---- processes
    def launch(self, job_id: str, *, resume: bool = False) -> None:
        """Start the job's worker process (detached into its own session, so a studio stopped with Ctrl-C does not
        take a running job with it; a studio started again finds it still running)."""
        job = self.get(job_id)
        self.set(job_id, state="running", error=None, cancel_requested=0, attempts=job["attempts"] + 1)
        cmd = [sys.executable, "-m", "domainfit.studio.worker", self.target, job_id] + (["--resume"] if resume else [])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [str(Path(__file__).resolve().parents[2]),
                                                                          os.environ.get("PYTHONPATH", "")] if p)}
        log = open(self.workdir / f".studio-job-{job_id}.log", "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(cmd, cwd=str(self.workdir), env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self._procs[job_id] = proc
        self.set(job_id, pid=proc.pid)

    def cancel(self, job_id: str, *, grace_s: float = 10.0) -> None:
        """Ask the worker to stop (it stops at its next progress report); killed if it has not within `grace_s`."""
        self.set(job_id, cancel_requested=1)
        job = self.get(job_id)
        if job["state"] not in ("running", "queued"):
            return
        deadline = time.time() + grace_s
        while time.time() < deadline:
            if self.get(job_id)["state"] in FINAL_STATES or not _alive(job["pid"], self._procs.get(job_id)):
                break
            time.sleep(0.1)
        if _alive(job["pid"], self._procs.get(job_id)):
            os.killpg(job["pid"], signal.SIGTERM)
        if self.get(job_id)["state"] not in FINAL_STATES:
            self.set(job_id, state="cancelled")

    def recover(self) -> list[str]:
        """Start again, from their checkpoints, the jobs marked running whose worker is gone. Returns their ids."""
        resumed = []
        for job in self.all():
            if job["state"] == "running" and not _alive(job["pid"], None):
                self.launch(job["id"], resume=True)
                resumed.append(job["id"])
        return resumed

    def reap(self) -> None:
        """Collect finished worker processes (no zombies), marking failed any that died without a word."""
        for job_id, proc in list(self._procs.items()):
            if proc.poll() is not None:
                del self._procs[job_id]
                job = self.get(job_id)
                if job and job["state"] == "running":
                    self.set(job_id, state="failed", error=f"the worker exited with code {proc.returncode} without "
                                                           "reporting (see the job's log)")

    def wait(self, job_id: str, timeout: float = 600) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.reap()
            job = self.get(job_id)
            if job["state"] in FINAL_STATES:
                return job
            time.sleep(0.2)
        raise TimeoutError(f"job {job_id} did not finish within {timeout} s")


def _plain(row) -> dict:
    out = dict(row)
    out["config"] = json.loads(out["config"])
    out["progress"] = json.loads(out["progress"] or "{}")
    return out


def _alive(pid: int | None, proc: subprocess.Popen | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (exited, not yet collected by its parent) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True
