"""The HTML report: every section present, customer text escaped, nothing loaded from the network."""

import re

import numpy as np
import pytest

from domainfit.evaluation import classification_metrics, render_report, write_report

LABELS = ["card_arrival", "exchange_rate", "<b>refund</b>"]


def _inputs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), y] += 2.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    texts = [f"message {i}" for i in range(n)]
    wrong = int(np.flatnonzero(proba.argmax(axis=1) != y)[0])
    texts[wrong] = "<script>alert('pwned')</script> & my card"
    proba[wrong] = np.eye(3)[(y[wrong] + 1) % 3] * 0.98 + 0.01  # the most confident error
    metrics = classification_metrics([LABELS[i] for i in y], proba, LABELS, texts=texts)
    comparison = [
        {"name": "domainfit (full)", "accuracy": 0.93, "macro_f1": 0.92, "note": "fine-tuned"},
        {"name": "tfidf", "accuracy": 0.91, "macro_f1": 0.90, "note": "<i>classic</i>"},
        {"name": "zeroshot", "accuracy": 0.40, "macro_f1": None, "note": "failed"},
    ]
    data_report = {
        "issues": [{"code": "duplicate_text", "severity": "warning", "message": "8 duplicated <texts>",
                    "where": [f"train.csv:{i}" for i in range(2, 10)], "hint": "drop them"}],
        "counts": {"rows": 1000, "kept": 992},
    }
    history = [{"step": s, "epoch": s / 50, "train_loss": 2.0 / (1 + s / 20), "lr": 1e-4} for s in range(0, 101, 10)]
    for row in history[2::3]:
        row["val_macro_f1"] = 0.5 + row["step"] / 250
    training = {"history": history, "seconds": 42.5, "best_step": 80}
    summary = {"task": "classification", "labels": LABELS, "rows": 1000, "created": "2025-01-01 <now>"}
    return dict(title="Bank <intents>", summary=summary, metrics=metrics, comparison=comparison,
                data_report=data_report, training=training)


@pytest.fixture(scope="module")
def html():
    return render_report(**_inputs())


def test_sections_present(html):
    for anchor in ("comparison", "per-class", "confusion", "calibration", "confused", "errors", "training", "data"):
        assert f'<section id="{anchor}">' in html
    assert html.count("<svg") == 5  # comparison, per-class, confusion, reliability, training


def test_user_text_is_escaped(html):
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt; &amp; my card" in html
    assert "<b>refund</b>" not in html and "<i>classic</i>" not in html and "<texts>" not in html
    assert "&lt;b&gt;refund&lt;/b&gt;" in html
    assert "<title>Bank &lt;intents&gt;</title>" in html


def test_self_contained(html):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\((?!#)|@import|<link|<script|<iframe|<img", html, re.I)  # url(#id): in-page SVG refs
    # the only absolute URLs left are SVG namespace names, which browsers never fetch
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg",
                                                             "http://www.w3.org/1999/xlink"}


def test_comparison_best_and_deltas(html):
    section = html.split('<section id="comparison">')[1].split("</section>")[0]
    assert 'class="best"' in section and "domainfit (full)" in section.split('class="best"')[1][:200]
    assert "+2.0&nbsp;pp" in section  # 0.93 - 0.91 accuracy
    assert "—" in section  # the failed baseline's missing macro-F1
    assert "beats the best baseline" in html


def test_where_list_truncated(html):
    assert "train.csv:6 and 3 more" in html and "train.csv:7" not in html


def test_baseline_better_than_model_is_said():
    kwargs = _inputs()
    kwargs["comparison"][0]["macro_f1"] = 0.85
    assert "does not beat" in render_report(**kwargs)


def test_optional_parts_may_be_missing():
    html = render_report(title="t", summary={}, metrics={"accuracy": 0.5}, comparison=[])
    assert '<section id="comparison">' in html and '<section id="training">' not in html
    assert '<section id="data">' not in html


def test_model_row_can_be_marked():
    kwargs = _inputs()
    kwargs["comparison"] = [{"name": "tfidf", "accuracy": 0.9, "macro_f1": 0.9},
                            {"name": "mine", "accuracy": 0.95, "macro_f1": 0.95, "model": True}]
    html = render_report(**kwargs)
    assert "the model is <b>mine</b>" in html and "+5.0&nbsp;pp" in html


def test_write_report(tmp_path):
    path = write_report(tmp_path / "run" / "report.html", **_inputs())
    assert path.exists() and path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_train_time_column_reads_train_seconds():
    kwargs = _inputs()
    kwargs["comparison"][0]["train_seconds"] = 712.4
    kwargs["comparison"][1]["train_seconds"] = None
    section = render_report(**kwargs).split('<section id="comparison">')[1].split("</section>")[0]
    assert "train time" in section and "712.4 s" in section
