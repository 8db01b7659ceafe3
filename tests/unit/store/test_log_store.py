"""The prediction log on a real PostgreSQL server and on SQLite through one SQLAlchemy Core module: the same rows and
corrections either way, Alembic revisions (a fresh database at head, a pre-Alembic SQLite file of schema 2 stamped and
kept, a newer revision refused), clear errors for a bad URL, and two real server processes writing one log under load
losing and duplicating nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from domainfit.errors import DataError
from domainfit.monitor.log import PredictionLog
from domainfit.store import open_engine
from domainfit.store.migrate import current_revision, head_revision
from tests.conftest import free_port, stop_server, wait_ready


@pytest.fixture(params=["sqlite", "postgresql"])
def log_target(request, tmp_path):
    return str(tmp_path / "log.db") if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_the_same_log_on_sqlite_and_postgresql(log_target):
    with PredictionLog(log_target, texts="raw") as log:
        assert log.append([("r1", "tickets", "3", ["card lost", "loan"], [{"label": "cards", "score": 0.9, "top_k": [1]},
                                                                         {"label": "loans", "score": 0.6}], "c-1", "crm#00ab")],
                          ts=100.0) == 2
        assert log.append([("r2", "tickets", "3", ["hi"], [{"label": None, "score": 0.1}])], ts=200.0) == 1
        assert log.add_feedback("r1", 1, "cards", source="crm") and not log.add_feedback("nope", 0, "cards")
        assert log.add_feedback("r1", 1, "transfers", key_id="crm#00ab")  # a later correction replaces the earlier one
        rows = log.predictions()
        assert rows["request_id"].tolist() == ["r1", "r1", "r2"] and rows["text"].tolist() == ["card lost", "loan", "hi"]
        assert rows["output"][0] == {"label": "cards", "score": 0.9} and rows["client_request_id"].tolist()[:2] == ["c-1"] * 2
        assert log.predictions(since=150.0)["request_id"].tolist() == ["r2"] and len(log.predictions(limit=2)) == 2
        fixes = log.corrections()
        assert fixes[["text", "label", "predicted", "source", "corrected_by"]].values.tolist() == [
            ["loan", "transfers", "loans", None, "crm#00ab"]]
        assert log.counts()["predictions"] == 3 and log.counts()["corrections"] == 1
    reader = PredictionLog(log_target, create=False)  # a reader keeps the writer's text policy
    assert reader.texts == "raw" and len(reader.predictions()) == 3
    with open_engine(log_target).connect() as conn:
        assert current_revision(conn, "log") == head_revision("log") == "log_0002"


_SCHEMA_2 = """
CREATE TABLE predictions (id INTEGER PRIMARY KEY, ts REAL NOT NULL, request_id TEXT, item INTEGER NOT NULL, model TEXT,
    version TEXT, length INTEGER NOT NULL, text TEXT, label TEXT, score REAL, output TEXT NOT NULL, client_request_id TEXT,
    key_id TEXT);
CREATE INDEX predictions_ts ON predictions (ts);
CREATE INDEX predictions_request ON predictions (request_id, item);
CREATE TABLE feedback (id INTEGER PRIMARY KEY, ts REAL NOT NULL, request_id TEXT NOT NULL, item INTEGER NOT NULL,
    label TEXT NOT NULL, source TEXT, key_id TEXT, UNIQUE (request_id, item) ON CONFLICT REPLACE);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '2'), ('texts', 'raw');
INSERT INTO predictions VALUES (1, 5.0, 'old', 0, 'tickets', '1', 4, 'card', 'card', 0.9, '{"label": "card"}', 'c', 'k#1');
INSERT INTO feedback VALUES (1, 6.0, 'old', 0, 'loan', 'crm', 'k#1');
"""


def test_a_schema_2_file_written_before_alembic_opens_and_is_stamped(tmp_path):
    db = tmp_path / "schema2.db"
    with sqlite3.connect(db) as con:  # the file exactly as the raw-sqlite3 log of schema 2 wrote it
        con.executescript(_SCHEMA_2)
    with PredictionLog(db, create=False) as log:
        assert log.texts == "raw" and log.predictions()["request_id"].tolist() == ["old"]
        assert log.corrections()["label"].tolist() == ["loan"]
    with PredictionLog(db) as log:
        log.append([("new", "tickets", "2", ["loan"], [{"label": "loan", "score": 0.7}])])
        assert log.add_feedback("old", 0, "card") and log.corrections()["label"].tolist() == ["card"]
        assert log.predictions()["id"].tolist() == [1, 2]
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT version_num FROM domainfit_log_version").fetchall() == [("log_0002",)]
        con.execute("UPDATE domainfit_log_version SET version_num = 'log_0099'")
    with pytest.raises(DataError, match="unknown to this domainfit") as caught:  # written by a newer version
        PredictionLog(db)
    assert "upgrade domainfit" in str(caught.value)


def test_a_bad_url_is_a_clear_error_without_the_password(tmp_path):
    port = free_port()  # nothing listens there
    with pytest.raises(DataError, match="cannot open the prediction log") as caught:
        PredictionLog(f"postgresql+psycopg://app:s3cret@127.0.0.1:{port}/log")
    assert "s3cret" not in str(caught.value) and "that the server is up" in str(caught.value)
    with pytest.raises(DataError, match="no prediction log in"):
        PredictionLog(f"sqlite:///{tmp_path / 'empty.db'}", create=False)


def _serve(bundle, port, log_target, server_log):
    """The server's JSON log goes to a file: a pipe nobody reads would fill up and block the server."""
    env = {**os.environ, "PYTHONPATH": "src", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    with open(server_log, "w") as err:
        return subprocess.Popen([sys.executable, "-m", "domainfit.cli.main", "serve", str(bundle), "--port", str(port),
                                 "--prediction-log", log_target, "--log-texts", "raw", "--threads", "1"],
                                env=env, stdout=subprocess.DEVNULL, stderr=err)


_WRITER = """
import sys
from domainfit.monitor.log import PredictionLog
with PredictionLog(sys.argv[1], texts="raw") as log:
    for i in range(150):
        log.append([(f"{sys.argv[2]}-{i}", "m", "1", ["a", "b"], [{"label": "x", "score": 0.5}] * 2)])
"""


def test_two_processes_appending_to_one_sqlite_file_at_once(tmp_path):
    db = str(tmp_path / "shared.db")  # a fresh file: both processes also race to create the tables
    env = {**os.environ, "PYTHONPATH": "src"}
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, db, name], env=env) for name in ("a", "b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    rows = PredictionLog(db, create=False).predictions()
    assert len(rows) == 600 and len(set(zip(rows["request_id"], rows["item"]))) == 600 and rows["id"].is_unique


def test_two_server_processes_writing_one_log_under_load_lose_and_duplicate_nothing(tiny_bundle, postgres_url, tmp_path):
    log_target = postgres_url
    PredictionLog(log_target).close()  # the schema made once; both servers then open an existing log at once anyway
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"serve-{port}.log" for port in ports]
    servers = [_serve(tiny_bundle, port, log_target, log) for port, log in zip(ports, logs)]
    try:
        for port, proc, log in zip(ports, servers, logs):
            wait_ready(proc, f"http://127.0.0.1:{port}", log, seconds=120)

        def call(i: int):
            texts = [f"card lost {i} {j}" for j in range(1 + i % 3)]
            r = httpx.post(f"http://127.0.0.1:{ports[i % 2]}/v1/predict", json={"texts": texts},
                           headers={"X-Request-ID": f"client-{i}"}, timeout=30)
            assert r.status_code == 200, r.text
            return r.json()["request_id"], texts

        with ThreadPoolExecutor(8) as pool:
            answered = list(pool.map(call, range(160)))
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            stop_server(proc, seconds=60)
    rows = PredictionLog(log_target, create=False).predictions()
    expected = {(rid, item, text) for rid, texts in answered for item, text in enumerate(texts)}
    logged = list(zip(rows["request_id"], rows["item"].astype(int), rows["text"]))
    assert len(logged) == len(expected) == sum(1 + i % 3 for i in range(160))  # nothing lost, nothing twice
    assert set(logged) == expected and rows["id"].is_unique
    assert set(rows["client_request_id"]) == {f"client-{i}" for i in range(160)}
