"""report.html follows the CLI's language: with DOMAINFIT_LANG=zh its headings, table headers and notes are Chinese,
while the numbers, the labels and the user's texts are exactly those of the English report."""

from __future__ import annotations

import re

import pytest

from domainfit.evaluation import render_report
from domainfit.evaluation.sections import SECTIONS, section_titles
from tests.unit.evaluation.test_eval_report import LABELS, _inputs

_HAN = re.compile(r"[\u4e00-\u9fff]")
# headers that are names in every language: the empty corner cell, metric symbols
_AS_IS = {"", "F1", "R²", "MAE", "RMSE", "Spearman ρ", "Pearson r", "recall@1", "recall@5", "recall@10", "MRR@10"}


def _render(monkeypatch, lang: str) -> str:
    monkeypatch.setenv("DOMAINFIT_LANG", lang)
    return render_report(**_inputs())


def _texts(html: str, tag: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(rf"<{tag}(?: [^>]*)?>(.*?)</{tag}>", html, re.DOTALL)]


def test_a_chinese_report_has_chinese_headings_and_none_left_in_english(monkeypatch):
    zh = _render(monkeypatch, "zh")
    headings = _texts(zh, "h2")
    assert {"与基线对比", "各类别得分", "混淆矩阵", "校准", "最易混淆的类别对", "置信度最高的错误", "训练"} <= set(headings)
    assert all(_HAN.search(h) for h in headings), headings  # every section heading translated
    headers = [h for h in _texts(zh, "th") if h not in _AS_IS]
    assert headers and all(_HAN.search(h) for h in headers), [h for h in headers if not _HAN.search(h)]
    nav = _texts(zh, "a")
    assert nav and all(_HAN.search(a) for a in nav if not a.startswith("#"))
    assert '<html lang="zh-CN">' in zh and "domainfit 评估报告" in zh and "超过最佳基线" in zh
    assert "按 F1 排序，最弱的在前" in zh and "由 domainfit" in zh  # notes and footer
    for english in ("Comparison with baselines", "Sorted by F1", "Most confident errors", "beats the best baseline"):
        assert english not in zh


def test_numbers_labels_and_texts_are_unchanged(monkeypatch):
    en, zh = _render(monkeypatch, "en"), _render(monkeypatch, "zh")
    assert '<html lang="en">' in en and "Comparison with baselines" in en
    for kept in ("+2.0&nbsp;pp", "&lt;b&gt;refund&lt;/b&gt;", "card_<wbr>arrival", "domainfit (full)",
                 "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt; &amp; my card", "train.csv:2"):
        assert en.count(kept) == zh.count(kept) > 0, kept
    numbers = re.compile(r"\d+\.\d+%")
    assert sorted(numbers.findall(en)) == sorted(numbers.findall(zh))
    assert all(label.replace("<", "&lt;").replace(">", "&gt;").replace("_", "_<wbr>") in zh for label in LABELS)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_section_has_a_title_in_each_language(monkeypatch, lang):
    monkeypatch.setenv("DOMAINFIT_LANG", lang)
    titles = section_titles()
    assert set(titles) == {anchor for anchor, *_rest in SECTIONS}
    english = {anchor: name for anchor, name, *_rest in SECTIONS}
    for anchor, title in titles.items():
        assert (bool(_HAN.search(title)) if lang == "zh" else title == english[anchor]), (anchor, title)
