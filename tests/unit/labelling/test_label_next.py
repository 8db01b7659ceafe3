"""`label next`: each sampling strategy picks the known answer on a toy pool; near-duplicates of labelled rows are
left out; bundles, seeds and entity models all work; bad inputs say what and how."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from domainfit.cli.main import app
from domainfit.errors import DataError
from domainfit.labelling import sampling
from domainfit.labelling.next import next_batch
from tests.conftest import make_rows, write_csv


def _unit(x):
    x = np.asarray(x, dtype=float)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_uncertainty_measures_rank_as_defined():
    probs = np.array([[0.50, 0.49, 0.01],   # two classes tie: the smallest margin
                      [0.40, 0.30, 0.30],   # least confident, most spread
                      [0.98, 0.01, 0.01]])  # sure
    assert list(np.argsort(-sampling.uncertainty(probs, "least-confidence"))) == [1, 0, 2]
    assert list(np.argsort(-sampling.uncertainty(probs, "margin"))) == [0, 1, 2]
    assert list(np.argsort(-sampling.uncertainty(probs, "entropy"))) == [1, 0, 2]
    picks = sampling.strategies.get("uncertainty")(sampling.uncertainty(probs, "margin"), _unit(np.eye(3)), 1)
    assert [p.index for p in picks] == [0] and "uncertainty" in picks[0].reason


def _three_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 5
    emb = _unit(np.repeat(centres, 10, axis=0) + rng.normal(scale=0.1, size=(30, 3)))
    return emb, np.repeat(np.arange(3), 10)


def test_kmeans_takes_one_row_of_each_cluster():
    emb, cluster = _three_clusters()
    picks = sampling.strategies.get("kmeans")(np.zeros(30), emb, 3, seed=0)
    assert sorted(cluster[[p.index for p in picks]]) == [0, 1, 2]
    assert all("cluster" in p.reason for p in picks)


def test_coreset_goes_where_nothing_is_labelled():
    emb, cluster = _three_clusters()
    picks = sampling.strategies.get("coreset")(np.zeros(30), emb, 2, labelled_emb=emb[:1])
    assert sorted(cluster[[p.index for p in picks]]) == [1, 2]


def test_hybrid_takes_the_most_uncertain_row_of_each_cluster():
    emb, _cluster = _three_clusters()
    scores = np.linspace(0, 0.5, 30)
    scores[[3, 14, 27]] = [0.9, 0.8, 0.95]  # the most uncertain of each cluster
    picks = sampling.strategies.get("hybrid")(scores, emb, 3, seed=0)
    assert [p.index for p in picks] == [27, 3, 14]  # by uncertainty, one per cluster
    assert "most uncertain of cluster" in picks[0].reason


def test_entity_sentence_uncertainty_is_its_least_sure_word():
    sure = np.array([[0.98, 0.01, 0.01]] * 3)
    torn = sure.copy()
    torn[1] = [0.34, 0.33, 0.33]
    dropped = np.vstack([sure, np.zeros((1, 3))])  # a word the tokenizer dropped does not count
    scores, where = sampling.token_uncertainty([sure, torn, dropped])
    assert scores[1] > scores[0] and where[1] == 1 and scores[2] == pytest.approx(scores[0])


def test_seeded_next_batch_skips_near_duplicates_of_labelled_rows(tmp_path, minilm_path):
    seed_rows = make_rows(2, seed=9)
    pool = [t for t, _ in make_rows(10, seed=5)] + [seed_rows[0][0]]  # one pool text is already labelled
    write_csv(tmp_path / "pool.csv", [(t,) for t in pool], header=("text",))
    write_csv(tmp_path / "seed.csv", seed_rows)
    result = next_batch(tmp_path / "pool.csv", seed_data=tmp_path / "seed.csv", n=31, model=str(minilm_path), strategy="uncertainty")
    assert seed_rows[0][0] not in set(result.table["text"])
    assert result.excluded_duplicates >= 1 and len(result.table) == len(set(pool)) - result.excluded_duplicates
    assert list(result.table["rank"]) == list(range(1, len(result.table) + 1))
    assert result.table["reason"].str.contains("model says").all()
    assert (result.table["score"].diff().dropna() <= 1e-9).all()  # most uncertain first


def test_cli_next_with_a_bundle_writes_reasons(tmp_path, tiny_bundle, minilm_path):
    write_csv(tmp_path / "pool.csv", [(t, f"id{i}") for i, (t, _) in enumerate(make_rows(6, seed=7))], header=("text", "ticket"))
    out = tmp_path / "to_label.csv"
    result = CliRunner().invoke(app, ["label", "next", str(tmp_path / "pool.csv"), "--bundle", str(tiny_bundle), "--n", "4",
                                      "--model", str(minilm_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == 4 and table["reason"].str.contains("cluster").all()
    assert set(table["predicted"]) <= {"card", "loan", "transfer"} and table["ticket"].str.startswith("id").all()


def test_entity_bundle_picks_sentences_by_their_least_sure_word(tmp_path, tiny_ner_bundle, minilm_path):
    write_csv(tmp_path / "pool.csv", [("my card was lost",), ("repay the loan today",), ("payment sent to account",)], header=("text",))
    result = next_batch(tmp_path / "pool.csv", bundle=tiny_ner_bundle, n=2, model=str(minilm_path), strategy="uncertainty")
    assert result.task == "ner" and len(result.table) == 2
    assert result.table["reason"].str.contains("least sure word").all()


def test_bad_inputs(tmp_path, tiny_bundle):
    labelled = write_csv(tmp_path / "labelled.csv", make_rows(3, seed=1))
    with pytest.raises(DataError, match="already has labels") as info:
        next_batch(labelled, bundle=tiny_bundle)
    assert "labelled.csv:row 2:column label" in str(info.value)
    pool = write_csv(tmp_path / "pool.csv", [("a text",)], header=("text",))
    with pytest.raises(DataError, match="either a bundle or seed"):
        next_batch(pool)
    with pytest.raises(DataError, match="Did you mean 'hybrid'"):
        next_batch(pool, bundle=tiny_bundle, strategy="hybird")
    with pytest.raises(DataError, match="uncertainty measure"):
        next_batch(pool, bundle=tiny_bundle, measure="gini")
