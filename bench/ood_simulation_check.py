"""Does the out-of-scope selection simulation rank detectors as real unknown intents do? Two simulations on the outputs
kept by `bench/ood_banking77.py --keep DIR` (three seeded draws of a quarter of the known intents as unknowns):
`drop` is what domainfit.ood.fit does (the held-out classes' logit columns dropped from the trained model's logits);
`probe` refits a logistic-regression probe on the pooled embeddings of the kept classes only, so the logits come from a
head that never saw the held-out intents. Prints the mean simulated AUROC per detector; compare with the test AUROC in
bench/results/ood_banking77.md.

    .venv/bin/python bench/ood_simulation_check.py /tmp/ood3-keep
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from domainfit.ood.detectors import make_detector  # noqa: E402

DIR = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ood3-keep"
for method in ("head", "full"):
    d = {s: np.load(f"{DIR}/{method}-{s}.npz") for s in ("train", "val", "test")}
    labels = json.load(open(f"{DIR}/{method}-labels.json"))
    tr, va, te = d["train"], d["val"], d["test"]
    classes = np.unique(tr["y"]); n = len(labels)
    rng = np.random.default_rng(0)
    res = {k: {"drop": [], "probe": []} for k in ("msp", "energy", "mahalanobis", "knn")}
    t = time.time()
    for fold in range(3):
        held = rng.choice(classes, size=round(0.25 * len(classes)), replace=False)
        keep = [c for c in range(n) if c not in set(held.tolist())]
        m = ~np.isin(tr["y"], held)
        gold = np.isin(va["y"], held).astype(int)
        probe = LogisticRegression(C=10.0, max_iter=500).fit(tr["pooled"][m], tr["y"][m])
        plog_tr = probe.decision_function(tr["pooled"][m]); plog_va = probe.decision_function(va["pooled"])
        ymap = {c: i for i, c in enumerate(probe.classes_)}
        ytr = np.array([ymap[c] for c in tr["y"][m]])
        for name in res:
            det = make_detector(name, {"k": 10}).fit(tr["logits"][m][:, keep], tr["pooled"][m], tr["y"][m])
            res[name]["drop"].append(roc_auc_score(gold, det.score(va["logits"][:, keep], va["pooled"])))
            det2 = make_detector(name, {"k": 10}).fit(plog_tr, tr["pooled"][m], ytr)
            res[name]["probe"].append(roc_auc_score(gold, det2.score(plog_va, va["pooled"])))
    # test AUROC with the real model
    print(method, "seconds", round(time.time() - t, 1), "known intents", n)
    for name in res:
        print(f"  {name:12s} sim-drop {np.mean(res[name]['drop']):.3f}  sim-probe {np.mean(res[name]['probe']):.3f}")
