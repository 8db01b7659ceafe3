"""Watchlist matching (Chinese and English, aliases, word boundaries) and near-duplicate collapsing."""

from domainfit.apps.watch.dedup import Deduplicator, numbers
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


def test_template_sentences_with_other_figures_are_different_stories():
    """PhraseBank-style templates: MinHash alone calls them copies; different figures make them different news."""
    d = Deduplicator(threshold=0.7, num_perm=128, shingle=3, horizon=86400)
    first = "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn in the corresponding period in 2007"
    other = "Operating profit rose to EUR 13.1 mn from EUR 9.7 mn in the corresponding period in 2007"
    assert d._minhash(first).jaccard(d._minhash(other)) >= 0.7  # the wording alone would merge them
    assert d.assign("a", first, 0.0) == "a"
    assert d.assign("b", other, 60.0) == "b"
    assert d.assign("c", first.replace("13.1", "12.4").replace("8.7", "10.0"), 90.0) == "c"
    # real reposts of each still collapse into their own story, whatever the tags around them
    assert d.assign("a2", "(Reuters) " + first + " - Reuters", 120.0) == "a"
    assert d.assign("b2", "BREAKING: " + other + " (updated)", 180.0) == "b"
    assert len(d) == 3


def test_copies_must_name_the_same_watchlist_keys():
    d = Deduplicator(threshold=0.7, num_perm=128, shingle=3, horizon=86400)
    text = "Net sales decreased in the third quarter as demand for paper weakened across Europe"
    assert d.assign("u", "UPM: " + text, 0.0, keys=["UPM"]) == "u"
    assert d.assign("s", "Stora Enso: " + text, 10.0, keys=["Stora Enso"]) == "s"
    assert d.assign("plain", text, 20.0) == "plain"
    assert d.assign("u2", "UPM: " + text + " - Reuters", 30.0, keys=["UPM"]) == "u"
    d.remember("n", "Nokia: " + text + " again", 40.0, keys=["Nokia"])
    assert d.assign("n2", "Nokia: " + text + " again (updated)", 50.0, keys=["Nokia"]) == "n"


def test_numbers_read_as_written():
    assert numbers("EUR 13.1 mn from EUR 8.7 mn") == {"13.1", "8.7"}
    assert numbers("1,200 jobs and 12,500,000 shares; margin 13,1 %") == {"1200", "12500000", "13.1"}
    assert numbers("营收增长２０%") == {"20"}
    assert numbers("no figures here") == frozenset()
