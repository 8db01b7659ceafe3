"""Watchlist matching (Chinese and English, aliases, word boundaries) and near-duplicate collapsing."""

from domainfit.apps.watch.dedup import Deduplicator
from domainfit.apps.watch.watchlist import Watchlist

WL = Watchlist([("招商银行", ["招行", "CMB", "China Merchants Bank"]), ("Nokia", ["诺基亚", "NOK"])])


def test_english_aliases_at_word_boundaries():
    assert WL.match("CMB shares fell 5% today") == ["招商银行"]
    assert WL.match("china merchants bank cut its forecast") == ["招商银行"]
    assert WL.match("(cmb) results") == ["招商银行"]
    assert WL.match("CMBS spreads widened") == []  # not inside a longer word
    assert WL.match("ACMB Ltd") == []
    assert WL.match("Nokia and CMB sign a deal") == ["招商银行", "Nokia"]
    assert WL.match("Nokian Tyres profit") == []
    assert WL.match("ＮＯＫＩＡ full-width") == ["Nokia"]


def test_chinese_aliases_respect_segmentation():
    assert WL.match("招行发布年报，净利润下降") == ["招商银行"]
    assert WL.match("中信证券与招行合作") == ["招商银行"]
    assert WL.match("招商银行股价大跌") == ["招商银行"]
    assert WL.match("招行业绩下滑") == ["招商银行"]
    assert WL.match("公司正在招行政人员") == []  # 招 / 行政 / 人员
    assert WL.match("我们在招行业专家") == []  # 招 / 行业 / 专家
    assert WL.match("诺基亚裁员") == ["Nokia"]
    assert WL.match("CMB和诺基亚") == ["招商银行", "Nokia"]


def test_reposts_collapse_into_one_story():
    d = Deduplicator(threshold=0.7, num_perm=128, shingle=3, horizon=86400)
    story = "Nokia shares fell sharply after the company cut its full-year outlook on weak network sales"
    assert d.assign("a", story, 0.0) == "a"
    copies = [story + " - Reuters", "BREAKING: " + story, story.upper(), story + " (updated)"]
    assert [d.assign(f"c{i}", t, 60.0 * i) for i, t in enumerate(copies)] == ["a"] * 4
    other = "Finnair reported a rise in passenger numbers in October compared with last year"
    assert d.assign("b", other, 300.0) == "b"
    assert len(d) == 2
    # beyond the horizon the same text is a new story
    assert d.assign("late", story, 86400 * 2.0) == "late"


def test_dedup_remembers_stories_of_other_workers():
    d = Deduplicator(threshold=0.8, num_perm=64, shingle=3, horizon=86400)
    d.remember("x", "the bank raised its dividend for the third year in a row", 10.0)
    d.remember("x", "the bank raised its dividend for the third year in a row", 10.0)  # idempotent
    assert d.assign("y", "the bank raised its dividend for the third year in a row", 20.0) == "x"
    assert len(d) == 1
