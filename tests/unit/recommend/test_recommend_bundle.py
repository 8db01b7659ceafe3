"""The two towers, the index, cold-start items and the re-ranker on the tiny model (one bundle, `rec_bundle`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

import domainfit
from domainfit.bundle import load_bundle
from domainfit.tasks.recommend.index import ItemIndex
from domainfit.tasks.recommend.predictor import RecommendPredictor, UnknownItems
from domainfit.tasks.recommend.rerank import fit_reranker
from domainfit.tasks.recommend.towers import RecencyPooler, pool_numpy, two_tower_loss
from tests.unit.recommend.conftest import recommend_config, write_example


@pytest.fixture(scope="module")
def predictor(rec_bundle) -> RecommendPredictor:
    return RecommendPredictor(load_bundle(rec_bundle))


def test_the_bundle_holds_the_index_as_data(rec_bundle, predictor):
    meta = json.loads((rec_bundle / "domainfit.json").read_text())
    assert meta["task"] == "recommend" and meta["index"]["file"] == "index/items.json"
    vectors = load_file(str(rec_bundle / "index" / "vectors.safetensors"))["vectors"]
    assert vectors.shape == (24, 16) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert predictor.labels == [f"{t}-{i}" for t in ("card", "loan", "transfer") for i in range(8)]
    users = json.loads((rec_bundle / "index" / "users.json").read_text())
    assert len(users) == 45 and all(len(h) == 6 for h in users.values())
    assert not [p for p in rec_bundle.rglob("*") if p.suffix in (".pkl", ".bin", ".pt")]


def test_a_history_is_one_product_with_the_index(predictor):
    history = ["card-1", "card-3", "card-5"]
    scores = predictor.history_scores([history], rerank=False)[0]
    v = predictor.index.vectors
    pooler = RecencyPooler(16, 10, 0.8)
    expected = pool_numpy(pooler, v, [[1, 3, 5]], 10)[0] @ v.T
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    manual = (0.8 ** 2 * v[1] + 0.8 * v[3] + v[5])
    np.testing.assert_allclose(scores, (manual / np.linalg.norm(manual)) @ v.T, atol=1e-5)
    # texts in a history are embedded by the encoder: the same item's text gives (almost) its index vector
    as_text = predictor.history_scores([[predictor.index.texts[1], "card-3", "card-5"]], rerank=False)[0]
    np.testing.assert_allclose(as_text, scores, atol=1e-4)


def test_training_learned_the_themes_and_the_report_has_every_baseline(rec_bundle, predictor):
    result = predictor.recommend(history=["loan-0", "loan-2", "loan-4"], k=5)
    assert result["why"] == "history" and [i["id"].split("-")[0] for i in result["items"]] == ["loan"] * 5
    assert not {"loan-0", "loan-2", "loan-4"} & {i["id"] for i in result["items"]}  # exclude_seen
    metrics = json.loads((rec_bundle / "metrics.json").read_text())
    model = metrics["model"]
    assert model["recall_at_10"] >= 0.9 and 0 < model["ndcg_at_10"] <= 1 and 0 < model["mrr"] <= 1
    assert {"recall_at_20", "coverage_at_10", "popularity_bias", "cold", "warm"} <= set(model)
    assert set(metrics["baselines"]) >= {"popular", "itemknn", "als", "backbone_text", "bm25_history"}
    assert metrics["baselines"]["popular"]["recall_at_10"] < model["recall_at_10"]
    assert "report.html" in {p.name for p in rec_bundle.iterdir()}


def test_cold_items_are_recommendable_from_their_text(rec_bundle, predictor):
    """Items held out of training (no interaction at all) are in the index and reach the right users."""
    pop = predictor.index.popularity
    cold = [i for i, n in zip(predictor.labels, pop) if n == 0]
    assert cold, "the fixture holds 12.5% of the items out"
    model = json.loads((rec_bundle / "metrics.json").read_text())["model"]
    assert model["cold"]["n"] >= 1 and model["cold"]["recall_at_10"] > 0
    theme = cold[0].split("-")[0]
    history = [i for i in predictor.labels if i.startswith(theme) and i not in cold][:3]
    top = [i["id"] for i in predictor.recommend(history=history, k=8)["items"]]
    assert cold[0] in top
    popular = json.loads((rec_bundle / "metrics.json").read_text())["baselines"]["popular"]
    assert popular["cold"]["recall_at_10"] == 0.0  # an ID-based list never reaches an item without interactions


def test_users_without_history_get_popular_items_or_a_text_match(predictor):
    popular = predictor.recommend(history=[], k=3)
    assert popular["why"] == "popular"
    top = np.argsort(-predictor.index.popularity, kind="stable")[:3]
    assert [i["id"] for i in popular["items"]] == [predictor.labels[j] for j in top]
    with pytest.raises(UnknownItems, match="unknown user 'nobody'"):
        predictor.recommend(user="nobody")
    known = predictor.recommend(user="u001", k=3)
    assert known["history"] == predictor.users["u001"][-10:]
    assert domainfit.recommend(predictor.bundle.path, user_id="u001", k=3) == known  # the public API, the same path
    by_text = predictor.predict(["card blocked pin"], top_k=3)[0]
    assert by_text["label"].startswith("card") and next(i["id"] for i in by_text["items"]) == by_text["label"]


def test_an_item_added_later_is_embedded_indexed_and_persisted_as_data(rec_bundle, tmp_path):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(rec_bundle, copy)
    p = RecommendPredictor(load_bundle(copy))
    assert p.add_items([{"id": "card-new", "text": "card stolen blocked pin", "category": "card"},
                        {"id": "loan-0", "text": "loan mortgage repay rate"}]) == {"added": 1, "updated": 1, "items": 25}
    assert "card-new" in [i["id"] for i in p.recommend(history=["card-1", "card-2", "card-4"], k=8)["items"]]
    assert sorted(f.name for f in (copy / "serving").iterdir()) == ["items.json", "vectors.safetensors"]
    again = RecommendPredictor(load_bundle(copy))  # the manifest still verifies: serving/ is not sealed
    assert len(again.labels) == 25 and again.index.texts[again.index.row["loan-0"]] == "loan mortgage repay rate"
    np.testing.assert_allclose(again.index.vectors, p.index.vectors, atol=1e-6)


def test_the_loss_treats_a_shared_target_as_no_negative():
    users = np.eye(3, dtype=np.float32)
    import torch

    u = torch.tensor(users)
    items = torch.tensor(np.eye(3, dtype=np.float32))
    base = two_tower_loss(u, items, torch.tensor([0, 1, 2]), 20.0).item()
    dup = two_tower_loss(u, torch.stack([items[0], items[0], items[2]]), torch.tensor([5, 5, 2]), 20.0).item()
    assert base < 1e-6 and dup < 0.5  # row 1's positive equals row 0's: masked, not pushed apart


def test_the_reranker_is_kept_only_when_it_helps():
    rng = np.random.default_rng(0)
    n_items, n = 60, 200
    pop = rng.integers(0, 50, n_items).astype(float)
    index = ItemIndex(ids=[str(i) for i in range(n_items)], texts=["x"] * n_items,
                      vectors=np.eye(n_items, dtype=np.float32), popularity=pop)
    truth = [int(rng.choice(np.argsort(-pop)[:3])) for _ in range(n)]  # the target: one of the 3 most popular
    noise = rng.normal(size=(n, n_items)).astype(np.float32)
    ranker, facts = fit_reranker(noise, [[] for _ in range(n)], truth, index, seed=0)
    assert facts["kept"] and ranker is not None and facts["val_recall_at_10_with"] > facts["val_recall_at_10_without"]
    again = ranker.rerank(noise, [[] for _ in range(n)], index)
    assert set(np.argsort(-again[0])[:3]) == set(np.argsort(-pop)[:3])
    perfect = noise.copy()
    perfect[np.arange(n), truth] = 100.0  # the text score already ranks every target first: nothing to gain
    none, facts = fit_reranker(perfect, [[] for _ in range(n)], truth, index, seed=0)
    assert none is None and not facts["kept"] and "did not raise" in facts["why"]


def test_rerank_off_and_the_attention_tower_reload_the_same(tiny_backbone, tmp_path):
    data = write_example(tmp_path, n_users=24)
    model = domainfit.train(recommend_config(tiny_backbone, data, tmp_path / "b", baselines=[],
                                             task_options={"rerank": "off", "user_tower": "attention", "history_length": 4},
                                             training={"epochs": 1}))
    bundle = tmp_path / "b"
    assert not (bundle / "index" / "reranker.json").exists()
    meta = json.loads((bundle / "domainfit.json").read_text())
    assert meta["task_state"]["reranker"]["kept"] is False
    tower = load_file(str(bundle / "index" / "user_tower.safetensors"))
    assert set(tower) == {"query", "position"} and tower["position"].shape == (4,)
    p = RecommendPredictor(load_bundle(bundle))
    assert p.pooler.position.detach().numpy().tolist() == pytest.approx(tower["position"].tolist())
    first = p.recommend(history=["card-1", "card-2"], k=4)
    assert first == RecommendPredictor(load_bundle(bundle)).recommend(history=["card-1", "card-2"], k=4)
    assert model.predict(["loan rate"])[0]["label"] is not None
