"""Banking77 as a support assistant: answers per intent, an FAQ, the held-out quarter of intents as out-of-scope
traffic; automation rate, wrong-answer rate, hand-off precision; and the latency of /v1/assist against /v1/predict.

Run by hand (not a test):  .venv/bin/python bench/assist_banking77.py [--skip-latency]
Writes bench/results/assist_banking77.{md,json}.

- Intents: a seeded quarter of the 77 intents (19, `random.Random(SEED)`) is held out: the intent bundle (bundled
  MiniLM, method `head`) trains and validates on the other 58 only (official train file, validation 10% of it).
- Answers: bench/data/banking77_answers.yaml, one short answer per intent written for this project.
- FAQ: a retrieval bundle (method `zeroshot`: the untouched MiniLM indexes the answers) whose bank is the 58 known
  intents, each entry its name made readable and its answer; an FAQ answer is right when its id is the message's
  intent. The held-out intents are in neither bundle: for the assistant they are unknown.
- Traffic: the official test file (3,080 messages, 40 per intent), the held-out intents' messages labelled out of
  scope; each message its own conversation.
- The rules: hand off when the intent bundle says out of scope (its detector, when the bundle has one) or is less
  sure than `min_confidence`, unless the FAQ is confident. The sweep over `min_confidence` is computed from one set of
  predictions with the assistant's own decision function; the row marked `*` is also run end to end through
  `evaluate_assistant` (the `domainfit assist eval` path) as a check that both agree.
- Latency: `domainfit assist serve` and `domainfit serve` on the same bundle, one at a time, on loopback; 1 and 16
  concurrent conversations, each sending test messages one after another; p50/p99 per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, SHARED  # noqa: E402
from serve_load import free_port, start_command, stop_server  # noqa: E402

SEED = 7
HELD_OUT = 19
THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
FAQ_SETTINGS = (None, 0.6, 0.7)  # None: no FAQ fallback (intent answers only); else the FAQ's min_score
CHOSEN = 0.7
FAQ_MIN_SCORE = 0.6
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
       "PYTHONPATH": str(ROOT / "src")}


def build(work: Path) -> dict:
    import pandas as pd
    import yaml

    from domainfit.methods.zeroshot import label_text

    train = pd.read_csv(SHARED / "banking77" / "train.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(SHARED / "banking77" / "test.csv", dtype=str, keep_default_na=False)
    intents = sorted(set(train["label"]))
    held = sorted(random.Random(SEED).sample(intents, HELD_OUT))
    known = [i for i in intents if i not in held]
    answers = yaml.safe_load((ROOT / "bench" / "data" / "banking77_answers.yaml").read_text(encoding="utf-8"))
    files = {"train": work / "train_known.csv", "test_known": work / "test_known.csv", "traffic": work / "traffic.csv",
             "bank": work / "faq_bank.csv", "pairs": work / "faq_pairs.csv"}
    train[train["label"].isin(known)].to_csv(files["train"], index=False)
    test[test["label"].isin(known)].to_csv(files["test_known"], index=False)
    traffic = pd.DataFrame({"conversation_id": [f"t{i}" for i in range(len(test))], "message": test["text"],
                            "intent": [lab if lab in known else "oos" for lab in test["label"]]})
    traffic.to_csv(files["traffic"], index=False)
    pd.DataFrame({"id": known, "answer": [f"{label_text(i)}: {answers[i]}" for i in known]}).to_csv(files["bank"], index=False)
    known_train = train[train["label"].isin(known)]
    pd.DataFrame({"query": known_train["text"], "faq_id": known_train["label"]}).to_csv(files["pairs"], index=False)
    return {"files": {k: str(v) for k, v in files.items()}, "held_out": held, "known": known, "answers": answers,
            "traffic_rows": len(traffic), "oos_rows": int((traffic["intent"] == "oos").sum())}


def train_bundles(data: dict, work: Path, reuse: bool = False) -> dict:
    import domainfit

    f = data["files"]
    if reuse and (work / "intents" / "domainfit.json").is_file() and (work / "faq" / "domainfit.json").is_file():
        previous = json.loads((RESULTS / "assist_banking77.json").read_text(encoding="utf-8"))["bundles"]
        return {**previous, "reused": True}
    t = time.perf_counter()
    intents = domainfit.train({"method": "head", "data": {"train": f["train"], "test": f["test_known"], "val_size": 0.1, "seed": 42},
                               "model": {"max_length": 64}, "baselines": [], "output": str(work / "intents")})
    t_intents = time.perf_counter() - t
    t = time.perf_counter()
    domainfit.train({"task": "retrieval", "method": "zeroshot",
                     "data": {"train": f["pairs"], "answers": f["bank"], "val_size": 0.1, "seed": 42},
                     "model": {"max_length": 64}, "baselines": [], "output": str(work / "faq")})
    t_faq = time.perf_counter() - t
    return {"intents": str(work / "intents"), "faq": str(work / "faq"), "intent_train_s": round(t_intents, 1),
            "faq_build_s": round(t_faq, 1), "intent_test_accuracy_known": intents.metrics["model"].get("accuracy"),
            "intent_task_options": intents.meta.get("task_options"), "ood_fields": None}


def write_config(data: dict, bundles: dict, work: Path, min_confidence: float) -> Path:
    import yaml

    tree = {"intents": {"bundle": bundles["intents"], "min_confidence": min_confidence},
            "faq": {"bundle": bundles["faq"], "min_score": FAQ_MIN_SCORE},
            "answers": {i: {"en": data["answers"][i]} for i in data["known"]},
            "store": str(work / "assistant.db"), "serve": {"prediction_log": str(work / "assistant.db")}}
    path = work / f"assistant-{min_confidence}.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def sweep(data: dict, bundles: dict, work: Path, check: bool = True) -> tuple[list[dict], dict]:
    """Every threshold from one set of predictions, through the assistant's decision function."""
    from domainfit.apps.assistant.config import load_assistant_config
    from domainfit.apps.assistant.decision import ConversationState, decide, read_intent
    from domainfit.apps.assistant.engine import Assistant, policy_of
    from domainfit.apps.assistant.evaluate import evaluate_assistant, read_conversations, score_replay
    from domainfit.predict import Predictor

    rows = read_conversations(data["files"]["traffic"])
    texts = rows["message"].tolist()
    config = load_assistant_config(write_config(data, bundles, work, CHOSEN))
    intents = Predictor.from_bundle(bundles["intents"])
    assistant = Assistant.load(config)
    t = time.perf_counter()
    raw = intents.predict(texts, top_k=3)
    t_intent = time.perf_counter() - t
    t = time.perf_counter()
    faq = assistant.faq_hits(texts)
    t_faq = time.perf_counter() - t
    person = assistant.wants_person(texts)
    ood = {"out_of_scope" in p for p in raw}
    readings = [read_intent(p) for p in raw]
    out = []
    for faq_min in FAQ_SETTINGS:
        for threshold in THRESHOLDS:
            policy = policy_of(config.model_copy(update={"intents": config.intents.model_copy(update={"min_confidence": threshold})}))
            policy = replace(policy, faq_min_score=faq_min)
            hits = faq if faq_min is not None else [None] * len(faq)
            decisions = [decide(r, policy, ConversationState(), faq=h, wants_person=w) for r, h, w in zip(readings, hits, person)]
            result = score_replay(rows, decisions, set(config.answers), ("oos",))
            result.pop("per_intent")
            out.append({"faq_min_score": faq_min, "min_confidence": threshold, **result})
    t = time.perf_counter()
    end_to_end = None if not check else evaluate_assistant(config, data["files"]["traffic"], oos_labels=("oos",),
                                                           intents=intents, assistant=assistant)
    t_eval = time.perf_counter() - t
    return out, {"end_to_end": end_to_end, "ood_fields_in_predictions": sorted(ood) == [True],
                 "seconds": {"intent_predict": round(t_intent, 1), "faq_predict_all": round(t_faq, 1),
                             "evaluate_assistant": round(t_eval, 1)}}


# ---------------------------------------------------------------- latency
async def _load(port: int, route: str, texts: list[str], clients: int, per_client: int) -> dict:
    import httpx
    import numpy as np

    times: list[float] = []

    async def conversation(client: httpx.AsyncClient, c: int) -> None:
        for k in range(per_client):
            text = texts[(c * per_client + k) % len(texts)]
            body = {"conversation_id": f"bench-{route[4:]}-{clients}-{c}", "message": text} if route == "/v1/assist" else {"texts": [text]}
            t = time.perf_counter()
            r = await client.post(f"http://127.0.0.1:{port}{route}", json=body)
            times.append(time.perf_counter() - t)
            r.raise_for_status()

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients + 4)) as client:
        for warm in texts[:5]:
            await client.post(f"http://127.0.0.1:{port}{route}", json={"conversation_id": "warm", "message": warm}
                              if route == "/v1/assist" else {"texts": [warm]})
        t = time.perf_counter()
        await asyncio.gather(*(conversation(client, c) for c in range(clients)))
        wall = time.perf_counter() - t
    ms = np.asarray(times) * 1000
    return {"route": route, "clients": clients, "requests": len(times), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1), "throughput_rps": round(len(times) / wall, 1),
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def latency(config: Path, bundle: str, texts: list[str], per_client: dict[int, int]) -> list[dict]:
    rows = []
    for name, args, route in (("assist", ["assist", "serve", str(config)], "/v1/assist"),
                              ("serve", ["serve", bundle], "/v1/predict")):
        port = free_port()
        proc = start_command([*args, "--port", str(port)], port, env=ENV)
        try:
            for clients, n in per_client.items():
                rows.append(asyncio.run(_load(port, route, texts, clients, n)))
        finally:
            stop_server(proc)
    return rows


# ---------------------------------------------------------------- report
def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def write_results(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "assist_banking77.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    b, d = result["bundles"], result["data"]
    lines = [f"# Banking77 as a support assistant ({result['when']})", "",
             f"Command: `{result['command']}`. Machine: {result['machine']}; shared with other engineers' jobs while it ran "
             f"(1-minute load average at the start: {result['load_avg_start']}), so timings are indicative.", "",
             f"Intent bundle: bundled MiniLM, method `head`, trained on the 58 known intents (train {b['intent_train_s']} s); "
             f"test accuracy on the known intents' test messages: {b['intent_test_accuracy_known']}. FAQ bundle: retrieval "
             f"`zeroshot` over the 58 known intents (name + answer), min_score {FAQ_MIN_SCORE}. Held-out intents ({len(d['held_out'])}, "
             f"seed {SEED}): {', '.join(d['held_out'])}. Traffic: {d['traffic_rows']} test messages, {d['oos_rows']} of them out of scope.", "",
             ("The intent bundle's predictions carried `out_of_scope` (the detector of the out-of-scope branch) and the rules used it."
              if result["ood_fields_in_predictions"] else
              "**These numbers are with the low-confidence rule only**: the out-of-scope detector (issue 14 part 1) was not merged "
              "in this branch, so the predictions carried no `out_of_scope` field."), "",
             "## Replay (each message its own conversation)", "",
             "| FAQ min_score | min_confidence | automation | answer accuracy | wrong answers (of all) | of them by the FAQ | hand-off precision | OOS handed off | hand-offs |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["sweep"]:
        faq_min = r.get("faq_min_score", FAQ_MIN_SCORE)
        mark = " *" if r["min_confidence"] == CHOSEN and faq_min == FAQ_MIN_SCORE else ""
        by_faq = (r.get("wrong_by_source") or {}).get("faq")
        lines.append(f"| {'no FAQ' if faq_min is None else faq_min} | {r['min_confidence']}{mark} | {_pct(r['automation_rate'])} | "
                     f"{_pct(r['answer_accuracy'])} | {_pct(r['wrong_answer_rate'])} | {'—' if by_faq is None else by_faq} | "
                     f"{_pct(r['handoff_precision'])} | {_pct(r['oos_handoff_recall'])} | {r['handoffs']} |")
    e = result["end_to_end"]
    lines += [""]
    if e:
        lines += [f"`*` run end to end through `evaluate_assistant` too: automation {_pct(e['automation_rate'])}, wrong answers "
                  f"{_pct(e['wrong_answer_rate'])}, hand-off precision {_pct(e['handoff_precision'])} (hand-off reasons: {e['handoff_reasons']})"
                  + (f"; from the run of {e['from_run']}." if e.get("from_run") else ".")]
    lines += ["Target of the issue: wrong answers ≤ 3% of all messages at automation ≥ 70%.",
              "", "The sweep reads `min_confidence` on the test replay itself (an oracle view of the trade-off); a deployment "
              "would pick it on held-out validation traffic with out-of-scope messages of its own.", ""]
    if result.get("latency"):
        lines += ["## Latency on loopback (one request = one message)", ""]
        if result.get("latency_from_run"):
            lines += [f"(From the run of {result['latency_from_run']}, same bundles and server code.)", ""]
        lines += [
                  "| route | concurrent conversations | requests | p50 ms | p99 ms | req/s | load avg |", "|---|---|---|---|---|---|---|"]
        for r in result["latency"]:
            lines.append(f"| {r['route']} | {r['clients']} | {r['requests']} | {r['p50_ms']} | {r['p99_ms']} | {r['throughput_rps']} | {r['load_avg_1m']} |")
        lines += ["", "`/v1/assist` does, per message: the intent model (through the same micro-batcher as `/v1/predict`), the "
                  "FAQ model only when the intent alone will not do, the decision, and one SQLite transaction (customer turn, "
                  "reply, conversation state, hand-off) beside the prediction log's own write.", ""]
    lines += ["Notes: " + result["notes"], ""]
    (RESULTS / "assist_banking77.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--per-client", default="1:200,16:25", help="clients:messages each, comma-separated")
    ap.add_argument("--work", default=None)
    ap.add_argument("--reuse", action="store_true", help="reuse the bundles a previous run left in --work")
    ap.add_argument("--no-check", action="store_true", help="skip the end-to-end evaluate_assistant check")
    args = ap.parse_args()
    if not (SHARED / "banking77" / "train.csv").is_file():
        sys.exit(f"skipped: {SHARED / 'banking77'} is absent")
    work = Path(args.work or tempfile.mkdtemp(prefix="assist-b77-"))
    work.mkdir(parents=True, exist_ok=True)
    result = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": "python bench/assist_banking77.py " + " ".join(sys.argv[1:]),
              "machine": f"{os.cpu_count()} CPU cores, {platform.platform()}, Python {platform.python_version()}",
              "load_avg_start": round(os.getloadavg()[0], 2)}
    data = build(work)
    result["data"] = {k: v for k, v in data.items() if k not in ("answers", "files", "known")}
    previous = json.loads((RESULTS / "assist_banking77.json").read_text(encoding="utf-8")) if (RESULTS / "assist_banking77.json").is_file() else {}
    result["bundles"] = train_bundles(data, work, reuse=args.reuse)
    result["sweep"], extra = sweep(data, result["bundles"], work, check=not args.no_check)
    result.update(extra)
    if args.no_check and previous.get("end_to_end"):
        result["end_to_end"] = {**previous["end_to_end"], "from_run": previous.get("when")}
    if args.skip_latency and previous.get("latency"):
        result["latency"], result["latency_from_run"] = previous["latency"], previous.get("when")
    result["notes"] = (f"{HELD_OUT} of 77 intents held out (seed {SEED}); answers written for the project; FAQ bank from the "
                       "known intents' names and answers; timings taken on a shared 2-core machine.")
    write_results(result)
    if not args.skip_latency:
        result.pop("latency", None)
        import pandas as pd

        texts = pd.read_csv(data["files"]["traffic"])["message"].tolist()
        per_client = {int(a): int(b) for a, b in (p.split(":") for p in args.per_client.split(","))}
        result["latency"] = latency(work / f"assistant-{CHOSEN}.yaml", result["bundles"]["intents"], texts, per_client)
    write_results(result)
    print((RESULTS / "assist_banking77.md").read_text())


if __name__ == "__main__":
    main()
