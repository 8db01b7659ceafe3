"""The studio against the CLI on the same training config, and the studio's response times while a job runs.

Run by hand (not a test):  .venv/bin/python bench/studio.py [--method head] [--interval 0.1]
Writes bench/results/studio.{md,json}. The demo data (examples/bank_support, copied into a temporary working folder,
since the studio reads only inside its own) is trained once by `domainfit train` in a subprocess and once as a studio
job (its own worker process), same overrides; meanwhile the studio's pages are fetched in turn, one every `--interval`
seconds (0: back to back), and timed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT


def _serve(app):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, server.servers[0].sockets[0].getsockname()[1]


def main() -> None:
    method = sys.argv[sys.argv.index("--method") + 1] if "--method" in sys.argv else "head"
    interval = float(sys.argv[sys.argv.index("--interval") + 1]) if "--interval" in sys.argv else 0.1
    from domainfit.studio import StudioSettings, create_studio

    load_start = Path("/proc/loadavg").read_text().split()[:3]
    work = Path(tempfile.mkdtemp())
    for name in ("train.csv", "test.csv"):
        shutil.copy(ROOT / "examples" / "bank_support" / name, work / name)
    form = {"data.train": "train.csv", "data.test": "test.csv", "data.text_column": "message", "data.label_column": "intent",
            "method": method, "model.max_length": "64", "training.epochs": "6", "training.batch_size": "16"}
    sets = [x for k, v in form.items() if k != "method" for x in ("--set", f"{k}={v}")]
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "domainfit.cli.main", "train", "train.csv", "--method", method, *sets, "-o", "runs/cli",
                    "--overwrite"], cwd=work, check=True, capture_output=True)
    cli_s = time.perf_counter() - t
    cli_acc = json.loads((work / "runs/cli/metrics.json").read_text())["model"]["accuracy"]

    server, port = _serve(create_studio(StudioSettings(workdir=work)))
    base = f"http://127.0.0.1:{port}"
    pages = ("/jobs/<id>", "/data", "/compare", "/models", "/monitor", "/jobs")
    latencies: dict[str, list[float]] = {p: [] for p in pages}
    with httpx.Client(base_url=base, timeout=30) as c:
        t = time.perf_counter()
        job = c.post("/train", json={**form, "output": "runs/studio"}).json()["job"]
        while True:
            for key in pages:
                s = time.perf_counter()
                r = c.get(key.replace("<id>", job), headers={"accept": "text/html"})
                latencies[key].append(1000 * (time.perf_counter() - s))
                assert r.status_code == 200, key
                time.sleep(interval)
            state = server.config.app.state.store.get(job)["state"]
            if state in ("done", "failed", "cancelled"):
                break
        studio_s = time.perf_counter() - t
    server.should_exit = True
    assert state == "done", server.config.app.state.store.get(job)["error"]
    studio_acc = json.loads((work / "runs/studio/metrics.json").read_text())["model"]["accuracy"]
    load_end = Path("/proc/loadavg").read_text().split()[:3]
    result = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "method": method, "interval_s": interval, "loadavg_start": load_start, "loadavg_end": load_end, "cli_s": round(cli_s, 1), "studio_s": round(studio_s, 1),
              "cli_accuracy": cli_acc, "studio_accuracy": studio_acc,
              "latency_ms": {k: {"n": len(v), "p50": round(float(np.percentile(v, 50)), 1), "p95": round(float(np.percentile(v, 95)), 1)}
                             for k, v in latencies.items()}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "studio.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    lines = [f"# Studio against the CLI ({result['when']})", "",
             "| run | wall s | accuracy |", "|---|---|---|",
             f"| `domainfit train` ({method}) | {result['cli_s']} | {cli_acc:.4f} |",
             f"| studio job ({method}) | {result['studio_s']} | {studio_acc:.4f} |", "",
             f"| studio route during the job (one page every {interval} s) | requests | p50 ms | p95 ms |", "|---|---|---|---|"]
    lines += [f"| GET {k} | {v['n']} | {v['p50']} | {v['p95']} |" for k, v in result["latency_ms"].items()]
    lines += ["", f"Load average at start {' '.join(load_start)}, at end {' '.join(load_end)}."]
    (RESULTS / "studio.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
