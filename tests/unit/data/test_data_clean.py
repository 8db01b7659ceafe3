"""normalize_text: NFKC, invisible characters, whitespace."""

from __future__ import annotations

from domainfit.data import normalize_text
from domainfit.data.clean import strip_text


def test_full_width_becomes_half_width_and_cjk_punctuation_stays():
    assert normalize_text("ＨＥＬＬＯ　ｗｏｒｌｄ！１２３") == "HELLO world!123"
    assert normalize_text("你好，世界。再见、朋友「好」") == "你好,世界。再见、朋友「好」"


def test_invisible_characters_removed_whitespace_collapsed():
    assert normalize_text("\ufeff  a\u200bb\u00ad c\x00d \t\n\r  e\u3000\u3000f  ") == "ab cd e f"
    assert normalize_text("line1\nline2\x0bline3") == "line1 line2 line3"


def test_empty_and_whitespace_only():
    assert normalize_text("") == ""
    assert normalize_text(" \u3000\t\n\u200b ") == ""


def test_idempotent_and_ascii_untouched():
    s = "Where is my card?"
    assert normalize_text(s) == s
    t = normalize_text("ｆｕｌｌ　ｗｉｄｔｈ\u200d text")
    assert normalize_text(t) == t == "full width text"


def test_strip_only_when_normalisation_is_off():
    assert strip_text("  ＡＢＣ  x ") == "ＡＢＣ  x"
