"""Bundles and configs for the assistant's tests: the shared tiny intent bundle (card, loan, transfer) and a tiny FAQ
retrieval bundle trained here (answers: card lost/stolen, loan mortgage/rate, transfer payment/sent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import make_pairs, write_csv

ANSWERS = {
    "card": {"en": "Your card ending {card_last4} is blocked; a new one is on its way.",
             "zh": "尾号{card_last4}的卡已冻结，新卡正在寄出。",
             "missing": {"en": "I can block your card: what are its last four digits?", "zh": "请提供卡号后四位，我来为您冻结。"}},
    "loan": {"faq": True},
    "transfer": {"en": "Transfers of {amount} arrive within one working day.", "zh": "{amount}的转账一个工作日内到账。",
                 "missing": {"en": "Transfers arrive within one working day.", "zh": "转账一个工作日内到账。"}},
}


@pytest.fixture(scope="session")
def faq_bundle(tiny_backbone, tmp_path_factory) -> Path:
    import domainfit

    folder = tmp_path_factory.mktemp("assist-faq")
    rows = make_pairs(14, seed=3)
    answers = sorted({a for _, a in rows})
    ids = {a: a.split()[-1] for a in answers}  # "help with loan rate" -> "rate"
    write_csv(folder / "bank.csv", [(ids[a], a) for a in answers], header=("id", "answer"))
    pairs = write_csv(folder / "pairs.csv", [(q, ids[a]) for q, a in rows], header=("query", "faq_id"))
    domainfit.train({"task": "retrieval", "method": "full", "data": {"train": str(pairs), "answers": str(folder / "bank.csv")},
                     "model": {"backbone": str(tiny_backbone), "max_length": 32}, "baselines": [],
                     "training": {"epochs": 3, "batch_size": 8, "lr": 5e-3, "seed": 1}, "output": str(folder / "faq")})
    return folder / "faq"


def write_config(folder: Path, intents: Path, faq: Path | None = None, *, answers: dict | None = None,
                 min_confidence: float = 0.0, **extra) -> Path:
    tree = {"intents": {"bundle": str(intents), "min_confidence": min_confidence}, "answers": answers or ANSWERS, **extra}
    if faq is not None:
        tree["faq"] = {"bundle": str(faq), "min_score": -1.0}
    path = folder / "assistant.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture()
def assistant_yaml(tmp_path, tiny_bundle, faq_bundle) -> Path:
    return write_config(tmp_path, tiny_bundle, faq_bundle)
