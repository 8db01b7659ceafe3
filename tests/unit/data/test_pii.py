"""Personal data: each detector finds its kind and leaves look-alikes alone; the redactor, the data check, training,
the Predictor and `data redact` all replace it the same way, and no value leaks into a rejects file or a report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from domainfit.config.schema import DataConfig, TrainConfig
from domainfit.data import Redactor, check_data, make_cleaner, prepare_data
from domainfit.data.pii import PRIORITY, find_pii, id_card_check, luhn_ok, mask, resolve_kinds
from domainfit.data.redact import redact_file
from domainfit.errors import ColumnError, DataError, RegistryError

ID_17 = "11010519491231002"
ID_CARD = ID_17 + id_card_check(ID_17)  # 11010519491231002X, the GB 11643 example
VISA = "4111 1111 1111 1111"
UNIONPAY = "6222021234567890128"  # 62..., 19 digits

redact = Redactor(True)


@pytest.mark.parametrize("text, expected", [
    ("请联系王先生，电话13812345678，邮箱 wang.li@example.com.cn", "请联系[NAME]先生，电话[PHONE]，邮箱 [EMAIL]"),
    (f"身份证号{ID_CARD}，卡号{UNIONPAY}", "身份证号[ID_CARD]，卡号[BANK_CARD]"),
    (f"card {VISA} was declined", "card [BANK_CARD] was declined"),
    ("My name is Anna Smith, call +44 20 7946 0958 or (555) 123-4567", "My name is [NAME], call [PHONE] or [PHONE]"),
    ("+86 138-1234-5678 或 0086 13912345678", "[PHONE] 或 [PHONE]"),
    ("座机010-62345678转123", "座机[PHONE]转123"),
    ("我叫欧阳娜娜，联系人：李建国", "我叫[NAME]，联系人：[NAME]"),
    ("请找王经理", "请找[NAME]经理"),
    ("下着雨，孙师傅很认真", "下着雨，[NAME]师傅很认真"),
    ("Dear Mr. Brown, I am Very happy", "Dear Mr. [NAME], I am Very happy"),
    ("an order from Sir Robert McAlpine today", "an order from Sir [NAME] today"),
    ("电话１３８１２３４５６７８，邮箱ａｂ＠ｃｄ．ｃｏｍ", "电话[PHONE]，邮箱[EMAIL]"),  # full-width, offsets kept
])
def test_each_kind_is_replaced_by_its_placeholder(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "订单号2023112212345678，金额1234.56元，日期2023-10-12",  # 16 digits failing Luhn, not UnionPay
    "12345678901 is not a mobile number",  # 12... is no Chinese mobile prefix
    "110105194913310021",  # 18 digits with an impossible birth date
    ID_17 + "1",  # a wrong check character
    "高级经理说明天开会",  # 高 is a surname, but 高级 is no name
    # from real reviews (Waimai 10k), where the first rules saw names: 谢/辛/和/于/全/顾 are surnames too
    "送得很快，谢谢师傅！辛苦师傅了", "对于老板私自换菜的行为不满", "和客服说后立马补送了", "我是顾客，就这样对我？",
    "两个汉堡的名字全不对", "可以改名叫全宇宙最慢卷饼了",
    "transfer 1000000 to savings on 2024-01-31 at 10:30",
    "model v2.13.0, ticket #4521, room 1203",
])
def test_look_alikes_are_left_alone(text):
    assert redact(text) == text and find_pii(text) == []


def test_checksums():
    assert id_card_check(ID_17) == "X"
    assert luhn_ok(VISA.replace(" ", "")) and not luhn_ok("4111111111111112")


def test_overlaps_go_to_the_stronger_kind():
    """An 18-digit ID card is also 18 digits a bank-card pattern could take; the ID card wins."""
    (only,) = find_pii(f"ID {ID_CARD}")
    assert only.kind == "id_card" and (only.start, only.end) == (3, 21)


def test_kinds_are_chosen_and_checked():
    assert resolve_kinds(True) == PRIORITY and resolve_kinds(False) == () and resolve_kinds("none") == ()
    assert resolve_kinds(["name", "email"]) == ("email", "name")  # priority order
    assert Redactor(["email"])("mail a@b.co or 13812345678") == "mail [EMAIL] or 13812345678"
    assert not Redactor(False) and Redactor(False)("13812345678") == "13812345678"
    with pytest.raises(RegistryError, match="Did you mean 'phone'"):
        Redactor(["phnoe"])


def test_mask_shows_no_value():
    assert mask("13812345678") == "138*****678" and mask("abc") == "***"


def test_cleaner_normalises_then_redacts():
    clean = make_cleaner(True, ["phone"])
    assert clean("  电话：１３８ １２３４ ５６７８ ") == "电话:[PHONE]" and clean.redacts
    assert not getattr(make_cleaner(True, False), "redacts", False)


def test_config_names_the_key_of_an_unknown_kind(tmp_path):
    with pytest.raises(Exception, match=r"(?s)redact.*Did you mean 'email'"):
        DataConfig(redact=["emial"])
    assert DataConfig(redact=True).redact is True


def test_ner_refuses_redaction_before_any_work(tmp_path):
    with pytest.raises(Exception, match="data.redact: not available for task 'ner'"):
        TrainConfig.model_validate({"task": "ner", "data": {"train": str(tmp_path / "t.conll"), "redact": True}})


# ---------------------------------------------------------------------------------------------------- data layer


def _table(tmp_path):
    rows = [(f"please block card {VISA} now, ticket {i}", "cards") for i in range(4)]
    rows += [(f"call me on 1381234567{i} about my loan", "loans") for i in range(4)]
    rows += [(f"my email is user{i}@bank.cn, billing question", "billing") for i in range(4)]
    rows += [("", "billing"), ("no personal data here at all", "unknown-label-once")]  # two rejects
    path = tmp_path / "tickets.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return path


def test_check_warns_with_counts_and_rows_and_never_the_values(tmp_path):
    path = _table(tmp_path)
    report = check_data(DataConfig(train=path, min_per_class=1))
    (warning,) = [i for i in report.issues if i.code == "personal_data"]
    assert warning.severity == "warning" and "email 4, bank_card 4, phone 4" in warning.message
    assert len(warning.where) == 12 and "data.redact" in warning.hint
    dumped = json.dumps(report.to_dict(), ensure_ascii=False)
    assert "13812345670" not in dumped and "4111" not in dumped


def test_prepare_redacts_the_splits_and_the_rejects(tmp_path):
    path = _table(tmp_path)
    rows = pd.read_csv(path, keep_default_na=False)
    rows.loc[len(rows)] = ["call 13900001111 please", ""]  # rejected (no label), holding a phone number
    rows.to_csv(path, index=False)
    prepared = prepare_data(DataConfig(train=path, redact=True, min_per_class=1, test_size=0.25, val_size=0.25))
    texts = pd.concat([prepared.train, prepared.val, prepared.test])["text"].tolist()
    assert all("4111" not in t and "@" not in t and "1381234567" not in t for t in texts)
    assert {"please block card [BANK_CARD] now, ticket 1", "call me on [PHONE] about my loan"} <= set(texts)
    assert "call [PHONE] please" in prepared.rejects["text"].tolist()
    (info,) = [i for i in prepared.report.issues if i.code.startswith("personal_data")]
    assert info.code == "personal_data_redacted" and info.severity == "info"


def test_redact_file_keeps_every_row_and_column(tmp_path):
    source = tmp_path / "calls.jsonl"
    records = [{"id": 1, "text": "我叫张伟，电话13812345678", "note": "vip"},
               {"id": 2, "text": "nothing to hide", "note": "mail me: a.b@c.com"},
               {"id": 3, "text": f"卡号 {UNIONPAY}", "note": ""}]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    summary = redact_file(source, tmp_path / "calls.csv", columns=["text", "note"])
    out = pd.read_csv(tmp_path / "calls.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert out.columns.tolist() == ["id", "text", "note"] and out["id"].tolist() == ["1", "2", "3"]
    assert out["text"].tolist() == ["我叫[NAME]，电话[PHONE]", "nothing to hide", "卡号 [BANK_CARD]"]
    assert out["note"].tolist() == ["vip", "mail me: [EMAIL]", ""]
    assert summary.counts == {"text": {"bank_card": 1, "name": 1, "phone": 1}, "note": {"email": 1}}
    assert summary.rows_changed == 3 and summary.examples["phone"] == [f"{source}:row 1"]

    default = redact_file(source)  # the text column, inferred; written beside the input in its format
    assert default.columns == ["text"] and default.output.endswith("calls.redacted.jsonl")
    with pytest.raises(ColumnError, match="no column 'body'"):
        redact_file(source, tmp_path / "x.csv", columns=["body"])
    with pytest.raises(DataError, match="cannot write a table as '.txt'"):
        redact_file(source, tmp_path / "x.txt")


def test_a_trained_bundle_redacts_what_it_predicts(tiny_backbone, tmp_path):
    """Training with data.redact saves placeholders in data/, and the Predictor (so serving) applies the same cleaner."""
    import domainfit
    from tests.conftest import make_rows, write_csv

    rows = [(f"{text} 13812345678" if i % 3 == 0 else text, label) for i, (text, label) in enumerate(make_rows(20, seed=3))]
    data = write_csv(tmp_path / "train.csv", rows)
    model = domainfit.train({"data": {"train": str(data), "redact": ["phone"]}, "output": str(tmp_path / "b"),
                             "model": {"backbone": str(tiny_backbone), "max_length": 32},
                             "training": {"epochs": 1, "batch_size": 8}, "baselines": []})
    saved = pd.read_csv(tmp_path / "b" / "data" / "train.csv", dtype=str, keep_default_na=False)
    assert saved["text"].str.contains(r"\[PHONE\]").any() and not saved["text"].str.contains("13812345678").any()
    assert model._predictor.prepare(["card lost 13812345678"]) == ["card lost [PHONE]"]
    assert json.loads((tmp_path / "b" / "domainfit.json").read_text())["config"]["data"]["redact"] == ["phone"]
