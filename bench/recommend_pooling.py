"""The user tower's pooling measured on its own: recency weights (several decays) against the small attention layer,
over the same frozen MiniLM item embeddings (the untouched backbone: no encoder pass is trained, so both are
measured in seconds rather than a fine-tuning run each), on the same users and split as bench/recommend_amazon.py.
The attention layer is trained with the task's own in-batch loss on the training cases.

    PYTHONPATH=src:bench nice -n 10 python bench/recommend_pooling.py [--users 600] [--max-length 32] [--history 3]

Writes bench/results/recommend_pooling.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from _common import RESULTS, SHARED

DATA = SHARED / "amazon_scientific"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--users", type=int, default=600)
    p.add_argument("--max-length", type=int, default=32)
    p.add_argument("--history", type=int, default=3)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--workdir", default="/tmp/recommend-bench")
    args = p.parse_args()

    from domainfit.backbones import FrozenEncoder, default_pooling, load_backbone, resolve_backbone
    from domainfit.config.schema import DataConfig
    from domainfit.interfaces import make_task
    from domainfit.tasks.recommend.data import prepare_recommend
    from domainfit.tasks.recommend.metrics import exclude, ranking_metrics
    from domainfit.tasks.recommend.towers import AttentionPooler, RecencyPooler, pool_numpy, two_tower_loss
    from domainfit.tasks.recommend.train import training_rows

    work = Path(args.workdir)
    items, inter = (work / f"items_{args.users}.csv", work / f"interactions_{args.users}.csv") if args.users else \
        (DATA / "items.csv", DATA / "interactions.csv")
    task = make_task("recommend", {"cold_items": 0.1, "history_length": args.history})
    data = prepare_recommend(DataConfig(train=inter, items=items, seed=42), task=task)
    backbone = resolve_backbone(None)
    encoder, tokenizer = load_backbone(backbone.path)
    pooling, _ = default_pooling(backbone.path)
    t = time.perf_counter()
    vectors = FrozenEncoder(encoder, tokenizer, name=backbone.name, weights_sha256=backbone.sha256, pooling=pooling,
                            normalize=True, max_length=args.max_length).embed(data.items["text"].tolist())
    embed_s = time.perf_counter() - t
    row = {item: i for i, item in enumerate(data.labels)}
    pop = data.train["item"].value_counts()
    popularity = np.array([pop.get(i, 0) for i in data.labels], dtype=float)
    cases = data.test
    hist = [[row[i] for i in c.history if i in row] for c in cases]
    truth = [row[c.target] for c in cases]
    cold = popularity[truth] == 0

    def score(pooler) -> dict:
        s = exclude(pool_numpy(pooler, vectors, hist, args.history) @ vectors.T, hist, keep=truth)
        m = ranking_metrics(s, truth, cold=cold, popularity=popularity)
        return {k: m[k] for k in ("recall_at_10", "ndcg_at_10", "mrr")} | {"cold_recall_at_10": m["cold"]["recall_at_10"]}

    results = {f"recency decay {d}": score(RecencyPooler(vectors.shape[1], args.history, d)) for d in (0.5, 0.8, 1.0)}
    rows = torch.as_tensor(training_rows(data.train, row, args.history, None))
    v = torch.as_tensor(vectors)
    torch.manual_seed(0)
    attention = AttentionPooler(vectors.shape[1], args.history, 0.8)
    opt = torch.optim.AdamW(attention.parameters(), lr=1e-2)
    t = time.perf_counter()
    for _ in range(args.steps):
        batch = rows[torch.randint(len(rows), (64,))]
        h = batch[:, 1:]
        users = attention(v[h.clamp(min=0)], (h >= 0).float())
        loss = two_tower_loss(users, v[batch[:, 0]], batch[:, 0], 20.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    attention.eval()
    results["attention (trained on frozen vectors)"] = score(attention) | {"train_seconds": round(time.perf_counter() - t, 1)}
    out = {"users": args.users, "items": len(data.labels), "test_cases": len(cases), "history_length": args.history,
           "max_length": args.max_length, "training_cases": len(rows), "steps": args.steps,
           "embed_seconds": round(embed_s, 1), "results": results}
    (RESULTS / "recommend_pooling.json").write_text(json.dumps(out, indent=1))
    lines = ["# The user tower's pooling: recency weights against a small attention layer", "",
             f"Frozen MiniLM item embeddings (max_length {args.max_length}), the last {args.history} items of each history, "
             f"{len(cases)} test users ({int(cold.sum())} with a cold target), {len(data.labels)} items "
             f"({'a reduced set: ' + str(args.users) + ' users by a hash of the id, the items they touched' if args.users else 'all'}); "
             f"attention trained {args.steps} steps of 64 on {len(rows)} training cases with the in-batch loss.", "",
             "| pooling | Recall@10 | nDCG@10 | MRR | cold Recall@10 |", "|---|---|---|---|---|"]
    for name, m in results.items():
        lines.append(f"| {name} | {m['recall_at_10']:.4f} | {m['ndcg_at_10']:.4f} | {m['mrr']:.4f} | {m['cold_recall_at_10']:.4f} |")
    lines += ["", "Command: `PYTHONPATH=src:bench nice -n 10 python bench/recommend_pooling.py --users "
              f"{args.users} --max-length {args.max_length} --history {args.history}`", ""]
    (RESULTS / "recommend_pooling.md").write_text("\n".join(lines), encoding="utf-8")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
