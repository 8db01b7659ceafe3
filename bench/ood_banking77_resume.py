"""Resume bench/ood_banking77.py's head run from its trained bundle when the run hit its timeout while evaluating.

Usage: python bench/ood_banking77_resume.py WORKDIR OUT.json   (WORKDIR: the killed run's temporary folder, holding
bundle-head/ and test_oos.csv). Train and validation embeddings come from the frozen-embedding cache the head method
filled (recomputed through the model on a miss); the default row applies the bundle's fitted detector to the test
outputs. Results as bench/ood_banking77.py writes them, into OUT.json."""
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ood_banking77 as b

from domainfit.backbones import FrozenEncoder, load_backbone
from domainfit.bundle import load_bundle
from domainfit.ood import OutOfScopeOptions
from domainfit.ood.detectors import make_detector
from domainfit.ood.fit import Outputs, fit_out_of_scope, load_detector
from domainfit.ood.metrics import flag_out_of_scope, ood_metrics
from domainfit.tasks.out_of_scope import model_outputs_of

work = Path(sys.argv[1])
out = work / "bundle-head"
bundle = load_bundle(out)
model, tokenizer = bundle.load_model()
labels = bundle.labels
m = bundle.meta
bb = m.backbone
enc, tok = load_backbone(bb.path)
frozen = FrozenEncoder(enc, tok, name=bb.name, weights_sha256=bb.sha256, pooling=m.model.pooling, normalize=m.model.normalize, max_length=m.model.max_length)
read = {s: pd.read_csv(out / "data" / f"{s}.csv", dtype=str, keep_default_na=False) for s in ("train", "val")}
t = time.perf_counter()
def outs(frame):
    texts = frame["text"].tolist()
    hit = (frozen.cache_dir / f"{frozen._key(texts)}.npy").is_file()
    print("cache hit" if hit else "cache miss", len(texts), flush=True)
    if not hit:
        return model_outputs_of(model, tokenizer, frame, labels, m.model.max_length)
    emb = frozen.embed(texts)
    with torch.no_grad():
        logits = model.head(torch.from_numpy(np.asarray(emb, dtype=np.float32))).numpy()
    index = {l: i for i, l in enumerate(labels)}
    return Outputs(logits, np.asarray(emb), np.array([index[y] for y in frame["label"]]))
train_out, val_out = outs(read["train"]), outs(read["val"])
test = pd.read_csv(work / "test_oos.csv", dtype=str, keep_default_na=False)
test_frame = test.assign(label=np.where(test["label"] == "out_of_scope", labels[0], test["label"]))
test_out = model_outputs_of(model, tokenizer, test_frame, labels, m.model.max_length)
outputs_s = time.perf_counter() - t
gold = (test["label"] == "out_of_scope").to_numpy()
y = test["label"].tolist()
predicted = [labels[i] for i in test_out.logits.argmax(1)]
state = m.task_state["out_of_scope"]
keys = ("in_scope_accuracy", "in_scope_accuracy_plain", "refused_in_scope", "oos_recall", "oos_precision", "auroc", "fpr_at_95")
path = bundle.file(state["file"], key="x") if state.get("file") else None
det = load_detector(state, path)
score = det.score(test_out.logits, test_out.embeddings)
mm = ood_metrics(y, predicted, score, flag_out_of_scope(score, state["threshold"]), gold)
rows = {"default (auto)": {**{k: mm[k] for k in keys}, "detector": state["detector"], "threshold": state["threshold"]}}
for name in b.DETECTORS:
    fitted, tensors = fit_out_of_scope(OutOfScopeOptions(detector=name), labels, train_out, val_out)
    d = make_detector(name).rebuild(tensors, fitted["params"]) if tensors else make_detector(name)
    s = d.score(test_out.logits, test_out.embeddings)
    mm = ood_metrics(y, predicted, s, flag_out_of_scope(s, fitted["threshold"]), gold)
    rows[name] = {**{k: mm[k] for k in keys}, "detector": name, "threshold": fitted["threshold"]}
msp = make_detector("msp").score(test_out.logits, None)
t_best, extra = b.oracle_msp(y, predicted, msp, gold)
mm = ood_metrics(y, predicted, msp, flag_out_of_scope(msp, t_best), gold)
rows["msp, best threshold (oracle on test)"] = {**{k: mm[k] for k in keys}, "detector": "msp", "threshold": t_best, **extra}
result = {"method": "head", "train_s": m.timings.get("total_s"), "evaluate_s": None, "outputs_s": round(outputs_s, 1),
          "chosen": state["detector"], "chosen_by": state["chosen_by"], "selection_auroc": state["selection_auroc"],
          "accuracy_in_scope_test": bundle.read_json("metrics.json")["model"]["accuracy"],
          "training": {k: m.training.get(k) for k in ("seconds", "steps", "best_step", "stopped_early")},
          "rows": rows, "train_rows": len(pd.read_csv(work / "train_known.csv")), "args": {}}
held = b.held_out_intents(sorted(set(pd.read_csv(b.SHARED / "banking77" / "train.csv", dtype=str)["label"])))
results = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": "python bench/ood_banking77.py --methods head,full --full-epochs 1",
           "machine": "Linux x86_64, 2 CPU cores (shared), Python 3.11", "methods": [result], "held": held,
           "test_rows": len(test), "test_oos_rows": int(gold.sum()), "train_rows": result["train_rows"]}
Path(sys.argv[2]).write_text(json.dumps(results, indent=1))
print(json.dumps(rows, indent=1))
