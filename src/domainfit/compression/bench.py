"""`domainfit bench`: every variant of a bundle — size, load time, throughput at batch 1 and 32, latency, accuracy —
against the physical bound: the encoder's FLOPs per sentence at the test set's mean length over this machine's
matrix-multiply rate, measured in the same run, so the table says what fraction of the hardware each variant uses."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from domainfit.backbones.encoder import configure_threads
from domainfit.bundle import load_bundle, seal_bundle, write_json
from domainfit.compression.parity import headline_metrics, score_split, test_split
from domainfit.compression.run import folder_size
from domainfit.i18n import _
from domainfit.inference.variants import VARIANTS_DIR, list_variants
from domainfit.predict import Predictor

__all__ = ["bench_bundle", "flops_per_sentence", "matmul_rates"]


def flops_per_sentence(config, tokens: float) -> float:
    """Forward FLOPs of a BERT-style encoder for one sentence of `tokens` tokens (multiply-add = 2 FLOPs):
    per layer and token 2·(4h² + 2·h·ff) for the projections and feed-forward, plus 2·2·tokens·h for attention."""
    h, ff, n = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = n * (2 * (4 * h * h + 2 * h * ff) + 4 * tokens * h)
    return per_token * tokens


def matmul_rates(threads: int, size: int = 1024, repeats: int = 10) -> dict[str, float]:
    """GFLOP/s (GOP/s for int8) of a size³ matrix multiply: torch fp32, onnxruntime fp32 and onnxruntime int8."""
    import torch

    rates = {}
    a, b = torch.randn(size, size), torch.randn(size, size)
    rates["torch_fp32"] = _rate(lambda: a @ b, size, repeats)
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper

        def session(node, in_types):
            graph = helper.make_graph([node], "mm",
                                      [helper.make_tensor_value_info(n, t, [size, size]) for n, t in zip(("A", "B"), in_types)],
                                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT if in_types[0] == TensorProto.FLOAT
                                                                     else TensorProto.INT32, [size, size])])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

        f32 = session(helper.make_node("MatMul", ["A", "B"], ["Y"]), (TensorProto.FLOAT, TensorProto.FLOAT))
        an, bn = a.numpy(), b.numpy()
        rates["onnxruntime_fp32"] = _rate(lambda: f32.run(None, {"A": an, "B": bn}), size, repeats)
        i8 = session(helper.make_node("MatMulInteger", ["A", "B"], ["Y"]), (TensorProto.UINT8, TensorProto.INT8))
        ai = np.random.randint(0, 255, (size, size), dtype=np.uint8)
        bi = np.random.randint(-127, 127, (size, size), dtype=np.int8)
        rates["onnxruntime_int8"] = _rate(lambda: i8.run(None, {"A": ai, "B": bi}), size, repeats)
    except Exception:  # noqa: BLE001 - the bound is informative; a missing onnxruntime must not stop the table
        pass
    return rates


def _rate(fn, size: int, repeats: int) -> float:
    for _unused in range(2):
        fn()
    t = time.perf_counter()
    for _unused in range(repeats):
        fn()
    return 2 * size**3 * repeats / (time.perf_counter() - t) / 1e9


def _bound_for(name: str, meta: dict) -> str:
    """Which measured matrix-multiply rate bounds a variant: its own runtime and arithmetic (torch's int8 and bf16 run
    mostly fp32 kernels on this kind of CPU, so they are held to the fp32 rate)."""
    if meta.get("kind") == "onnx":
        return "onnxruntime_int8" if str(meta.get("quantize", "")).startswith("int8") else "onnxruntime_fp32"
    return "torch_fp32"


def bench_bundle(path: str | Path, *, threads: int | None = None, latency_texts: int = 300, reporter=None) -> dict:
    """Measure the original and every variant; writes <bundle>/variants/bench.{json,md} and each variant's speed
    into its variant.json (the Predictor's "auto" choice reads it)."""
    import json

    from transformers import AutoConfig

    n_threads = configure_threads(threads)
    bundle = load_bundle(path)
    split = test_split(bundle)
    texts = split.texts
    tokenizer_lengths = None
    rates = matmul_rates(n_threads)
    names = ["torch", *list_variants(bundle)]
    rows = []
    for name in names:
        t = time.perf_counter()
        predictor = Predictor.from_bundle(bundle.path, variant=name, threads=n_threads, batch_size=32)  # NER: its own
        load_s = time.perf_counter() - t
        if tokenizer_lengths is None:
            prepared = predictor.prepare(texts) if hasattr(predictor, "prepare") else texts  # NER: words normalised one by one
            tokenizer_lengths = [len(x) for x in predictor.tokenizer(prepared, truncation=True,
                                                                       max_length=predictor.max_length)["input_ids"]]
        predictor.predict_scores(texts[:64])  # warm-up
        t = time.perf_counter()
        scores = score_split(split, predictor)  # batches of 32, as the parity gate scores them: the same accuracy
        b32 = len(texts) / (time.perf_counter() - t)
        predictor.batch_size = 1
        lat = []
        for text in texts[:latency_texts]:
            t0 = time.perf_counter()
            predictor.predict_scores([text])
            lat.append(time.perf_counter() - t0)
        metric = predictor.task.summary_metrics[0]  # classification: accuracy; multi-label: micro-F1; regression: R²; NER: F1
        acc = headline_metrics(predictor.task, split.y_true, scores, bundle.labels)[metric]
        extra = {}
        if name == "torch":  # as users usually run it: batches of 32 in file order, padded to each batch's longest
            extra["sentences_per_s_batch32_unsorted"] = round(_unsorted_rate(predictor, texts), 1)
        size = folder_size(bundle.model_dir if name == "torch" else bundle.path / VARIANTS_DIR / name)
        rows.append({"variant": name, "size_mb": round(size / 2**20, 1), "load_s": round(load_s, 2),
                     "sentences_per_s_batch1": round(len(lat) / sum(lat), 1), "sentences_per_s_batch32": round(b32, 1),
                     "p50_ms_batch1": round(1000 * float(np.percentile(lat, 50)), 2),
                     "p95_ms_batch1": round(1000 * float(np.percentile(lat, 95)), 2), "metric": metric, "accuracy": acc, **extra})
        if reporter:
            reporter.log(_("{name}: {rate}/s at batch 32, p95 {p95} ms at batch 1").format(
                name=name, rate=rows[-1]["sentences_per_s_batch32"], p95=rows[-1]["p95_ms_batch1"]))
    base_acc = rows[0]["accuracy"]
    config = AutoConfig.from_pretrained(str(bundle.model_dir))
    mean_tokens = float(np.mean(tokenizer_lengths))
    held = list_variants(bundle)
    for r in rows:
        r["accuracy_delta_points"] = round(100 * (r["accuracy"] - base_acc), 2)
        meta = held.get(r["variant"], {})
        if "batch_agreement" in meta.get("parity", {}):  # the gate's: decisions the same scored alone as in a batch
            r["batch_agreement"] = meta["parity"]["batch_agreement"]
        cfg = config
        student = meta.get("base") or (r["variant"] if meta.get("kind") == "distilled" else None)  # fewer layers
        if student:
            cfg = AutoConfig.from_pretrained(str(bundle.path / VARIANTS_DIR / student / "model"))
        flops = flops_per_sentence(cfg, mean_tokens)
        rate_key = _bound_for(r["variant"], meta)
        if rate_key in rates:
            bound = rates[rate_key] * 1e9 / flops
            r.update({"bound_sentences_per_s": round(bound, 1), "share_of_bound": float(f"{r['sentences_per_s_batch32'] / bound:.3g}"),
                      "bound_from": rate_key})
    result = {"threads": n_threads, "test_rows": len(texts), "mean_tokens": round(mean_tokens, 2),
              "gflop_per_sentence": round(flops_per_sentence(config, mean_tokens) / 1e9, 4),
              "matmul_gflops": {k: round(v, 1) for k, v in rates.items()}, "variants": rows}
    out = bundle.path / VARIANTS_DIR
    out.mkdir(exist_ok=True)
    write_json(out / "bench.json", result)
    (out / "bench.md").write_text(bench_markdown(result), encoding="utf-8")
    for r in rows[1:]:
        meta_path = out / r["variant"] / "variant.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["bench"] = r
        write_json(meta_path, meta)
    seal_bundle(bundle.path)  # bench.json and the variants' new measurements join the manifest
    return result


def _unsorted_rate(predictor, texts: list[str], batch_size: int = 32) -> float:
    """Sentences/s with file-order batches (no length sorting): the usual way, for the speed-up baseline."""
    predictor.batch_size = batch_size
    t = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        predictor.predict_scores(texts[i : i + batch_size])  # one call per batch: no sorting across batches
    return len(texts) / (time.perf_counter() - t)


def bench_markdown(result: dict) -> str:
    lines = [f"{result['test_rows']} test sentences, mean {result['mean_tokens']} tokens, "
             f"{result['gflop_per_sentence']} GFLOP per sentence; {result['threads']} threads; "
             "matrix multiply (GFLOP/s): " + ", ".join(f"{k} {v}" for k, v in result["matmul_gflops"].items()),
             f"PyTorch fp32 with unsorted batches of 32 (as usually run): {result['variants'][0].get('sentences_per_s_batch32_unsorted')} sentences/s.", "",
             f"| variant | size MB | load s | sent/s b1 | sent/s b32 | p50 ms b1 | p95 ms b1 | {result['variants'][0].get('metric', 'accuracy')} | Δ points | same alone as batched | bound sent/s | share of bound |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["variants"]:
        same = f"{100 * r['batch_agreement']:.1f}%" if r.get("batch_agreement") is not None else "—"
        lines.append(f"| {r['variant']} | {r['size_mb']} | {r['load_s']} | {r['sentences_per_s_batch1']} | {r['sentences_per_s_batch32']} | "
                     f"{r['p50_ms_batch1']} | {r['p95_ms_batch1']} | {100 * r['accuracy']:.2f}% | {r['accuracy_delta_points']:+.2f} | "
                     f"{same} | {r.get('bound_sentences_per_s', '—')} | {r.get('share_of_bound', '—')} |")
    return "\n".join(lines) + "\n"
