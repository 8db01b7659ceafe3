"""prepare_data / check_data: every check with its rows and reasons, the counts invariant, the split, the rejects file."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from domainfit.config.schema import DataConfig
from domainfit.data import DataReport, PreparedData, check_data, prepare_data, write_rejects
from domainfit.errors import EmptyDataError


def write_csv(path, rows, columns=("text", "label")):
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def clean_rows(labels=("billing", "cards", "loans"), per=10):
    return [(f"{lab} question number {i} about my account", lab) for lab in labels for i in range(per)]


def loc(path, row):
    return f"{path}:row {row}"


def reasons(prepared: PreparedData) -> dict[int, str]:
    return dict(zip(prepared.rejects["_row"], prepared.rejects["reason"]))


def issue(report: DataReport, code: str, severity: str | None = None):
    found = [i for i in report.issues if i.code == code and (severity is None or i.severity == severity)]
    assert len(found) == 1, f"expected one {code!r} issue, got {[i.to_dict() for i in report.issues]}"
    return found[0]


def assert_invariant(prepared: PreparedData):
    c = prepared.report.counts
    assert c["rows_in"] == c["rows_kept"] + c["rows_rejected"]
    assert c["rows_kept"] == c["train"] + c["val"] + c["test"] == len(prepared.train) + len(prepared.val) + len(prepared.test)
    assert c["rows_rejected"] == len(prepared.rejects)
    for f in prepared.report.files:
        assert f["rows"] == f["rows_kept"] + f["rows_rejected"]
        mine = [prepared.train, prepared.val, prepared.test]
        kept = sum(int((d["_file"] == f["path"]).sum()) for d in mine)
        assert kept == f["rows_kept"]
        assert int((prepared.rejects["_file"] == f["path"]).sum()) == f["rows_rejected"]


def test_clean_data_shapes_and_contract(tmp_path):
    p = write_csv(tmp_path / "t.csv", clean_rows())
    out = prepare_data(DataConfig(train=p))
    assert list(out.train.columns) == ["text", "label", "_file", "_row"]
    assert list(out.rejects.columns) == ["_file", "_row", "text", "label", "reason"]
    assert out.labels == ["billing", "cards", "loans"]
    assert out.report.columns == {"text": "text", "label": "label"}
    assert out.report.files[0] | {} == {**out.report.files[0], "path": str(p), "format": "csv", "encoding": "utf-8", "delimiter": ",", "rows": 30}
    c = out.report.counts
    assert (c["rows_in"], c["rows_kept"], c["rows_rejected"], c["train"], c["val"], c["test"]) == (30, 30, 0, 21, 3, 6)
    assert c["per_label"]["test"] == {"billing": 2, "cards": 2, "loans": 2}
    assert out.report.errors == [] and out.report.warnings == []
    json.dumps(out.report.to_dict())  # JSON-serialisable
    assert_invariant(out)


def test_empty_missing_duplicate_conflict_rare_all_at_once(tmp_path):
    rows = clean_rows() + [
        ("", "billing"),  # row 32
        ("   ", "cards"),  # 33
        ("\u3000\u200b", "loans"),  # 34: full-width space + zero-width space only
        ("where is my statement", ""),  # 35
        ("Ｗｈｅｒｅ  is my CARD", "cards"),  # 36
        ("Where is my CARD", "cards"),  # 37: duplicate of 36 after normalisation
        ("Where is my CARD ", "cards"),  # 38
        ("close my account", "loans"),  # 39
        ("close my account", "billing"),  # 40
        ("close my account", "loans"),  # 41
        ("one lonely example", "fraud"),  # 42
    ]
    p = write_csv(tmp_path / "t.csv", rows)
    out = prepare_data(DataConfig(train=p))
    assert reasons(out) == {
        32: "empty_text",
        33: "empty_text",
        34: "empty_text",
        35: "missing_label",
        37: f"duplicate of {loc(p, 36)}",
        38: f"duplicate of {loc(p, 36)}",
        39: "conflicting_labels: billing, loans",
        40: "conflicting_labels: billing, loans",
        41: "conflicting_labels: billing, loans",
        42: "rare_class: only 1 row; need min_per_class=3",
    }
    r = out.report
    empty = issue(r, "empty_text")
    assert (empty.severity, empty.message) == ("error", "3 rows have an empty or whitespace-only text; rejected")
    assert empty.where == [loc(p, 32), loc(p, 33), loc(p, 34)]
    assert issue(r, "missing_label").where == [loc(p, 35)]
    assert issue(r, "duplicate").where == [loc(p, 37), loc(p, 38)]
    conflict = issue(r, "conflicting_labels")
    assert conflict.message.startswith("1 text appears with different labels (3 rows)")
    assert "'close my account' is 'loans' at" in conflict.hint
    rare = issue(r, "rare_class")
    assert "'fraud' (1)" in rare.message and rare.where == [loc(p, 42)]
    # the original (un-normalised) text is kept in rejects; the kept copy is normalised
    assert out.rejects.loc[out.rejects["_row"] == 34, "text"].item() == "\u3000\u200b"
    kept = pd.concat([out.train, out.val, out.test])
    assert kept.loc[kept["_row"] == 36, "text"].item() == "Where is my CARD"
    assert out.labels == ["billing", "cards", "loans"]
    assert r.counts["rejected_by_reason"] == {"conflicting_labels": 3, "duplicate": 2, "empty_text": 3, "missing_label": 1, "rare_class": 1}
    assert_invariant(out)


def test_rare_class_is_only_a_warning_with_own_val_and_test(tmp_path):
    train = write_csv(tmp_path / "train.csv", clean_rows() + [("one lonely example", "fraud")])
    val = write_csv(tmp_path / "val.csv", [(f"val {t}", lab) for t, lab in clean_rows(per=2)])
    test = write_csv(tmp_path / "test.csv", [(f"new {t}", lab) for t, lab in clean_rows(per=2)] + [("another fraud case", "fraud")])
    out = prepare_data(DataConfig(train=train, val=val, test=test))
    assert out.rejects.empty
    rare = issue(out.report, "rare_class")
    assert rare.severity == "warning" and rare.where == [loc(train, 32)]
    assert "fraud" in set(out.train["label"]) and "fraud" in set(out.test["label"])
    assert len(out.train) == 31 and len(out.val) == 6 and len(out.test) == 7
    assert_invariant(out)


def test_leakage_between_train_and_test_is_dropped(tmp_path):
    train = write_csv(tmp_path / "train.csv", clean_rows())
    test_rows = [("brand new billing text", "billing"), ("cards question number 3 about my account", "cards"), ("Loans question number 5 about my account", "loans"), ("loans  question number 7 about my account", "loans")]
    test = write_csv(tmp_path / "test.csv", test_rows)
    out = prepare_data(DataConfig(train=train, test=test))
    # train rows: cards 3 is row 2 + 10 + 3 = 15; loans 7 is row 2 + 20 + 7 = 29 (case differs for loans 5: not a copy)
    assert reasons(out) == {15: f"leakage: also in {loc(test, 3)}", 29: f"leakage: also in {loc(test, 5)}"}
    leak = issue(out.report, "leakage")
    assert leak.severity == "error" and leak.where == [loc(train, 15), loc(train, 29)]
    assert len(out.test) == 4 and out.report.counts["test"] == 4
    assert out.report.counts["val"] == len(out.val) == 3  # carved from train: one per class
    assert_invariant(out)


def test_leakage_kept_with_a_warning_when_not_dropping(tmp_path):
    train = write_csv(tmp_path / "train.csv", clean_rows())
    test = write_csv(tmp_path / "test.csv", [("cards question number 3 about my account", "cards"), ("other", "billing")])
    out = prepare_data(DataConfig(train=train, test=test, drop_leakage=False))
    leak = issue(out.report, "leakage")
    assert leak.severity == "warning" and leak.where == [loc(train, 15)]
    assert out.rejects.empty
    assert_invariant(out)


def test_unseen_test_labels_are_rejected(tmp_path):
    train = write_csv(tmp_path / "train.csv", clean_rows())
    val = write_csv(tmp_path / "val.csv", [("v1", "billing"), ("v2", "cards"), ("v3", "loans")])
    test = write_csv(tmp_path / "test.csv", [("t1", "billing"), ("t2", "mortgage"), ("t3", "cards"), ("t4", "mortgage"), ("t5", "loans")])
    out = prepare_data(DataConfig(train=train, val=val, test=test))
    assert reasons(out) == {3: "unseen_label: 'mortgage' has no training rows", 5: "unseen_label: 'mortgage' has no training rows"}
    unseen = issue(out.report, "unseen_label")
    assert unseen.severity == "error" and unseen.where == [loc(test, 3), loc(test, 5)]
    assert "'mortgage' (2)" in unseen.message
    assert out.test["text"].tolist() == ["t1", "t3", "t5"]
    assert_invariant(out)


def test_split_is_deterministic_stratified_and_traceable(tmp_path):
    p = write_csv(tmp_path / "t.csv", clean_rows(per=20))
    a = prepare_data(DataConfig(train=p, seed=7))
    b = prepare_data(DataConfig(train=p, seed=7))
    c = prepare_data(DataConfig(train=p, seed=8))
    for name in ("train", "val", "test"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.test["_row"].tolist() != c.test["_row"].tolist()
    assert (len(a.train), len(a.val), len(a.test)) == (42, 6, 12)
    for name, per in (("train", 14), ("val", 2), ("test", 4)):
        assert a.report.counts["per_label"][name] == {"billing": per, "cards": per, "loans": per}
    rows = pd.concat([a.train, a.val, a.test])["_row"]
    assert sorted(rows) == list(range(2, 62))  # every row once, traceable
    original = pd.read_csv(p)
    for _, r in a.test.iterrows():
        assert original.loc[r["_row"] - 2, "text"] == r["text"]


def test_small_classes_still_reach_every_split(tmp_path):
    p = write_csv(tmp_path / "t.csv", clean_rows(labels=[f"c{i}" for i in range(10)], per=3))
    out = prepare_data(DataConfig(train=p))
    for name in ("train", "val", "test"):
        assert set(getattr(out, name)["label"]) == {f"c{i}" for i in range(10)}


def test_nothing_usable_raises_with_counts(tmp_path):
    p = write_csv(tmp_path / "t.csv", [("", "a"), ("  ", "b"), ("x", "")])
    with pytest.raises(EmptyDataError) as e:
        prepare_data(DataConfig(train=p))
    assert "all 3 rows of the train file were rejected (2 empty_text, 1 missing_label)" in str(e.value)
    assert e.value.report.counts["rows_rejected"] == 3


def test_a_single_class_raises(tmp_path):
    p = write_csv(tmp_path / "t.csv", [(f"text {i}", "only") for i in range(5)])
    with pytest.raises(EmptyDataError, match=r"only 1 label remains after the checks: 'only' \(5 rows\)"):
        prepare_data(DataConfig(train=p))


def test_rejects_file_round_trip(tmp_path):
    p = write_csv(tmp_path / "t.csv", clean_rows() + [("重复的中文评论", "cards"), ("重复的中文评论", "cards"), ("", "loans")])
    out = prepare_data(DataConfig(train=p))
    target = tmp_path / "out" / "rejects.csv"
    write_rejects(out.rejects, target)
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(target, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(back.columns) == ["_file", "_row", "text", "label", "reason"]
    assert back.values.tolist() == [[str(p), "33", "重复的中文评论", "cards", f"duplicate of {loc(p, 32)}"], [str(p), "34", "", "loans", "empty_text"]]
    empty = tmp_path / "none.csv"
    write_rejects(out.rejects.iloc[:0], empty)
    assert pd.read_csv(empty, encoding="utf-8-sig").columns.tolist() == ["_file", "_row", "text", "label", "reason"]


def test_check_data_reports_gbk_encoding_and_inferred_columns(tmp_path):
    p = tmp_path / "gbk.csv"
    rows = [(f"第{i}条评论，送餐很快", "好评") for i in range(5)] + [(f"第{i}条评论，太慢了", "差评") for i in range(5)]
    pd.DataFrame(rows, columns=["评论", "标签"]).to_csv(p, index=False, encoding="gbk")
    report = check_data(DataConfig(train=p))
    enc = issue(report, "encoding")
    assert (enc.severity, enc.message) == ("info", f"read {p} as gb18030 (GBK-compatible)")
    assert report.files[0]["encoding"] == "gb18030"
    assert report.columns == {"text": "评论", "label": "标签"}
    assert issue(report, "columns").severity == "info"
    assert report.counts["rows_in"] == 10 and report.labels == ["好评", "差评"]


def test_normalize_off_keeps_full_width(tmp_path):
    p = write_csv(tmp_path / "t.csv", [(f"ＡＢＣ  {i} ", "a" if i % 2 else "b") for i in range(10)])
    on = prepare_data(DataConfig(train=p))
    off = prepare_data(DataConfig(train=p, normalize=False))
    assert pd.concat([on.train, on.val, on.test])["text"].str.startswith("ABC 0").sum() == 1
    assert pd.concat([off.train, off.val, off.test])["text"].str.startswith("ＡＢＣ  0").sum() == 1


def test_jsonl_rows_are_line_numbers_in_locations(tmp_path):
    p = tmp_path / "t.jsonl"
    lines = [json.dumps({"text": t, "label": lab}) for t, lab in clean_rows()] + [json.dumps({"text": " ", "label": "cards"})]
    p.write_text("\n".join(lines), encoding="utf-8")
    out = prepare_data(DataConfig(train=p))
    assert issue(out.report, "empty_text").where == [f"{p}:line 31"]


def test_lines_in_another_encoding_reach_rejects_csv_and_the_counts(tmp_path):
    """Finding 5: a UTF-8 file with one GBK and one Latin-1 line was read whole as another encoding, garbled, 0 rows
    rejected. Now the two rows are rejected with their reason, the rest is read as UTF-8, nothing is lost."""
    p = tmp_path / "mixed.csv"
    body = [f"{t},{lab}\n".encode() for t, lab in clean_rows()]
    body[3] = "café question about my account,billing\n".encode()
    body.insert(10, "外卖送得很快,cards\n".encode("gbk"))  # row 12
    body.insert(20, "crème brûlée account question,loans\n".encode("latin-1"))  # row 22
    p.write_bytes(b"text,label\n" + b"".join(body))
    out = prepare_data(DataConfig(train=p))
    assert_invariant(out)
    assert out.report.counts["rows_in"] == 32 and out.report.counts["rows_rejected"] == 2
    assert reasons(out)[12].startswith("encoding: line 12 is not valid utf-8") and "外卖送得很快" in reasons(out)[12]
    assert "reads as cp1252" in reasons(out)[22]
    assert out.rejects.set_index("_row")["text"].to_dict() == {12: "外卖送得很快", 22: "crème brûlée account question"}
    kept = pd.concat([out.train, out.val, out.test])["text"].tolist()
    assert "café question about my account" in kept and not any("Ã" in t or "\ufffd" in t for t in kept)
    enc = issue(out.report, "encoding", "error")
    assert enc.where == [loc(p, 12), loc(p, 22)] and "read as utf-8" in enc.message and enc.hint
    assert out.report.counts["rejected_by_reason"] == {"encoding": 2}
    path = tmp_path / "rejects.csv"
    write_rejects(out.rejects, path)
    assert pd.read_csv(path, encoding="utf-8-sig", dtype=str)["_row"].tolist() == ["12", "22"]


def test_a_broken_jsonl_line_is_one_reject_not_a_failed_file(tmp_path):
    """Finding 6: one broken JSON line rejected the whole file."""
    p = tmp_path / "t.jsonl"
    lines = [json.dumps({"text": t, "label": lab}) for t, lab in clean_rows()]
    lines.insert(4, '{"text": "broken, "label": "cards"}')
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = prepare_data(DataConfig(train=p))
    assert_invariant(out)
    assert out.report.counts["rows_in"] == 31
    assert reasons(out)[5].startswith("bad_json: line 5 is not valid JSON")
    assert out.rejects["text"].tolist() == ['{"text": "broken, "label": "cards"}']  # the line as it stands
    assert issue(out.report, "bad_json").where == [f"{p}:line 5"]


def test_unreadable_rows_of_a_test_file_are_counted_against_it(tmp_path):
    train = write_csv(tmp_path / "train.csv", clean_rows())
    test = tmp_path / "test.csv"
    test.write_text("text,label\nbilling question number 99,billing\nhello, world,cards\ncards question number 99,cards\n",
                    encoding="utf-8")
    out = prepare_data(DataConfig(train=train, test=test))
    assert_invariant(out)
    entry = next(f for f in out.report.files if f["role"] == "test")
    assert (entry["rows"], entry["rows_kept"], entry["rows_rejected"]) == (3, 2, 1)
    assert out.rejects[["_file", "_row"]].values.tolist() == [[str(test), 3]]
    assert out.rejects["reason"][0].startswith("too_many_fields: row 3 has 3 cells")


def test_every_row_unreadable_is_nothing_usable(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"text,label\n" + "".join(f"外卖{i},a\n" for i in range(3)).encode("gbk") + "café,b\n".encode() * 5)
    with pytest.raises(EmptyDataError) as e:
        prepare_data(DataConfig(train=p))
    assert "rejected" in str(e.value)
