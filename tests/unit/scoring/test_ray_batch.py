"""Batch scoring on a real local Ray cluster (2 CPUs, a small object store): blocks of a Parquet file scored by an
actor pool into Parquet parts that keep the id column and match the in-process Predictor; a block that cannot be
written is tried again and reported while the others finish; a re-run scores only what is missing; a bad --address and
a missing id column are clear errors before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from domainfit.errors import DataError
from domainfit.predict import Predictor
from domainfit.scoring import score_parquet
from tests.conftest import make_rows

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def calls(tmp_path_factory) -> Path:
    rows = make_rows(100, seed=5)  # 300 texts
    path = tmp_path_factory.mktemp("calls") / "calls.parquet"
    pq.write_table(pa.table({"call_id": [f"c{i:04d}" for i in range(len(rows))], "text": [t for t, _ in rows],
                             "agent": ["x"] * len(rows)}), path, row_group_size=64)
    return path


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, object_store_memory=80 * 1024**2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


def test_a_bad_address_and_a_missing_id_column_fail_before_any_work(tiny_bundle, calls, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-m", "domainfit", "predict", str(tiny_bundle), "--input", str(calls),
                           "--output", str(tmp_path / "out"), "--engine", "ray", "--address", "ray://127.0.0.1:1",
                           "--id-column", "call_id"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "cannot reach the Ray cluster at 'ray://127.0.0.1:1'" in done.stderr
    assert not list((tmp_path / "out").glob("part-*"))
    with pytest.raises(DataError, match="no id column 'id' in calls.parquet"):
        score_parquet(tiny_bundle, calls, tmp_path / "o2")


def test_blocks_scored_on_ray_match_the_predictor_and_a_rerun_finishes_a_failed_block(tiny_bundle, calls, tmp_path,
                                                                                       ray_cluster):
    out = tmp_path / "scored"
    out.mkdir()
    (out / "part-00002.parquet.tmp").mkdir()  # block 2 cannot be written: every attempt fails
    first = score_parquet(tiny_bundle, calls, out, id_column="call_id", block_rows=80, workers=2, retries=1)
    assert first["blocks"] == 4 and first["scored"] == 3 and first["skipped"] == 0
    assert [f["block"] for f in first["failed"]] == [2] and first["failed"][0]["attempts"] == 2
    assert "IsADirectoryError" in first["failed"][0]["error"] and first["rows"] == 300 - 80

    (out / "part-00002.parquet.tmp").rmdir()
    second = score_parquet(tiny_bundle, calls, out, id_column="call_id", block_rows=80, workers=1)
    assert (second["scored"], second["skipped"], second["failed"], second["rows"]) == (1, 3, [], 80)
    third = score_parquet(tiny_bundle, calls, out, id_column="call_id", block_rows=80)
    assert (third["scored"], third["skipped"], third["rows"]) == (0, 4, 0)

    scored = pq.read_table(out, columns=["call_id", "label", "score"]).to_pandas().sort_values("call_id")
    source = pq.read_table(calls).to_pandas()
    assert scored["call_id"].tolist() == source["call_id"].tolist()  # every row once, with its id
    expected = Predictor.from_bundle(tiny_bundle).predict(source["text"].tolist())
    assert scored["label"].tolist() == [p["label"] for p in expected]
    assert scored["score"].tolist() == pytest.approx([p["score"] for p in expected], abs=1e-5)
    with pytest.raises(DataError, match="holds the scores of another input"):
        score_parquet(tiny_bundle, calls, out, id_column="call_id", block_rows=100)
