"""Load benchmark of `domainfit serve` (issues 6 and 20): throughput and latency over loopback, micro-batching on and
off, one and several worker processes (`--workers`), the fastest variant (and any other asked for), the in-process
ceiling measured in the same run, and a registry promotion during load (reaching every worker).

Run by hand (not a test); needs `wrk` (Debian: apt-get install wrk) and a Banking77 bundle with compressed variants:
    .venv/bin/python bench/compression.py --bundle runs/banking77       # adds onnx-int8 etc. to the bundle
    .venv/bin/python bench/serve_load.py --bundle runs/banking77 [--seconds 8] [--clients 1,8,32,64] [--workers 1,2]
Writes bench/results/serve_load.{md,json}. The texts are Banking77's test texts (../shared/datasets), one per request.
The load generator (wrk, 1 thread) runs on the same cores as the server: its CPU time is taken from the server's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, SHARED  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
       "DOMAINFIT_API_KEYS": "", "PYTHONPATH": str(ROOT / "src")}

LUA = """
local bodies = {%s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, "/v1/predict", nil, bodies[i])
end
done = function(summary, latency, requests)
  local f = io.open("%s", "w")
  f:write(string.format('{"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, ' ..
    '"timeout": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d}', summary.requests, summary.duration,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
  f:close()
end
"""


def http_ceiling(bundle: Path, seconds: float, script_dir: Path) -> dict:
    """GET /healthz at 32 clients: what the HTTP stack alone (uvicorn, middleware, metrics, logs) serves here."""
    done = LUA[LUA.index("done = function"):]
    out = script_dir / "wrk-health.json"
    script = script_dir / "health.lua"
    script.write_text(done % out, encoding="utf-8")
    port = free_port()
    proc = start_server(str(bundle), port)
    try:
        subprocess.run(["wrk", "-t", "1", "-c", "32", "-d", f"{max(1, round(seconds))}s", "-s", str(script),
                        f"http://127.0.0.1:{port}/healthz"], check=True, capture_output=True, text=True)
    finally:
        stop_server(proc)
    r = json.loads(out.read_text())
    row = {"route": "GET /healthz", "clients": 32, "requests_per_s": round(r["requests"] / (r["duration_us"] / 1e6), 1),
           "p99_ms": r["p99_us"] / 1000}
    print("   http ceiling:", row, flush=True)
    return row


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(source: str, port: int, *flags: str, env: dict | None = None) -> subprocess.Popen:
    args = ["serve", "--model", source] if source.startswith("models:/") else ["serve", source]
    return start_command([*args, "--port", str(port), *flags], port, env=env)


def start_command(args: list[str], port: int, *, env: dict | None = None) -> subprocess.Popen:
    """`domainfit ARGS` (a server listening on `port`), once its /readyz answers 200."""
    cmd = [sys.executable, "-m", "domainfit.cli.main", *args]
    log = open(Path(tempfile.gettempdir()) / f"domainfit-serve-{port}.log", "w")  # a file: a full pipe would block the server
    proc = subprocess.Popen(cmd, env=env or ENV, stdout=subprocess.DEVNULL, stderr=log, text=True)
    deadline = time.time() + 300  # several workers on a busy machine each import torch and load the model
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {Path(log.name).read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    stop_server(proc)  # never leave a server behind
    raise RuntimeError("server not ready")


def stop_server(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()


def wrk(port: int, clients: int, seconds: float, script: Path, out: Path) -> dict:
    subprocess.run(["wrk", "-t", "1", "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
                    f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True)
    r = json.loads(out.read_text())
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return {"requests": r["requests"], "requests_per_s": round(r["requests"] / (r["duration_us"] / 1e6), 1),
            "p50_ms": r["p50_us"] / 1000, "p95_ms": r["p95_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
            "max_ms": r["max_us"] / 1000, "errors": errors}


def _tick() -> float:
    return float(os.sysconf("SC_CLK_TCK"))


def server_cpu(pid: int) -> dict:
    """CPU seconds the server has used so far, split: its event loops (each process's main thread) and everything
    else (the inference thread and what it starts), summed over the process and its worker processes."""
    loop = other = 0.0
    pids = [pid]
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            pids += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except OSError:
            pass
    for p in pids:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                fields = Path(f"/proc/{p}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used = (int(fields[11]) + int(fields[12])) / _tick()  # utime + stime
            if int(tid) == p:
                loop += used
            else:
                other += used
    return {"loop": loop, "model": other}


def make_script(texts: list[str], work: Path) -> tuple[Path, Path]:
    out = work / "wrk.json"
    bodies = ",".join(f"[==[{json.dumps({'texts': [t]}, ensure_ascii=False)}]==]" for t in texts)
    script = work / "load.lua"
    script.write_text(LUA % (bodies, out), encoding="utf-8")
    return script, out


def metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")))


def matrix(bundle: Path, variants: list[str], clients: list[int], seconds: float, threads: int, script, out,
           workers: list[int]) -> list[dict]:
    """Batching on and off are compared on two servers that run side by side, their cells interleaved (on, off at
    each client count, the order swapped from one count to the next), so that both see the same background load on
    a shared machine; the idle one costs next to nothing."""
    rows = []
    for variant in variants:
        for n_workers in workers:
            servers = {}
            try:
                for batching in ("on", "off"):
                    port = free_port()
                    flags = ["--variant", variant, *threads_flag(threads), "--workers", str(n_workers)] + \
                        ([] if batching == "on" else ["--no-batching"])
                    servers[batching] = (port, start_server(str(bundle), port, *flags))
                for port, _ in servers.values():
                    wrk(port, 8, 2, script, out)  # warm-up, not reported
                for i, c in enumerate(clients):
                    for batching in (("on", "off") if i % 2 == 0 else ("off", "on")):
                        port = servers[batching][0]
                        calls0, texts0 = metric(port, "domainfit_batch_size_count"), metric(port, "domainfit_batch_size_sum")
                        cpu0, wrk0 = server_cpu(servers[batching][1].pid), resource.getrusage(resource.RUSAGE_CHILDREN)
                        r = wrk(port, c, seconds, script, out)
                        cpu1, wrk1 = server_cpu(servers[batching][1].pid), resource.getrusage(resource.RUSAGE_CHILDREN)
                        calls = metric(port, "domainfit_batch_size_count") - calls0
                        r["mean_batch"] = round((metric(port, "domainfit_batch_size_sum") - texts0) / max(calls, 1), 1)
                        n = max(r["requests"], 1)  # CPU ms per request: where the time goes
                        r["loop_ms"] = round((cpu1["loop"] - cpu0["loop"]) * 1000 / n, 2)
                        r["model_ms"] = round((cpu1["model"] - cpu0["model"]) * 1000 / n, 2)
                        r["wrk_ms"] = round((wrk1.ru_utime + wrk1.ru_stime - wrk0.ru_utime - wrk0.ru_stime) * 1000 / n, 2)
                        row = {"variant": variant, "workers": n_workers, "batching": batching, "clients": c, **r}
                        print("  ", row, flush=True)
                        rows.append(row)
            finally:
                for _, proc in servers.values():
                    row_exit = stop_server(proc)
                    if row_exit != 0:
                        print(f"   server exit status {row_exit}", flush=True)
    rows.sort(key=lambda r: (r["variant"], r["workers"], r["batching"] == "off", r["clients"]))
    return rows


def offline_ceiling(bundle: Path, variant: str, threads: int | None, texts: list[str], seconds: float = 4) -> dict:
    """What the model alone does on this machine, in this process, with the server's thread count: random texts one
    at a time, and in random batches of 32 (cut by the batch planner, as the server's are). No HTTP, no load generator
    on the cores: the ceiling the server's throughput is measured against."""
    import random

    from domainfit.backbones.encoder import available_cores
    from domainfit.predict import Predictor

    n_threads = threads or max(1, available_cores() - 1)
    predictor = Predictor.from_bundle(bundle, variant=variant, threads=n_threads)
    predictor.predict(texts[:64])
    predictor.calibrate()
    shuffled = random.Random(0).sample(texts, len(texts))
    out = {"variant": variant, "threads": n_threads}
    for batch in (1, 32):
        n, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            start = n % (len(shuffled) - batch)
            predictor.predict(shuffled[start : start + batch])
            n += batch
        out[f"texts_per_s_batch{batch}"] = round(n / (time.perf_counter() - t), 1)
    print("   offline:", out, flush=True)
    return out


def _ceiling_child(args) -> dict:
    bundle, variant, threads, texts, seconds = args
    return offline_ceiling(bundle, variant, threads, texts, seconds)


def offline_ceiling_processes(bundle: Path, variant: str, threads: int | None, texts: list[str], processes: int) -> dict:
    """The ceiling for `processes` workers: that many in-process predictors running at once (spawned processes),
    their texts/s summed."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_ceiling_child, [(bundle, variant, threads, texts, 4)] * processes)
    out = {"variant": variant, "threads": parts[0]["threads"], "processes": processes}
    for key in ("texts_per_s_batch1", "texts_per_s_batch32"):
        out[key] = round(sum(p[key] for p in parts), 1)
    print("   offline x", processes, out, flush=True)
    return out


def threads_flag(threads: int | None) -> list[str]:
    return ["--threads", str(threads)] if threads else []


def promotion_under_load(bundle: Path, variant: str, seconds: float, threads: int | None, script, out, work: Path,
                         workers: int = 1) -> dict:
    """Serve models:/b77@champion, promote version 2 a third of the way into a 32-client run: count failures; then
    ask /readyz over fresh connections until every worker has answered, and report the versions they serve."""
    from domainfit.model_registry import ModelRegistry

    env = {**ENV, "DOMAINFIT_CACHE": str(work / "cache")}
    os.environ["DOMAINFIT_CACHE"] = env["DOMAINFIT_CACHE"]
    uri = f"sqlite:///{work}/registry/registry.db"
    registry = ModelRegistry(uri)
    registry.push(bundle, "b77")
    registry.push(bundle, "b77")
    registry.promote("b77", 1)
    port = free_port()
    proc = start_server("models:/b77@champion", port, "--registry", uri, "--poll-seconds", "0.5", "--variant", variant,
                        *threads_flag(threads), "--workers", str(workers), env=env)
    try:
        timer = threading.Timer(seconds / 3, registry.promote, args=("b77", 2))
        timer.start()
        r = wrk(port, 32, seconds, script, out)
        timer.join()
        versions: dict[str, str] = {}
        for _ in range(200):
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
            versions[ready.headers.get("x-worker-pid", "single")] = ready.json()["version"]
            if len(versions) >= workers:
                break
        swaps = metric(port, "domainfit_model_swaps_total")
    finally:
        code = stop_server(proc)
    return {"variant": variant, "workers": workers, "clients": 32, **r, "versions_after": versions, "swaps": swaps,
            "exit_status": code}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, required=True, help="a Banking77 bundle (with compressed variants)")
    ap.add_argument("--seconds", type=int, default=8, help="length of each load run")
    ap.add_argument("--clients", default="1,8,32,64")
    ap.add_argument("--workers", default="1,2", help="server worker processes to compare (`serve --workers`)")
    ap.add_argument("--threads", type=int, default=1, help="inference threads of each server worker (and of the ceiling)")
    ap.add_argument("--variants", default="auto", help="variants to load (auto: the bundle's fastest at batch 32)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: install it (Debian/Ubuntu: apt-get install wrk)")
    test = SHARED / "banking77" / "test.csv"
    if not test.is_file():
        sys.exit(f"skipped: {test} is absent (the benchmark reads ../shared/datasets beside the project)")
    import pandas as pd

    from domainfit.predict import choose_variant
    from domainfit.bundle import load_bundle

    load_start = Path("/proc/loadavg").read_text().strip()
    texts = pd.read_csv(test, dtype=str)["text"].tolist()
    work = Path(tempfile.mkdtemp(prefix="domainfit-serve-load-"))
    script, out = make_script(texts, work)
    variants = [choose_variant(load_bundle(args.bundle)) if v == "auto" else v for v in args.variants.split(",")]
    clients = [int(c) for c in args.clients.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    started = time.time()
    offline = [offline_ceiling(args.bundle, v, args.threads, texts) for v in variants]
    offline += [offline_ceiling_processes(args.bundle, variants[0], args.threads, texts, w) for w in workers if w > 1]
    offline.append(http_ceiling(args.bundle, args.seconds, work))
    rows = matrix(args.bundle, variants, clients, args.seconds, args.threads, script, out, workers)
    promo = promotion_under_load(args.bundle, variants[0], max(args.seconds, 9), args.threads, script, out, work,
                                 workers=max(workers))
    print("   promotion:", promo, flush=True)
    meta = {"load_start": load_start, "load_end": Path("/proc/loadavg").read_text().strip(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "wall_s": round(time.time() - started),
            "command": "bench/serve_load.py " + " ".join(sys.argv[1:]), "cores": os.cpu_count()}
    write_results(rows, promo, offline, args, len(texts), meta)


def targets(rows: list[dict], offline: list[dict], variant: str) -> list[str]:
    """The part-4 targets of issue 20, checked on this run's numbers, per worker count."""
    lines = []
    for w in sorted({r["workers"] for r in rows}):
        cells = {(r["batching"], r["clients"]): r for r in rows if r["variant"] == variant and r["workers"] == w}
        ceiling = next((o for o in offline if o.get("variant") == variant and o.get("processes", 1) == w), None)
        at32 = cells.get(("on", 32))
        if ceiling and at32:
            best = max(ceiling["texts_per_s_batch1"], ceiling["texts_per_s_batch32"])
            share = at32["requests_per_s"] / best
            lines.append(f"- {w} worker(s): served at 32 clients {at32['requests_per_s']:.0f} req/s = **{share:.0%}** of the "
                         f"in-process ceiling of {w} process(es) ({best:.0f} texts/s) — target ≥ 90 %: "
                         f"{'met' if share >= 0.9 else 'missed'}")
            ratio = at32["p99_ms"] / at32["p50_ms"]
            lines.append(f"- {w} worker(s): p99 / p50 at 32 clients = {at32['p99_ms']:.1f} / {at32['p50_ms']:.1f} ms = "
                         f"**{ratio:.2f}** — target ≤ 3: {'met' if ratio <= 3 else 'missed'}")
        pairs = [(c, cells[("on", c)]["requests_per_s"], cells[("off", c)]["requests_per_s"])
                 for c in sorted({c for _, c in cells}) if ("on", c) in cells and ("off", c) in cells]
        worse = [f"{c} clients ({on:.0f} < {off:.0f})" for c, on, off in pairs if on < off]
        lines.append(f"- {w} worker(s): batching on ≥ off at every client count: "
                     + ("**met**" if not worse else "**missed** at " + ", ".join(worse)))
    return lines


def write_results(rows: list[dict], promo: dict, offline: list[dict], args, n_texts: int, meta: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve_load.json").write_text(json.dumps({"rows": rows, "promotion": promo, "offline": offline,
                                                         "seconds": args.seconds, "threads": args.threads, **meta}, indent=2))
    variant = rows[0]["variant"]
    lines = ["# Serving load benchmark (issues 6 and 20)", "",
             f"`{meta['command']}`: `domainfit serve` on 127.0.0.1, one Banking77 test text per request ({n_texts} texts in "
             f"rotation), wrk (1 thread, keep-alive) for {args.seconds} s per cell, {args.threads} inference thread(s) per "
             f"worker, micro-batching continuous (max batch 64, max wait 0 ms: the defaults). **The load generator shares "
             f"the machine's {meta['cores']} cores with the server.** OMP_NUM_THREADS={meta['omp_num_threads']} (the bench "
             f"slot's setting). Load average at start: `{meta['load_start']}`, at end: `{meta['load_end']}`; "
             f"{meta['wall_s']} s in all.", "",
             "CPU ms per request (where the time goes): `loop` = the server processes' event-loop threads (HTTP, JSON, "
             "validation, metrics, logs), `model` = their other threads (the inference thread: tokenizer, model, "
             "formatting, the prediction log), `wrk` = the load generator.", "",
             "| variant | workers | batching | clients | req/s | p50 ms | p95 ms | p99 ms | mean batch | requests | errors | "
             "CPU ms/req loop | model | wrk |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['workers']} | {r['batching']} | {r['clients']} | {r['requests_per_s']:.0f} | "
                     f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['mean_batch']} | {r['requests']} | "
                     f"{r['errors']} | {r.get('loop_ms', '')} | {r.get('model_ms', '')} | {r.get('wrk_ms', '')} |")
    lines += ["", "## The ceiling: the model alone, in-process, same thread count, no HTTP and no load generator", "",
              "| variant | processes | threads each | texts/s one at a time | texts/s in random batches of 32 | best served req/s | served / best offline |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for o in offline:
        if "route" in o:
            lines += ["", f"The HTTP stack alone (`GET /healthz`, 32 clients, one worker, same load generator): "
                          f"{o['requests_per_s']:.0f} req/s, p99 {o['p99_ms']:.1f} ms."]
            continue
        n = o.get("processes", 1)
        served = max((r["requests_per_s"] for r in rows if r["variant"] == o["variant"] and r["workers"] == n), default=0.0)
        best = max(o["texts_per_s_batch1"], o["texts_per_s_batch32"])
        lines.append(f"| {o['variant']} | {n} | {o['threads']} | {o['texts_per_s_batch1']:.0f} | {o['texts_per_s_batch32']:.0f} | "
                     f"{served:.0f} | {served / best:.0%} |")
    lines += ["", "## Targets (issue 20, part 4), from this run", "", *targets(rows, offline, variant)]
    lines += ["", "## Promotion during load", "",
              f"Server ({promo['variant']}, {promo['workers']} workers) following `models:/b77@champion` (MLflow registry on "
              f"SQLite, each worker polling every 0.5 s); version 2 promoted a third of the way into a 32-client run: "
              f"{promo['requests']} requests, {promo['requests_per_s']:.0f} req/s, p99 {promo['p99_ms']:.1f} ms, "
              f"**{promo['errors']} errors**; versions served afterwards, by worker pid: {promo['versions_after']} "
              f"({promo['swaps']:.0f} swaps summed over the workers), exit status after SIGTERM: {promo['exit_status']}.", ""]
    (RESULTS / "serve_load.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
