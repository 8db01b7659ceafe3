"""read_table: every format, encodings, delimiters, row numbers and the errors a user meets."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from domainfit.data import read_table
from domainfit.errors import DataError, EncodingError

ZH = "这家店的外卖送得很快，味道也不错！"


def test_csv_keeps_strings_and_row_numbers(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("text,label,score\nhello,a,007\nNA,b,\n,c,1.50\n", encoding="utf-8")
    r = read_table(p)
    assert (r.format, r.encoding, r.delimiter) == ("csv", "utf-8", ",")
    assert r.frame["text"].tolist() == ["hello", "NA", ""]  # "NA" stays "NA", empty stays ""
    assert r.frame["score"].tolist() == ["007", "", "1.50"]  # no number parsing
    assert r.frame["_row"].tolist() == [2, 3, 4]
    assert r.frame["_file"].tolist() == [str(p)] * 3


def test_quoted_newline_inside_a_cell(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('text,label\n"line one\nline two, with comma",a\nnext,b\n', encoding="utf-8")
    r = read_table(p)
    assert r.frame["text"].tolist() == ["line one\nline two, with comma", "next"]
    assert r.frame["_row"].tolist() == [2, 3]  # record numbers, like Excel


def test_blank_lines_are_skipped_but_counted_in_row_numbers(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("text,label\nfirst,a\n\nthird,b\n\n", encoding="utf-8")
    r = read_table(p)
    assert r.frame["text"].tolist() == ["first", "third"]
    assert r.frame["_row"].tolist() == [2, 4]  # the line the editor shows


def test_semicolon_delimiter_is_sniffed(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("text;label\nhello, world;a\n\"x;y\";b\n", encoding="utf-8")
    r = read_table(p)
    assert r.delimiter == ";"
    assert r.frame["text"].tolist() == ["hello, world", "x;y"]


def test_explicit_delimiter_name(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("text|label\na,b|c\n", encoding="utf-8")
    assert read_table(p, delimiter="|").frame["label"].tolist() == ["c"]
    q = tmp_path / "q.csv"
    q.write_text("text\tlabel\na,b\tc\n", encoding="utf-8")
    assert read_table(q, delimiter="tab").frame["text"].tolist() == ["a,b"]


def test_tsv(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("text\tlabel\nhello, world\tgreet\n", encoding="utf-8")
    r = read_table(p)
    assert (r.format, r.delimiter) == ("tsv", "\t")
    assert r.frame[["text", "label"]].values.tolist() == [["hello, world", "greet"]]


def test_gbk_chinese_csv_is_detected(tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes(f"文本,标签\n{ZH},好评\n送餐太慢了，等了一个半小时,差评\n".encode("gbk"))
    r = read_table(p)
    assert r.encoding == "gb18030"
    assert r.frame["文本"].tolist() == [ZH, "送餐太慢了，等了一个半小时"]
    assert r.frame["标签"].tolist() == ["好评", "差评"]


def test_korean_euc_kr_is_not_mistaken_for_gbk(tmp_path):
    rows = ["배송이 너무 늦어요 음식이 다 식었어요,부정", "맛있고 빠르게 도착했어요 다음에도 주문할게요,긍정", "고객센터 직원이 친절하게 응대해 주셨습니다,긍정", "환불 처리가 너무 오래 걸립니다,부정"]
    p = tmp_path / "ko.csv"
    p.write_bytes(("text,label\n" + "\n".join(rows) + "\n").encode("euc-kr"))
    r = read_table(p)
    assert r.encoding != "gb18030"
    assert r.frame["label"].tolist() == ["부정", "긍정", "긍정", "부정"]


def test_txt_sniffs_tab(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("text\tlabel\nhello, world; again\tgreet\n", encoding="utf-8")
    r = read_table(p)
    assert (r.format, r.delimiter) == ("tsv", "\t")
    assert r.frame["text"].tolist() == ["hello, world; again"]


def test_utf8_bom_csv(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("text,label\nhi,a\n".encode("utf-8-sig"))
    r = read_table(p)
    assert r.encoding == "utf-8-sig"
    assert list(r.frame.columns[:2]) == ["text", "label"]  # no "\ufefftext"


def test_utf16_bom_csv(tmp_path):
    p = tmp_path / "u16.csv"
    p.write_bytes("text,label\n你好,a\n".encode("utf-16"))
    r = read_table(p)
    assert r.encoding == "utf-16"
    assert r.frame["text"].tolist() == ["你好"]


def test_latin1_falls_back_to_charset_normalizer(tmp_path):
    p = tmp_path / "l1.csv"
    p.write_bytes("text,label\nCafé crème très bon à Genève,positive\nSehr schön danke für alles,positive\n".encode("latin-1"))
    r = read_table(p)
    assert r.encoding not in ("utf-8", "gb18030")
    assert r.frame["text"].tolist()[0] == "Café crème très bon à Genève"


def test_user_encoding_failure_names_offset_and_line(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"text,label\nok,a\nbad \xff here,b\n")
    with pytest.raises(EncodingError) as e:
        read_table(p, encoding="utf-8")
    msg = str(e.value)
    assert "byte 0xff at byte offset 20 (line 3)" in msg
    assert e.value.where == f"{p}:line 3"
    assert "--encoding" in msg


def test_user_encoding_is_used_as_is(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(f"text,label\n{ZH},a\n".encode("gbk"))
    r = read_table(p, encoding="gbk")
    assert r.encoding == "gbk" and r.frame["text"].tolist() == [ZH]


def test_jsonl_line_numbers_and_values(tmp_path):
    p = tmp_path / "t.jsonl"
    lines = [json.dumps({"text": "a", "label": 1}), "", json.dumps({"text": "你好", "label": "x", "extra": [1, 2]}), json.dumps({"text": "b", "label": 2.0})]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = read_table(p)
    assert r.format == "jsonl" and r.delimiter is None
    assert r.frame["_row"].tolist() == [1, 3, 4]
    assert r.frame["label"].tolist() == ["1", "x", "2"]
    assert r.frame["extra"].tolist() == ["", "[1, 2]", ""]


def test_malformed_jsonl_names_file_line_and_start(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"text": "ok", "label": "a"}\n{"text": "broken, "label": "b"}\n', encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_table(p)
    assert e.value.where == f"{p}:line 2"
    assert "line 2 is not valid JSON" in str(e.value)
    assert '{"text": "broken' in str(e.value)


def test_json_list_of_objects(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps([{"text": "a", "label": "x"}, {"text": "b", "label": "y"}]), encoding="utf-8")
    r = read_table(p)
    assert r.frame["text"].tolist() == ["a", "b"] and r.frame["_row"].tolist() == [1, 2]


def test_parquet(tmp_path):
    p = tmp_path / "t.parquet"
    pd.DataFrame({"text": ["a", None, "c"], "label": [1, 2, 3], "score": [0.5, float("nan"), 2.0]}).to_parquet(p)
    r = read_table(p)
    assert (r.format, r.encoding, r.delimiter) == ("parquet", None, None)
    assert r.frame["text"].tolist() == ["a", "", "c"]
    assert r.frame["label"].tolist() == ["1", "2", "3"]
    assert r.frame["score"].tolist() == ["0.5", "", "2"]
    assert r.frame["_row"].tolist() == [1, 2, 3]


def test_excel_sheets_and_rows(tmp_path):
    p = tmp_path / "t.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"x": [1]}).to_excel(w, sheet_name="notes", index=False)
        pd.DataFrame({"text": ["第一", "second"], "label": [1, 2]}).to_excel(w, sheet_name="data", index=False)
    first = read_table(p)
    assert first.format == "xlsx" and first.frame["x"].tolist() == ["1"]
    r = read_table(p, sheet="data")
    assert r.frame["text"].tolist() == ["第一", "second"]
    assert r.frame["label"].tolist() == ["1", "2"]
    assert r.frame["_row"].tolist() == [2, 3]
    assert read_table(p, sheet=1).frame["text"].tolist() == ["第一", "second"]
    with pytest.raises(DataError) as e:
        read_table(p, sheet="Sheet9")
    assert "'notes'" in str(e.value) and "'data'" in str(e.value)


def test_missing_file_names_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as e:
        read_table("nope/data.csv")
    assert str(tmp_path / "nope" / "data.csv") in str(e.value)


def test_unknown_extension_lists_supported(tmp_path):
    p = tmp_path / "t.docx"
    p.write_text("x")
    with pytest.raises(DataError) as e:
        read_table(p)
    assert "'.docx'" in str(e.value)
    for ext in (".csv", ".tsv", ".jsonl", ".parquet", ".xlsx"):
        assert ext in str(e.value)


def test_excel_file_named_csv_is_explained(tmp_path):
    p = tmp_path / "t.xlsx"
    pd.DataFrame({"text": ["a"]}).to_excel(p, index=False)
    q = tmp_path / "t.csv"
    q.write_bytes(p.read_bytes())
    with pytest.raises(DataError, match="looks like an Excel"):
        read_table(q)


def test_ragged_csv_error_mentions_quoting(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("text,label\nhello, world,a\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_table(p)
    assert e.value.where == str(p)
    assert "quoted" in str(e.value)


# ---------------------------------------------------------------------------------------------------- rows that cannot be read


def mixed_file(path):
    """A UTF-8 CSV with one GBK line (row 4) and one Latin-1 line (row 6)."""
    lines = ["text,label\n".encode(), "café au lait,a\n".encode(), "plain,b\n".encode(), "外卖送得很快,c\n".encode("gbk"),
             "thé vert,d\n".encode(), "crème brûlée,e\n".encode("latin-1"), "last,f\n".encode()]
    path.write_bytes(b"".join(lines))
    return path


def test_mixed_encodings_reject_the_foreign_lines_and_keep_the_rest_intact(tmp_path):
    p = mixed_file(tmp_path / "mixed.csv")
    r = read_table(p, bad_rows="reject")
    assert r.encoding == "utf-8"
    assert r.frame["text"].tolist() == ["café au lait", "plain", "thé vert", "last"]  # no "cafÃ©"
    assert r.rejects["_row"].tolist() == [4, 6] and r.rejects["_file"].tolist() == [str(p)] * 2
    assert r.rejects["text"].tolist() == ["外卖送得很快", "crème brûlée"]  # decoded as each line seems to be
    assert r.rejects["_reason"].str.startswith("encoding: line").all()
    assert "reads as gb18030" in r.rejects["_reason"][0] and "reads as cp1252" in r.rejects["_reason"][1]
    assert len(r.frame) + len(r.rejects) == 6  # rows in = kept + rejected


def test_rows_that_cannot_be_read_raise_by_default_naming_the_first(tmp_path):
    p = mixed_file(tmp_path / "mixed.csv")
    with pytest.raises(DataError) as e:
        read_table(p)
    assert e.value.where == f"{p}:row 4"
    assert "line 4 is not valid utf-8" in e.value.message and "(and 1 more rows" in e.value.message
    assert "re-save the file in one encoding" in e.value.hint


def test_cr_only_line_endings(tmp_path):
    p = tmp_path / "mac.csv"
    p.write_bytes(b"text,label\rhello,a\rsecond,b\r")  # raised _csv.Error in the delimiter sniffing
    assert read_table(p).frame[["text", "label", "_row"]].values.tolist() == [["hello", "a", 2], ["second", "b", 3]]
    p.write_bytes(b'text,label\r"hello, world",a\rsecond,b\r')
    r = read_table(p)
    assert r.frame["text"].tolist() == ["hello, world", "second"] and r.frame["_row"].tolist() == [2, 3]


def test_bare_cr_inside_a_quoted_cell_stays_in_the_cell(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b'text,label\n"one\rtwo",a\nnext,b\n')
    r = read_table(p)
    assert r.frame["text"].tolist() == ["one\rtwo", "next"] and r.frame["_row"].tolist() == [2, 3]
    p.write_bytes(b"text,label\none\rtwo,a\n")  # unquoted, a bare CR ends the line, as an editor shows it
    assert read_table(p).frame[["text", "label", "_row"]].values.tolist() == [["one", "", 2], ["two", "a", 3]]


def test_explicit_latin1_on_a_binary_file_is_a_data_error(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(bytes(range(256)) * 50)
    with pytest.raises(DataError) as e:
        read_table(p, encoding="latin-1")
    assert e.value.where == str(p) and "binary" in e.value.message and e.value.hint


def test_one_broken_jsonl_line_is_rejected_with_its_line_and_reason(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"text": "a", "label": "x"}\n{"text": "broken, "label": "y"}\n[1, 2]\n\n{"text": "b", "label": "z"}\n',
                 encoding="utf-8")
    r = read_table(p, bad_rows="reject")
    assert r.frame["text"].tolist() == ["a", "b"] and r.frame["_row"].tolist() == [1, 5]
    assert r.rejects["_row"].tolist() == [2, 3]
    assert r.rejects["_reason"][0].startswith("bad_json: line 2 is not valid JSON")
    assert r.rejects["_reason"][1].startswith("not_object: line 3 holds a JSON list")
    assert r.rejects["_raw"][0] == '{"text": "broken, "label": "y"}'


def test_deeply_nested_json_line_is_rejected_not_a_recursion_error(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"text": "a", "label": "x"}\n{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    r = read_table(p, bad_rows="reject")
    assert r.rejects["_row"].tolist() == [2] and "too deeply" in r.rejects["_reason"][0]
    q = tmp_path / "t.json"
    q.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(DataError, match="too deeply"):
        read_table(q)


def test_a_few_rows_with_too_many_cells_are_rejected_most_fail_the_file(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("text,label\nfine,a\nhello, world,b\nalso fine,c\ntrailing empty cells,d,,\n", encoding="utf-8")
    r = read_table(p, bad_rows="reject")
    assert r.frame["text"].tolist() == ["fine", "also fine", "trailing empty cells"]
    assert r.rejects["_row"].tolist() == [3] and r.rejects["_raw"][0] == "hello, world,b"
    assert r.rejects["_reason"][0] == "too_many_fields: row 3 has 3 cells where the header has 2 (a cell holding comma must be quoted)"


def test_a_quote_never_closed(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('text,label\nok,a\n"never closed,b\nmore,c\n', encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_table(p, bad_rows="reject")
    assert e.value.where == f"{p}:line 3" and "never closed" in e.value.message and '""' in e.value.hint
    p.write_text('text,label\nok,a\n"never closed,b', encoding="utf-8")  # on the last line only: that row alone
    r = read_table(p, bad_rows="reject")
    assert r.frame["text"].tolist() == ["ok"] and r.rejects["_reason"][0].startswith("bad_quote: row 3")


def test_two_megabyte_cell_is_read_and_the_csv_limit_restored(tmp_path):
    import csv

    p = tmp_path / "t.csv"
    big = "x" * 2_000_000
    p.write_text(f'text,label\n"{big}",a\nshort,b\n', encoding="utf-8")
    before = csv.field_size_limit()
    assert read_table(p).frame["text"].str.len().tolist() == [2_000_000, 5]
    assert csv.field_size_limit() == before


def test_delimiter_option_names_and_one_character(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("text;label\na,b;c\n", encoding="utf-8")
    assert read_table(p, delimiter="semicolon").frame["label"].tolist() == ["c"]
    with pytest.raises(DataError) as e:
        read_table(p, delimiter=";;")
    assert "one character" in e.value.message and "semicolon" in e.value.hint


def test_a_folder_is_named_as_a_folder(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "train.csv").write_text("text,label\na,b\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_table(folder)
    assert "is a folder, not a file" in e.value.message and "unsupported" not in e.value.message
    assert str(folder / "train.csv") in e.value.hint


def test_empty_files_of_every_format(tmp_path):
    for name in ("t.csv", "t.jsonl", "t.json", "t.parquet", "t.xlsx"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(DataError, match="empty") as e:
            read_table(tmp_path / name)
        assert e.value.where == str(tmp_path / name) and e.value.hint
    (tmp_path / "blank.jsonl").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataError, match="no JSON lines"):
        read_table(tmp_path / "blank.jsonl")


def test_text_renamed_xlsx_and_old_xls_are_named(tmp_path):
    p = tmp_path / "t.xlsx"
    p.write_text("text,label\na,b\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_table(p)
    assert "not an Excel workbook" in e.value.message and ".csv" in e.value.hint
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(DataError, match="old Excel"):
        read_table(p)


def test_a_column_called_reason_keeps_its_cells_in_the_rejects(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("text,reason\nmy café card,card\n".encode() + "外卖送得很快,delivery\n".encode("gbk"))
    r = read_table(p, bad_rows="reject")
    assert r.rejects[["text", "reason", "_row"]].values.tolist() == [["外卖送得很快", "delivery", 3]]
    assert r.rejects["_reason"][0].startswith("encoding: line 3")
