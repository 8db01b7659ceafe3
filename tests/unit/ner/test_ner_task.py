"""The `ner` task end to end on tiny models: entity metrics (strict), the dictionary baseline, the task's head, loss,
labels and schema, data preparation (rejects with file:line, splits, leakage), training through the shared loop
(English and Chinese character offsets through the model, BIOES, resume), evaluation and its report."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

import domainfit
from domainfit.config import DataConfig, load_config
from domainfit.errors import ConfigError, EmptyDataError
from domainfit.tasks.ner import read_ner
from domainfit.tasks.ner.data import prepare_ner
from domainfit.tasks.ner.metrics import entity_metrics, predicted_tags
from domainfit.registry import baselines
from domainfit.tasks import make_task
from tests.conftest import make_ner_sentences, write_conll


# ---------------------------------------------------------------------------------------------------- metrics


def test_entity_metrics_are_strict_with_type_confusion_and_worst_sentences():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "O"], ["O", "B-LOC", "I-LOC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"],  # PER right; LOC typed ORG
            ["B-ORG", "I-ORG", "O"],  # wrong boundary: missed and spurious
            ["O", "B-LOC", "I-LOC"]]  # right
    m = entity_metrics(gold, pred)
    assert (m["entities"], m["predicted_entities"]) == (4, 4)
    assert m["precision"] == pytest.approx(2 / 4) and m["recall"] == pytest.approx(2 / 4) and m["f1"] == pytest.approx(2 / 4)
    per = {r["label"]: r for r in m["per_type"]}
    assert per["LOC"] == {"label": "LOC", "precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert per["ORG"]["support"] == 1 and per["ORG"]["f1"] == 0.0 and per["PER"]["f1"] == 1.0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    conf = m["entity_confusion"]
    assert conf["labels"] == ["LOC", "ORG", "PER", "O"]
    cell = {(t, p): conf["matrix"][i][j] for i, t in enumerate(conf["labels"]) for j, p in enumerate(conf["labels"])}
    assert cell[("LOC", "ORG")] == 1 and cell[("LOC", "LOC")] == 1 and cell[("ORG", "O")] == 1 and cell[("O", "ORG")] == 1
    assert "entity_errors" not in m


def test_worst_sentences_name_their_entities_and_line(tmp_path):
    path = write_conll(tmp_path / "a.conll", [[("Tim", "B-PER"), ("Cook", "I-PER"), ("left", "O")], [("Ann", "B-PER"), ("stayed", "O")]])
    sentences = read_ner(path).sentences
    m = entity_metrics([s.tags for s in sentences], [["B-PER", "O", "O"], ["B-PER", "O"]], sentences=sentences)
    (row,) = m["entity_errors"]
    assert row["true"] == [{"text": "Tim Cook", "label": "PER"}] and row["pred"] == [{"text": "Tim", "label": "PER"}]
    assert (row["missed"], row["spurious"], row["where"]) == (1, 1, f"{tmp_path / 'a.conll'}:line 1")


def test_predicted_tags_decode_like_the_served_entities():
    labels = ["O", "B-PER", "I-PER"]
    scores = np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.0, 0.0, 0.0], [0.2, 0.1, 0.7]])  # I- after O; a dropped word
    assert predicted_tags(scores, labels) == ["B-PER", "O", "O", "B-PER"]


def test_dictionary_baseline_keeps_entities_and_drops_common_words():
    words = [["Apple", "opened", "in", "New", "York"], ["may", "I", "visit", "New", "York"], ["in", "May", "she", "left"],
             ["may", "be"], ["Apple", "pie"]]
    tags = [["B-ORG", "O", "O", "B-LOC", "I-LOC"], ["O", "O", "O", "B-LOC", "I-LOC"], ["O", "B-PER", "O", "O"], ["O", "O"],
            ["B-ORG", "O"]]
    out = baselines.get("dictionary")().fit_predict(words, tags, [["apple", "in", "new", "york", "may", "new"]], [])
    # "may" is an entity once in three occurrences: dropped; "new york" matched longest first, case-insensitive
    assert out == [["B-ORG", "O", "B-LOC", "I-LOC", "O", "O"]]


# ---------------------------------------------------------------------------------------------------- the task


def test_labels_training_tags_loss_and_schema():
    bioes = make_task("ner", {"scheme": "BIOES"})
    assert bioes.label_set(["PER", "LOC", "PER"]) == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-PER", "I-PER", "E-PER", "S-PER"]
    assert bioes.training_tags(["B-PER", "I-PER", "O", "B-LOC"]) == ["B-PER", "E-PER", "O", "S-LOC"]
    bio = make_task("ner")
    assert bio.label_set(["PER"]) == ["O", "B-PER", "I-PER"] and bio.stride(128) == 32
    logits = torch.randn(2, 3, 3)
    targets = torch.tensor([[-100, 1, 2, -100, -100], [-100, 0, -100, -100, -100]])  # padded wider than the batch
    expected = torch.nn.functional.cross_entropy(torch.stack([logits[0, 1], logits[0, 2], logits[1, 1]]), torch.tensor([1, 2, 0]))
    assert bio.loss(logits, targets).item() == pytest.approx(expected.item(), rel=1e-6)
    schema = bio.prediction_model(["O", "B-LOC", "I-LOC", "B-PER", "I-PER"])
    good = {"entities": [{"start": 0, "end": 3, "text": "Tim", "label": "PER", "score": 0.9}]}
    assert schema.model_validate(good).model_dump() == good
    with pytest.raises(ValidationError):
        schema.model_validate({"entities": [{**good["entities"][0], "label": "ORG"}]})
    assert bio.output_columns(good) == good


def test_config_infers_ner_from_conll_and_checks_the_stride_before_work(tiny_backbone, tmp_path):
    assert load_config({"data": {"train": "x.conll"}}).task == "ner"
    assert load_config({"data": {"train": "x.csv"}}).task == "classification"
    with pytest.raises(ConfigError, match="does not support task 'ner'"):
        load_config({"data": {"train": "x.conll"}, "method": "head"})
    with pytest.raises(ConfigError, match="task_options.stride"):
        domainfit.train({"data": {"train": str(tmp_path / "not-read.conll")}, "task_options": {"stride": 30},
                         "model": {"backbone": str(tiny_backbone), "max_length": 32}, "output": str(tmp_path / "b")})
    assert not (tmp_path / "b").exists()


# ---------------------------------------------------------------------------------------------------- data


def test_sentences_with_errors_are_left_out_with_file_and_line(tmp_path):
    sentences = make_ner_sentences(30, seed=1)
    text = "\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences)
    text += "\n\nxcard\tI-CARD\nxlost\tI-CARD\n\nbroken\n\nloan\tB-LOAN\nrate\tO\n"
    path = tmp_path / "train.conll"
    path.write_text(text, encoding="utf-8")
    lines = text.split("\n")
    bad_i, broken = lines.index("xcard\tI-CARD") + 1, lines.index("broken") + 1
    data = prepare_ner(DataConfig(train=path, seed=3), repair=False)
    by_kind = {r["kind"]: r for r in data.rejects}
    assert by_kind["i_without_b"]["_line"] == bad_i and "sentence left out" in by_kind["i_without_b"]["reason"]
    assert by_kind["i_without_b"]["text"] == "xcard xlost"
    assert by_kind["missing_tag"]["_line"] == broken and by_kind["missing_tag"]["text"] == ""
    counts = data.report.counts
    assert counts["rows_in"] == 32 and counts["rows_rejected"] == 1 and counts["lines_skipped"] == 1
    assert counts["train"] + counts["val"] + counts["test"] == 31 and min(counts["val"], counts["test"]) > 0
    issue = next(i for i in data.report.issues if i.code == "i_without_b")
    assert issue.severity == "error" and issue.where == [f"{path}:line {bad_i}"] and "repair_tags" in issue.hint
    repaired = prepare_ner(DataConfig(train=path, seed=3), repair=True)
    assert [r["kind"] for r in repaired.rejects] == ["missing_tag"]  # the I- is read as B- (a warning)
    assert repaired.report.counts["rows_rejected"] == 0


def test_user_splits_leakage_unseen_types_and_nothing_to_learn(tmp_path):
    train = make_ner_sentences(20, seed=2)
    test = train[:2] + [[("zz", "B-OTHER")]]
    cfg = DataConfig(train=write_conll(tmp_path / "train.conll", train), test=write_conll(tmp_path / "test.conll", test))
    data = prepare_ner(cfg, repair=True)
    codes = {i.code: i for i in data.report.issues}
    assert "leakage" in codes and "OTHER" in codes["unseen_entity_type"].message
    assert len(data.test) == 3 and len(data.train) + len(data.val) == 18
    assert data.types == ["CARD", "LOAN", "TRANSFER"]
    with pytest.raises(EmptyDataError, match="no training sentence with an entity") as exc:
        prepare_ner(DataConfig(train=write_conll(tmp_path / "o.conll", [[("my", "O")], [("card", "O")]])), repair=True)
    assert exc.value.report.counts["rows_in"] == 2


# ---------------------------------------------------------------------------------------------------- training and prediction


WORDS = {"PER": ["tim", "ann", "张三", "李四"], "LOC": ["paris", "london", "北京", "上海"]}
FILLER = ["lives", "in", "met", "and", "the", "去", "了", "在", "和"]


@pytest.fixture(scope="module")
def zh_en_backbone(tmp_path_factory):
    """A tiny BERT whose vocabulary holds the English words and each Chinese character of the tests."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("zh-en-bert")
    chars = sorted({c for ws in WORDS.values() for w in ws for c in w if ord(c) > 127} | {c for w in FILLER for c in w if ord(c) > 127})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *[w for ws in WORDS.values() for w in ws if w.isascii()],
             *[w for w in FILLER if w.isascii()], *chars]
    BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True).save_pretrained(str(folder))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(str(folder))
    return folder


def _span_records(n: int, seed: int) -> list[dict]:
    """JSONL span records, English (words and spaces) and Chinese (no spaces), entities as character offsets; one or
    two entities among two or three filler words, in any order."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        chinese = i % 2 == 1
        pick = [w for w in FILLER if w.isascii() != chinese]
        items = [(rng.choice(pick), None) for _ in range(rng.randint(2, 3))]
        for kind in rng.sample(list(WORDS), rng.randint(1, 2)):
            items.insert(rng.randint(0, len(items)), (rng.choice([w for w in WORDS[kind] if w.isascii() != chinese]), kind))
        text, entities = "", []
        for word, kind in items:
            text += "" if chinese or not text else " "
            if kind:
                entities.append({"start": len(text), "end": len(text) + len(word), "label": kind})
            text += word
        records.append({"text": text, "entities": entities})
    return records


def _train(backbone, folder, **overrides) -> domainfit.Model:
    path = folder / "spans.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _span_records(120, seed=4)), encoding="utf-8")
    cfg = {"task": "ner", "data": {"train": str(path)}, "model": {"backbone": str(backbone), "max_length": 24},
           "training": {"epochs": 8, "batch_size": 8, "lr": 5e-3, "checkpoint_every": 5}, "output": str(folder / "b")}
    for key, value in overrides.items():
        cfg[key] = {**cfg.get(key, {}), **value}
    return domainfit.train(cfg)


def test_english_and_chinese_entities_come_back_with_character_offsets(zh_en_backbone, tmp_path):
    model = _train(zh_en_backbone, tmp_path)
    assert model.metrics["model"]["f1"] > 0.9
    texts = ["tim  lives in london", "张三在北京和李四去了上海", "  ann met the paris"]
    got = [[(e["start"], e["end"], e["label"], e["text"]) for e in p["entities"]] for p in model.predict(texts)]
    assert got == [[(0, 3, "PER", "tim"), (14, 20, "LOC", "london")],
                   [(0, 2, "PER", "张三"), (3, 5, "LOC", "北京"), (6, 8, "PER", "李四"), (10, 12, "LOC", "上海")],
                   [(2, 5, "PER", "ann"), (14, 19, "LOC", "paris")]]
    assert all(0.5 < e["score"] <= 1 for p in model.predict(texts) for e in p["entities"])
    meta = model.meta
    assert meta["model"]["pooling"] == "tokens" and meta["labels"] == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert meta["training"]["train_tokens_per_s"] > 0 and (tmp_path / "b" / "data" / "test.jsonl").is_file()
    report = (tmp_path / "b" / "report.html").read_text(encoding="utf-8")
    for section in ("Scores per entity type", "Entity types confused", "baseline: dictionary"):
        assert section in report


def test_long_text_is_windowed_and_bioes_scheme_decodes(zh_en_backbone, tmp_path):
    model = _train(zh_en_backbone, tmp_path, task_options={"scheme": "BIOES", "stride": 4}, model={"max_length": 10})
    assert "S-PER" in model.labels and model.metrics["model"]["f1"] > 0.8
    text = " ".join(["tim lives in paris"] * 6)  # about 26 pieces: several overlapping windows of 8
    entities = model.predict([text])[0]["entities"]
    assert [(e["text"], e["label"]) for e in entities] == [("tim", "PER"), ("paris", "LOC")] * 6
    assert all(text[e["start"]:e["end"]] == e["text"] for e in entities)


def test_resume_after_an_interruption_gives_the_same_model(tiny_backbone, tmp_path):
    train = write_conll(tmp_path / "train.conll", make_ner_sentences(40, seed=5))
    cfg = {"data": {"train": str(train)}, "model": {"backbone": str(tiny_backbone), "max_length": 32}, "baselines": [],
           "training": {"epochs": 2, "batch_size": 8, "checkpoint_every": 2, "patience": None}}
    whole = domainfit.train({**cfg, "output": str(tmp_path / "whole")})

    class Interrupt(Exception):
        pass

    class StopAtStep:
        def progress(self, description, total):
            return lambda n: None

        def log(self, message):
            pass

        def event(self, event):
            if event.kind == "checkpoint" and event.step == 4:
                raise Interrupt

    with pytest.raises(Interrupt):
        domainfit.train({**cfg, "output": str(tmp_path / "cut")}, reporter=StopAtStep())
    assert (tmp_path / ".cut.partial" / "checkpoints").is_dir()  # the staging folder
    assert not (tmp_path / "cut").exists()  # nothing half-written at the output
    resumed = domainfit.train({**cfg, "output": str(tmp_path / "cut")}, resume=True)
    texts = ["loan rate please", "card stolen"]
    for a, b in zip(whole.predict_scores(texts), resumed.predict_scores(texts)):
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)


def test_evaluate_a_conll_file_with_malformed_lines(tiny_ner_bundle, tmp_path):
    sentences = make_ner_sentences(8, seed=11)
    path = write_conll(tmp_path / "new.conll", sentences)
    path.write_text(path.read_text() + "\nbroken\ncard\tB-CARD\n", encoding="utf-8")
    result = domainfit.evaluate(tiny_ner_bundle, path)
    out = tiny_ner_bundle / "evaluations" / "new"
    assert result["n"] == 9 and {"f1", "precision", "recall", "per_type", "entity_confusion"} <= set(result["model"])
    assert "dictionary" in result["baselines"]
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    assert rejects[["_line", "kind"]].values.tolist() == [[len(path.read_text().split("\n")) - 2, "missing_tag"]]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "missing_tag" in report and "Sentences with the most mistakes" in report
