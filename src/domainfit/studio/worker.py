"""The studio's worker process: runs one job through the Python API and reports into the job's row.

    python -m domainfit.studio.worker <database> <job id> [--resume]

A job's kind picks its runner (RUNNERS): `train` (`domainfit.train`), `compare` (`domainfit.compare`, each finished
run added to the learning curve as it lands), `compress` (`domainfit.compress`, the parity gate's verdict kept).
"""

from __future__ import annotations

import sys
import time
import traceback
from collections import deque

from domainfit.errors import DomainfitError
from domainfit.i18n import _
from domainfit.studio.jobs import JobStore

__all__ = ["RUNNERS", "JobCancelled", "JobReporter", "main"]


class JobCancelled(Exception):
    """Raised inside training at the first progress report after a cancel was asked for."""


class JobReporter:
    """A training Reporter that writes the job's progress (at most every `every` seconds, and at every evaluation)
    and checks for a cancel."""

    def __init__(self, store: JobStore, job_id: str, *, every: float = 0.5, resumed: bool = False) -> None:
        self.store, self.job_id, self.every = store, job_id, every
        self.started = time.time()
        self.state: dict = {"stage": "starting", "done": 0, "total": 0, "loss": [], "metrics": [], "log": [],
                            "eta_s": None, "resumed": resumed, "points": []}
        self._log: deque = deque(maxlen=30)
        self._last = 0.0

    def _flush(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last < self.every:
            return
        self._last = now
        self.state["log"] = list(self._log)
        self.state["elapsed_s"] = round(now - self.started, 1)
        self.store.set(self.job_id, progress=self.state)
        if self.store.get(self.job_id)["cancel_requested"]:
            raise JobCancelled()

    def log(self, message: str) -> None:
        self._log.append(str(message))
        # kept apart: the log keeps only its last lines (the skeleton's line, in English or in the user's language)
        said = ("resuming from", _("resuming from {path} (step {step})").format(path="\n", step="").split("\n", 1)[0])
        if str(message).startswith(tuple(p for p in said if p.strip())):
            self.state["resumed_from"] = str(message)
        self._flush()

    def progress(self, description: str, total: int):
        self.state.update(stage=description, done=0, total=int(total))
        started = time.time()

        def advance(n: int) -> None:
            self.state["done"] += n
            done, total_ = self.state["done"], self.state["total"]
            if done and total_:
                self.state["eta_s"] = round((time.time() - started) / done * max(total_ - done, 0), 1)
            self._flush()

        self._flush(force=True)
        return advance

    def event(self, event) -> None:
        if event.kind == "step":
            self.state.update(stage="training", done=event.step, total=event.total_steps)
            if event.loss is not None:
                self.state["loss"] = (self.state["loss"] + [[event.step, round(float(event.loss), 5)]])[-500:]
            elapsed = time.time() - self.started
            if event.step:
                self.state["eta_s"] = round(elapsed / event.step * max(event.total_steps - event.step, 0), 1)
        elif event.kind == "eval" and event.metrics:
            value = next((v for k, v in event.metrics.items() if isinstance(v, (int, float))), None)
            self.state["metrics"].append([event.step, event.metrics])
            self._log.append(_("step {step}: validation {metrics}").format(step=event.step, metrics=value))
        elif event.message:
            self._log.append(event.message)
        self._flush(force=event.kind != "step")

    def run_finished(self, record: dict, metric: str) -> None:
        """A compare run is done: its point on the learning curve (method, budget, seed, the first summary metric)."""
        self.state["points"].append({"method": record["method"], "shots": record["shots"], "seed": record.get("seed"),
                                     "metric": metric, "value": record.get(metric), "error": record.get("error")})
        self._flush(force=True)


def _run_train(job: dict, reporter: JobReporter, resume: bool) -> dict:
    import domainfit
    from domainfit.bundle_files import stage_path

    if resume and not any((stage_path(job["output"]) / "checkpoints").rglob("*")):
        reporter.log(_("no checkpoint was written before the job stopped: training starts again from the first step"))
        resume = False
    # the form's values as the `--set key=value` overrides a CLI user would type
    model = domainfit.train(None, overrides=job["config"]["overrides"], resume=resume, overwrite=not resume, reporter=reporter)
    return {"bundle": str(model.path)}


def _run_compare(job: dict, reporter: JobReporter, resume: bool) -> dict:
    from domainfit import api

    c = job["config"]["compare"]
    if resume:
        reporter.state["points"] = []  # the finished runs are reused and reported again
    result = api.compare(c["data"], methods=c["methods"], shots=c["shots"], seeds=int(c["seeds"]), output=job["output"],
                         text_column=c.get("text_column") or None, label_column=c.get("label_column") or None,
                         model=c.get("backbone") or None, overrides=c.get("overrides", ()), resume=resume, reporter=reporter)
    return {"recommendation": result["recommendation"], "leaderboard": result["leaderboard"], "metric": result["metrics"][0],
            "unit": result["unit"], "report": f"{job['output']}/report.html"}


def _run_compress(job: dict, reporter: JobReporter, resume: bool) -> dict:
    from domainfit import api
    from domainfit.errors import CompressionError

    c = job["config"]["compress"]
    try:
        meta = api.compress(c["bundle"], to=c["to"], quantize=c["quantize"], tolerance=float(c["tolerance"]), reporter=reporter)
    except CompressionError as exc:  # the gate refused the variant: that is the verdict, not a crash
        return {"verdict": {"passed": False, "message": exc.message, "hint": exc.hint, "tolerance": float(c["tolerance"])}}
    return {"verdict": {"passed": bool(meta["parity_passed"]), "name": meta["name"], "size_mb": meta["size_mb"],
                        "tolerance": meta["tolerance_points"], "parity": meta["parity"]}}


RUNNERS = {"train": _run_train, "compare": _run_compare, "compress": _run_compress}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    resume = "--resume" in args
    target, job_id = [a for a in args if a != "--resume"][:2]
    store = JobStore(target)
    job = store.get(job_id)
    reporter = JobReporter(store, job_id, resumed=resume)
    try:
        outcome = RUNNERS[job["kind"]](job, reporter, resume)
        reporter.state.update(stage="done", eta_s=0, **outcome)
        reporter.state["log"] = list(reporter._log)
        store.set(job_id, state="done", progress=reporter.state)
        return 0
    except JobCancelled:
        store.set(job_id, state="cancelled", progress=reporter.state)
        return 0
    except DomainfitError as exc:  # a user's mistake: the message says what and how to fix it
        store.set(job_id, state="failed", error=str(exc), progress=reporter.state)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug: the traceback, so the job page shows something to report
        store.set(job_id, state="failed", error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()[-4000:]}",
                  progress=reporter.state)
        return 1


if __name__ == "__main__":
    sys.exit(main())
