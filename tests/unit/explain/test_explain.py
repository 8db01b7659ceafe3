"""Explanations on the tiny model: shapes and sums, word merging, the automatic choice and the ONNX (occlusion) path."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import domainfit
from domainfit.errors import DomainfitError
from domainfit.evaluation.explain import choose_explainer, explain, explainers
from domainfit.evaluation.explain.occlusion import delete_words
from domainfit.evaluation.explain.words import merge_tokens, token_spans, word_spans
from domainfit.predict import Predictor

TEXTS = ["my card is lost please help", "i need a loan with a low rate", "why is my transfer not arrived"]


@pytest.fixture(scope="module")
def predictor(tiny_bundle):
    return Predictor.from_bundle(tiny_bundle, variant="torch")


def test_words_split_latin_punctuation_and_chinese():
    text = "Lost my card! 我的银行卡丢了"
    assert [text[s:e] for s, e in word_spans(text)] == ["Lost", "my", "card", "!", "我", "的", "银", "行", "卡", "丢", "了"]
    jieba_words = [text[s:e] for s, e in word_spans(text, chinese="jieba")]
    assert jieba_words[:4] == ["Lost", "my", "card", "!"] and "".join(jieba_words[4:]) == "我的银行卡丢了"
    assert len(jieba_words) < 11  # jieba joins characters into words (银行卡)
    with pytest.raises(ValueError):
        word_spans(text, chinese="pinyin")


def test_word_pieces_merge_into_their_word(minilm_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path))
    text = "chargebacks unbelievably slow"
    ids, offsets = token_spans(tokenizer, text, 32)
    assert len(ids) > 5  # [CLS] word pieces ... [SEP]: the long words are cut into pieces
    words = merge_tokens(text, offsets, list(range(len(ids))))
    assert [w["word"] for w in words] == ["chargebacks", "unbelievably", "slow"]
    first = [i for i, (s, e) in enumerate(offsets) if e > s and e <= len("chargebacks")]
    assert len(first) >= 2 and words[0]["weight"] == sum(first)
    assert sum(w["weight"] for w in words) == sum(range(1, len(ids) - 1))  # every piece counted once, specials dropped


def test_merge_chinese_by_character():
    text = "银行卡丢了"
    offsets = [(0, 0), (0, 2), (2, 3), (3, 5), (0, 0)]  # pieces spanning characters (a tokenizer with Chinese words)
    words = merge_tokens(text, offsets, [9.0, 1.0, 2.0, 3.0, 9.0])
    # a two-character piece shares its weight between its characters
    assert [(w["word"], w["weight"]) for w in words] == [("银", 0.5), ("行", 0.5), ("卡", 2.0), ("丢", 1.5), ("了", 1.5)]


def test_integrated_gradients_sum_to_the_score_change(predictor):
    found = explain(predictor, TEXTS, method="integrated_gradients")
    scores = predictor.predict_scores(TEXTS)
    for text, e, row in zip(TEXTS, found, scores):
        assert e["method"] == "integrated_gradients"
        assert e["target"] == predictor.labels[int(row.argmax())]
        assert e["score"] == pytest.approx(float(row.max()), abs=1e-5)
        assert [w["word"] for w in e["words"]] == text.split()  # one weight per word, in order
        total = sum(w["weight"] for w in e["words"])
        # completeness: the weights add up to f(text) - f(all padding), within the integral's error
        assert total == pytest.approx(e["score"] - e["baseline_score"], abs=max(0.02, 2 * e["delta"]))


def test_a_chosen_target_is_explained(predictor):
    other = next(label for label in predictor.labels if label != predictor.predict(TEXTS[:1])[0]["label"])
    e = explain(predictor, TEXTS[:1], method="occlusion", targets=[other])[0]
    assert e["target"] == other
    with pytest.raises(DomainfitError, match="no label"):
        explain(predictor, TEXTS[:1], targets=["nope"])


def test_occlusion_weight_is_the_score_drop_when_the_word_is_deleted(predictor):
    e = explain(predictor, TEXTS[:1], method="occlusion")[0]
    column = predictor.labels.index(e["target"])
    for w in e["words"]:
        without = delete_words(TEXTS[0], [(w["start"], w["end"])])
        assert w["weight"] == pytest.approx(e["score"] - float(predictor.predict_scores([without])[0, column]), abs=1e-5)
    assert delete_words("a  b c", [(3, 4)]) == "a c"


def test_auto_prefers_gradients_on_pytorch_and_occlusion_on_onnx(tiny_bundle, tmp_path, predictor):
    assert choose_explainer(predictor).name == "integrated_gradients"
    copy = shutil.copytree(tiny_bundle, tmp_path / "b")
    domainfit.compress(copy, to="onnx", quantize="none", tolerance=100)
    onnx = Predictor.from_bundle(copy, variant="onnx-fp32")
    assert choose_explainer(onnx).name == "occlusion"
    with pytest.raises(DomainfitError, match="no PyTorch model"):
        choose_explainer(onnx, "integrated_gradients")
    on_onnx = explain(onnx, TEXTS)
    on_torch = explain(predictor, TEXTS, method="occlusion")
    for a, b in zip(on_onnx, on_torch):  # the same model, so the same drops
        assert a["method"] == "occlusion" and a["target"] == b["target"]
        np.testing.assert_allclose([w["weight"] for w in a["words"]], [w["weight"] for w in b["words"]], atol=1e-4)


def test_model_predict_with_explain(tiny_bundle):
    model = domainfit.load(tiny_bundle)
    preds = model.predict(TEXTS[:2], explain=True)
    assert all(p["explanation"]["target"] == p["label"] for p in preds)
    assert "explanation" not in model.predict(TEXTS[:1])[0]
    assert set(explainers) >= {"integrated_gradients", "occlusion"}


def test_cli_predict_explain(tiny_bundle):
    import json

    from typer.testing import CliRunner

    from domainfit.cli.main import app

    runner = CliRunner()
    r = runner.invoke(app, ["predict", str(tiny_bundle), "--text", TEXTS[0], "--explain", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out[0]["explanation"]["target"] == out[0]["label"]
    assert [w["word"] for w in out[0]["explanation"]["words"]] == TEXTS[0].split()
    shown = runner.invoke(app, ["predict", str(tiny_bundle), "--text", TEXTS[0], "--explain"])
    assert shown.exit_code == 0 and "top words:" in shown.stdout
    refused = runner.invoke(app, ["predict", str(tiny_bundle), "--input", "x.csv", "--explain"])
    assert refused.exit_code != 0 and "--explain explains the --text predictions" in str(refused.exception)


def test_report_shows_the_worst_errors_with_their_explanations(tiny_backbone, tmp_path):
    import json

    from tests.conftest import train_tiny_bundle

    bundle = train_tiny_bundle(tiny_backbone, tmp_path / "b", epochs=1)  # one epoch: wrong often enough to have errors
    errors = json.loads((bundle / "metrics.json").read_text())["model"]["worst_errors"]
    assert errors, "the one-epoch model should make mistakes"
    explained = errors[:10]  # the most confident ten: every evaluation pays for them
    for err in explained:
        assert err["explanation"]["target"] == err["pred"]
        assert [w["word"] for w in err["explanation"]["words"]] == err["text"].split()
    assert not any("explanation" in err for err in errors[10:])
    html = (bundle / "report.html").read_text()
    assert html.count('class="explained"') == len(explained) and "<mark " in html
