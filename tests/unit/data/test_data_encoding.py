"""decode: the file's encoding from its lines, and the lines in another encoding marked bad with what they read as."""

from __future__ import annotations

import random

import pytest

from domainfit.data.encoding import decode, detect_encoding, split_lines
from domainfit.errors import DataError, EncodingError

ZH = ["这家店的外卖送得很快，味道也不错！", "送餐太慢了，等了一个半小时", "服务态度很好", "客服电话打不通，退款也很慢"]


def utf8_lines(n: int) -> list[bytes]:
    return [f"row {i} café au lait,a\n".encode() for i in range(n)]


def test_utf8_file_is_decoded_whole_without_per_line_work():
    raw = "text,label\r\ncafé,a\rthé,b\n".encode()
    d = decode(raw)
    assert (d.encoding, d.bad) == ("utf-8", {})
    assert d.lines == ["text,label\r\n", "café,a\r", "thé,b\n"]  # \r\n, bare \r and \n all end a line


def test_one_gbk_and_one_latin1_line_in_a_utf8_file_are_bad_and_named():
    lines = utf8_lines(10)
    lines[3] = "外卖送得很快,b\n".encode("gbk")
    lines[7] = "crème brûlée,c\n".encode("latin-1")
    d = decode(b"text,label\n" + b"".join(lines))
    assert d.encoding == "utf-8"
    assert sorted(d.bad) == [4, 8]  # 0-based: the header is line 0
    assert "line 5 is not valid utf-8" in d.bad[4] and "reads as gb18030: '外卖送得很快,b'" in d.bad[4]
    assert "line 9 is not valid utf-8" in d.bad[8] and "crème brûlée" in d.bad[8]
    assert d.lines[4] == "外卖送得很快,b\n"  # decoded as it seems to be, for rejects.csv
    assert d.lines[1] == "row 0 café au lait,a\n"  # the other lines untouched: no "cafÃ©"


def test_a_utf8_line_in_a_gbk_file_is_bad_but_chance_valid_gbk_lines_stay():
    # "去" in GBK (c8 a5) is also valid UTF-8 ("ȥ"): a CoNLL file of one character a line has many such lines.
    conll = "".join(f"{c}\tO\n" for c in "我在北京大学工作张三去上海今天天气很好我们一起去吃饭吧")
    d = decode(conll.encode("gbk"))
    assert (d.encoding, d.bad, d.text) == ("gb18030", {}, conll)
    raw = "".join(f"{t},a\n" for t in ZH * 3).encode("gbk") + "外卖送得很快,b\n".encode() + "服务很好,a\n".encode("gbk")
    d = decode(raw)
    assert d.encoding == "gb18030" and sorted(d.bad) == [12]
    assert "reads as utf-8: '外卖送得很快,b'" in d.bad[12]


def test_a_utf8_line_in_a_single_byte_legacy_file_is_bad():
    rows = "".join(f"Crème brûlée numéro {i} très bonne,a\n" for i in range(20)).encode("cp1252")
    d = decode(rows + "naïve café,b\n".encode())
    assert sorted(d.bad) == [20] and "reads as utf-8: 'naïve café,b'" in d.bad[20]


def test_ascii_file_with_one_gbk_and_one_latin1_line():
    # no UTF-8 line says UTF-8: the file is read as the encoding of one of them, the other line is still bad
    raw = b"text,label\nplain,a\n" + "外卖送得很快,b\n".encode("gbk") + "crème brûlée,c\n".encode("latin-1")
    d = decode(raw)
    assert len(d.bad) == 1
    assert d.encoding == "gb18030" and "crème brûlée" in d.bad[3]


@pytest.mark.parametrize("seed", range(3))
def test_random_gbk_lines_are_never_rejected_by_chance(seed):
    rng = random.Random(seed)
    chars = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFE)
             if hi != 0xD7 or lo < 0xFA]
    text = "".join("".join(rng.choice(chars) for _ in range(rng.randint(1, 6))) + ",a\n" for _ in range(3000))
    d = decode(text.encode("gbk"))
    assert (d.encoding, d.bad, d.text) == ("gb18030", {}, text)


def test_legacy_detection_is_unchanged_for_whole_files():
    for text, enc, want in ((f"文本,标签\n{ZH[0]},好评\n", "gbk", "gb18030"), ("text,label\n你好,a\n", "utf-16", "utf-16"),
                            ("text,label\nhi,a\n", "utf-8-sig", "utf-8-sig")):
        raw = text.encode(enc)
        assert decode(raw).encoding == want == detect_encoding(raw)[0]


def test_nul_bytes_mean_binary_near_the_start_and_a_bad_line_later():
    with pytest.raises(DataError, match="NUL bytes .line 2.: it looks like a binary file") as e:
        decode(b"text,label\n\x00\x01\x02,a\n")
    assert e.value.hint and "export" in e.value.hint
    with pytest.raises(DataError, match="binary"):
        decode(bytes(range(256)) * 4, "latin-1")  # an explicit single-byte encoding decodes anything: still refused
    raw = b"text,label\n" + b"ok,a\n" * 2000 + b"x\x00y,b\n"
    d = decode(raw)
    assert list(d.bad) == [2001] and d.bad[2001].startswith("binary: line 2002")


def test_explicit_encoding_is_strict_and_names_the_line():
    with pytest.raises(EncodingError) as e:
        decode(b"text,label\nok,a\nbad \xff,b\n", "utf-8")
    assert e.value.line == 3 and "byte 0xff at byte offset 20 (line 3)" in e.value.message
    with pytest.raises(EncodingError, match="unknown encoding"):
        decode(b"a,b\n", "no-such-codec")


def test_undetectable_bytes_raise_encoding_error_with_a_hint():
    raw = bytes(b for b in range(0x80, 0x100)) * 3
    with pytest.raises(EncodingError) as e:
        decode(b"text,label\n" + raw)
    assert "--encoding" in (e.value.hint or "")


def test_split_lines_only_at_line_ends():
    assert split_lines("a\u2028b\x85c\rd\r\ne\nf") == ["a\u2028b\x85c\r", "d\r\n", "e\n", "f"]
