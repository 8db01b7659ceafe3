"""The entity data layer: reading CoNLL/JSONL with every problem at file:line, tag schemes, sub-word windows round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from domainfit.errors import DataError
from domainfit.tasks.ner import (
    IGNORE_INDEX,
    Fields,
    bio_labels,
    decode_entities,
    encode_words,
    join_tokens,
    merge_windows,
    read_ner,
    spans_from_tags,
    split_words,
    summarize_ner,
    tags_from_spans,
    to_bio,
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def kinds(data) -> list[tuple[int, str, str]]:
    return [(p.line, p.kind, p.severity) for p in data.problems]


# ---------------------------------------------------------------------------------------------------- CoNLL


def test_conll_two_columns_docstart_and_no_final_blank_line(tmp_path):
    path = write(tmp_path / "a.conll", "-DOCSTART- O\n\nJohn B-PER\nlives O\nin O\nParis B-LOC\n\n\nHe O\nleft O")
    data = read_ner(path)
    assert data.problems == []
    assert [s.tokens for s in data.sentences] == [["John", "lives", "in", "Paris"], ["He", "left"]]
    first = data.sentences[0]
    assert first.text == "John lives in Paris" and first.line == 3 and first.source == str(path)
    assert [first.text[a:b] for a, b in first.offsets] == first.tokens
    assert data.sentences[1].line == 9
    assert data.entity_types == ["LOC", "PER"] and data.format == "conll" and data.scheme == "BIO"


def test_conll_four_columns_tab_separated(tmp_path):
    text = "-DOCSTART-\t-X-\t-X-\tO\n\nEU\tNNP\tB-NP\tB-ORG\nrejects\tVBZ\tB-VP\tO\nGerman\tJJ\tB-NP\tB-MISC\ncall\tNN\tI-NP\tO\n"
    data = read_ner(write(tmp_path / "train.txt", text))
    assert data.problems == []
    assert data.sentences[0].tags == ["B-ORG", "O", "B-MISC", "O"]
    assert data.entity_types == ["MISC", "ORG"]


def test_conll_every_malformed_line_is_reported_with_its_line(tmp_path):
    text = (
        "EU NNP B-NP B-ORG\n"  # 1
        "rejects\n"  # 2 one column
        "German\tJJ\tB-NP\t\n"  # 3 empty tag
        "\tNN\tI-NP\tO\n"  # 4 empty token
        "call NN O\n"  # 5 three columns in a four-column file: the chunk tag could be read as the entity tag
        "to TO B-VP X-PER\n"  # 6 unreadable tag
        "boycott VB I-VP O\n"  # 7
    )
    data = read_ner(write(tmp_path / "bad.conll", text))
    assert kinds(data) == [
        (2, "missing_tag", "error"),
        (3, "empty_tag", "error"),
        (4, "empty_token", "error"),
        (5, "column_count", "warning"),
        (6, "bad_tag", "error"),
    ]
    assert all(p.file == str(tmp_path / "bad.conll") for p in data.problems)
    assert "bad.conll:2: error:" in str(data.problems[0])
    # the malformed lines are skipped, the warned one kept, the bad tag read as O
    assert data.sentences[0].tokens == ["EU", "call", "to", "boycott"]
    assert data.sentences[0].tags == ["B-ORG", "O", "O", "O"]
    with pytest.raises(DataError, match="4 error"):
        data.raise_for_errors()


def test_gbk_chinese_character_per_line(tmp_path):
    text = "我 O\n在 O\n北 B-LOC\n京 I-LOC\n工 O\n作 O\n。 O\n\n张 B-PER\n三 I-PER\n"
    data = read_ner(write(tmp_path / "zh.bio", text, encoding="gbk"))
    assert data.encoding == "gb18030" and data.problems == []
    sentence = data.sentences[0]
    assert sentence.text == "我在北京工作。" and sentence.offsets[2] == (2, 3)
    (start, end, kind), = spans_from_tags(sentence.tags)
    assert sentence.text[sentence.offsets[start][0]:sentence.offsets[end - 1][1]] == "北京" and kind == "LOC"
    assert data.sentences[1].text == "张三"


def test_explicit_wrong_encoding_and_missing_or_unknown_files(tmp_path):
    path = write(tmp_path / "zh.conll", "北 B-LOC\n", encoding="gbk")
    with pytest.raises(DataError, match="utf-8"):
        read_ner(path, encoding="utf-8")
    with pytest.raises(DataError, match="no such file"):
        read_ner(tmp_path / "none.conll")
    with pytest.raises(DataError, match="unsupported"):
        read_ner(write(tmp_path / "a.xml", "<a/>"))


def test_empty_file_is_an_error(tmp_path):
    data = read_ner(write(tmp_path / "empty.conll", "\n\n"))
    assert kinds(data) == [(1, "no_sentences", "error")]


# ---------------------------------------------------------------------------------------------------- tags


def test_i_after_o_is_repaired_with_a_warning_or_reported_as_an_error(tmp_path):
    path = write(tmp_path / "a.conll", "Hi O\nJohn I-PER\nSmith I-PER\nin O\nOslo I-LOC\n")
    repaired = read_ner(path)
    assert repaired.sentences[0].tags == ["O", "B-PER", "I-PER", "O", "B-LOC"]
    assert kinds(repaired) == [(2, "i_without_b", "warning"), (5, "i_without_b", "warning")]
    strict = read_ner(path, repair=False)
    assert kinds(strict) == [(2, "i_without_b", "error"), (5, "i_without_b", "error")]
    assert "'John'" in strict.problems[0].message


def test_bioes_file_comes_back_as_bio(tmp_path):
    text = "New B-LOC\nYork I-LOC\nCity E-LOC\nis O\nbig O\n\nBob S-PER\nran O\n"
    data = read_ner(write(tmp_path / "bioes.conll", text))
    assert data.scheme == "BIOES" and data.problems == []
    assert data.sentences[0].tags == ["B-LOC", "I-LOC", "I-LOC", "O", "O"]
    assert data.sentences[1].tags == ["B-PER", "O"]


def test_tag_conversions():
    assert to_bio(["S-PER", "B-LOC", "E-LOC", "E-ORG"])[0] == ["B-PER", "B-LOC", "I-LOC", "B-ORG"]
    assert to_bio(["B-X", "M-X", "E-X"])[0] == ["B-X", "I-X", "I-X"]  # BMES, as Chinese corpora write it
    tags, issues = to_bio(["B-PER", "O"], scheme="BIOES")
    assert tags == ["B-PER", "O"] and [i.kind for i in issues] == ["unclosed"]
    assert tags_from_spans(5, [(0, 1, "A"), (2, 5, "B")], scheme="BIOES") == ["S-A", "O", "B-B", "I-B", "E-B"]
    assert spans_from_tags(["S-A", "O", "B-B", "I-B", "E-B"]) == [(0, 1, "A"), (2, 5, "B")]
    with pytest.raises(ValueError, match="overlaps"):
        tags_from_spans(3, [(0, 2, "A"), (1, 3, "B")])
    assert bio_labels(["PER", "LOC", "PER"]) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


@pytest.mark.parametrize(
    "tags",
    [
        ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "B-LOC", "I-PER"],
        ["I-A", "I-B", "B-B", "I-B", "O", "O", "B-A"],
        ["O", "O"],
    ],
)
def test_spans_from_tags_agree_with_seqeval(tags):
    from seqeval.metrics.sequence_labeling import get_entities

    expected = sorted((start, end + 1, kind) for kind, start, end in get_entities(tags))
    assert spans_from_tags(tags) == expected


# ---------------------------------------------------------------------------------------------------- JSON Lines


def test_jsonl_tokens_and_length_mismatch(tmp_path):
    lines = [
        {"tokens": ["Ann", "met", "Bob"], "tags": ["B-PER", "O", "B-PER"]},
        {"tokens": ["a", "b"], "tags": ["O"]},
        "not json {",
        {"tokens": ["x"], "ner_tags": [3]},
    ]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    data = read_ner(write(tmp_path / "t.jsonl", text))
    assert data.format == "jsonl-tokens" and len(data.sentences) == 1
    assert kinds(data) == [(2, "length_mismatch", "error"), (3, "bad_json", "error"), (4, "bad_record", "error")]
    assert "2 tokens but 1 tags" in data.problems[0].message
    assert "integer ner_tags" in data.problems[2].message


def test_jsonl_spans_become_bio_tags(tmp_path):
    records = [
        {"text": "Tim Cook leads Apple Inc.", "entities": [{"start": 0, "end": 8, "label": "PER"}, {"start": 15, "end": 24, "type": "ORG"}]},
        {"text": "我在北京大学工作。", "label": [[2, 6, "ORG"]]},  # doccano's triples
        {"text": "Ask Ann", "entities": [{"value": {"start": 4, "end": 7, "labels": ["PER"]}}]},  # Label Studio
        {"text": "no entities here"},
    ]
    data = read_ner(write(tmp_path / "s.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in records)))
    assert data.format == "jsonl-spans" and data.problems == []
    english, chinese, label_studio, plain = data.sentences
    assert english.tokens == ["Tim", "Cook", "leads", "Apple", "Inc", "."]
    assert english.tags == ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "O"]
    assert english.text == records[0]["text"] and english.line == 1
    assert chinese.tokens == list("我在北京大学工作。")
    assert chinese.tags == ["O", "O", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O", "O"]
    assert label_studio.tags == ["O", "B-PER"] and set(plain.tags) == {"O"}
    assert data.entity_types == ["ORG", "PER"]


def test_jsonl_bad_spans_are_reported_with_their_line(tmp_path):
    records = [
        {"text": "Tim Cook leads Apple", "entities": [{"start": 0, "end": 8, "label": "PER"}]},
        {"text": "Tim Cook leads Apple", "entities": [{"start": 0, "end": 8, "label": "PER"}, {"start": 4, "end": 14, "label": "ORG"}]},
        {"text": "Tim Cook", "entities": [{"start": 4, "end": 40, "label": "PER"}, {"start": 3, "end": 3, "label": "PER"}]},
        {"text": "Tim Cook", "entities": [{"start": 1, "end": 6, "label": "PER"}, {"start": 3, "end": 4, "label": "X"}]},
        {"text": "   ", "entities": []},
        {"text": "Tim Cook", "entities": [{"start": 0, "label": "PER"}, [0, 3, "PER"], [0, 3, "PER"]]},
    ]
    data = read_ner(write(tmp_path / "bad.jsonl", "\n".join(json.dumps(r) for r in records)))
    assert kinds(data) == [
        (2, "overlapping_spans", "error"),
        (3, "span_out_of_range", "error"),
        (3, "span_out_of_range", "error"),
        (4, "span_snapped", "warning"),
        (4, "empty_span", "error"),
        (5, "empty_text", "warning"),
        (6, "bad_entity", "error"),
        (6, "duplicate_span", "warning"),
    ]
    by_line = {s.line: s for s in data.sentences}
    assert by_line[2].tags == ["B-PER", "I-PER", "O", "O"]  # the first of two overlapping spans is kept
    assert by_line[4].tags == ["B-PER", "I-PER"]  # "im Co" widened to "Tim Cook"
    assert "'Tim Cook'" in data.problems[3].message
    assert by_line[6].tags == ["B-PER", "O"]


def test_jsonl_fields_named_by_the_user(tmp_path):
    """data.text_column / data.label_column (--text / --label) name a record's fields; the value's type picks the shape."""
    words = [{"words": ["Ann", "met", "Bob"], "bio": ["B-PER", "O", "B-PER"], "text": "ignored"},
             {"bio": ["O"]}]
    data = read_ner(write(tmp_path / "w.jsonl", "\n".join(json.dumps(r) for r in words)), fields=Fields("words", "bio"))
    assert data.format == "jsonl-tokens" and [s.tags for s in data.sentences] == [["B-PER", "O", "B-PER"]]
    assert kinds(data) == [(2, "missing_field", "error")] and "'words' (data.text_column)" in data.problems[0].message

    spans = [{"sentence": "Tim Cook leads Apple", "ents": [[0, 8, "PER"], [15, 20, "ORG"]]}]
    data = read_ner(write(tmp_path / "s.jsonl", json.dumps(spans[0])), fields=Fields("sentence", "ents"))
    assert data.format == "jsonl-spans" and data.sentences[0].tags == ["B-PER", "I-PER", "O", "B-ORG"]


def test_conll_reports_column_names_it_cannot_use(tmp_path):
    data = read_ner(write(tmp_path / "a.conll", "Ann B-PER\n"), fields=Fields(text="sentence"))
    assert kinds(data) == [(1, "ignored_columns", "warning")] and "data.text_column='sentence'" in data.problems[0].message
    assert data.sentences[0].tags == ["B-PER"]


def test_json_array_file_reports_record_lines(tmp_path):
    text = '[\n  {"tokens": ["a"], "tags": ["O"]},\n  {"tokens": ["b", "c"], "tags": ["O"]}\n]'
    data = read_ner(write(tmp_path / "a.json", text))
    assert len(data.sentences) == 1 and kinds(data) == [(3, "length_mismatch", "error")]


def test_summary(tmp_path):
    data = read_ner(write(tmp_path / "a.conll", "John I-PER\nin O\nOslo B-LOC\n\nx O\n"))
    summary = summarize_ner(data)
    assert summary["sentences"] == 2 and summary["tokens"] == 4 and summary["entities"] == {"LOC": 1, "PER": 1}
    assert summary["warnings"] == 1 and summary["problems"][0]["line"] == 1
    json.dumps(summary)


# ---------------------------------------------------------------------------------------------------- words and text


def test_split_words_and_join_tokens():
    text = "Dr. Smith-Jones paid $3.50 in 北京 (東京)."
    assert [text[a:b] for a, b in split_words(text)] == [
        "Dr", ".", "Smith", "-", "Jones", "paid", "$", "3", ".", "50", "in", "北", "京", "(", "東", "京", ")", ".",
    ]
    assert join_tokens(["我", "爱", "NLP", "和", "北京"]) == ("我爱 NLP 和北京", [(0, 1), (1, 2), (3, 6), (7, 8), (8, 10)])


# ---------------------------------------------------------------------------------------------------- sub-word alignment


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import BertTokenizerFast

    pieces = ["tim", "cook", "lead", "##s", "apple", "inc", ".", "play", "##ing", "with", "ann", "in", "paris", "##ian", "the"]
    chinese = list("我在北京大学工作。张三去上海")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *pieces, *chinese]
    # transformers 5 takes the vocabulary as a dict (a vocab_file= argument is silently ignored)
    return BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)


def one_hot(windows, n_labels: int) -> list[np.ndarray]:
    """'Perfect' model scores: the label of each labelled piece, one-hot; other rows zero, plus two padding rows."""
    out = []
    for window in windows:
        scores = np.zeros((len(window.input_ids) + 2, n_labels))
        for position, label in enumerate(window.labels):
            if label != IGNORE_INDEX:
                scores[position, label] = 1.0
        out.append(scores)
    return out


def round_trip(tokenizer, text: str, entities: list[tuple[int, int, str]], max_length: int = 64, stride: int = 0):
    offsets = split_words(text)
    words = [text[a:b] for a, b in offsets]
    word_spans = [
        (next(i for i, (a, _) in enumerate(offsets) if a == start), next(i for i, (_, b) in enumerate(offsets) if b == end) + 1, kind)
        for start, end, kind in entities
    ]
    tags = tags_from_spans(len(words), word_spans)
    labels = bio_labels([kind for _, _, kind in entities])
    windows = encode_words(tokenizer, words, tags, {label: i for i, label in enumerate(labels)}, max_length, stride)
    scores = merge_windows(windows, one_hot(windows, len(labels)))
    found = decode_entities(text, offsets, scores, labels)
    return windows, words, found


def test_round_trip_english(tokenizer):
    text = "Tim Cook leads Apple Inc. playing with Ann in Parisian Paris."
    entities = [(0, 8, "PER"), (15, 24, "ORG"), (39, 42, "PER"), (46, 54, "MISC"), (55, 60, "LOC")]
    windows, words, found = round_trip(tokenizer, text, entities)
    assert len(windows) == 1
    window = windows[0]
    assert window.input_ids[0] == tokenizer.cls_token_id and window.input_ids[-1] == tokenizer.sep_token_id
    playing = words.index("playing")
    positions = [i for i, w in enumerate(window.word_ids) if w == playing]
    assert len(positions) == 2  # play ##ing
    assert window.labels[positions[0]] == 0 and window.labels[positions[1]] == IGNORE_INDEX
    assert window.labels[0] == window.labels[-1] == IGNORE_INDEX
    assert [(e["start"], e["end"], e["label"]) for e in found] == entities
    assert found[0]["text"] == "Tim Cook" and found[0]["score"] == 1.0


def test_round_trip_chinese_with_character_offsets(tokenizer):
    text = "我在北京大学工作。张三去上海。"
    entities = [(2, 6, "ORG"), (9, 11, "PER"), (12, 14, "LOC")]
    _, words, found = round_trip(tokenizer, text, entities)
    assert words == list(text)
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in found] == [(2, 6, "ORG", "北京大学"), (9, 11, "PER", "张三"), (12, 14, "LOC", "上海")]


def test_read_chinese_file_then_round_trip(tmp_path, tokenizer):
    data = read_ner(write(tmp_path / "zh.conll", "张\tB-PER\n三\tI-PER\n去\tO\n上\tB-LOC\n海\tI-LOC\n", encoding="gbk"))
    sentence = data.sentences[0]
    labels = bio_labels(data.entity_types)
    windows = encode_words(tokenizer, sentence.tokens, sentence.tags, {l: i for i, l in enumerate(labels)}, 32)
    found = decode_entities(sentence.text, sentence.offsets, merge_windows(windows, one_hot(windows, len(labels))), labels)
    assert [(e["text"], e["label"]) for e in found] == [("张三", "PER"), ("上海", "LOC")]


def test_long_sentence_is_split_into_overlapping_windows_and_merged_back(tokenizer):
    part = "Tim Cook leads Apple Inc. playing with Ann in Paris. "
    text = (part * 4).strip()
    entities = []
    for k in range(4):
        base = k * len(part)
        entities += [(base, base + 8, "PER"), (base + 15, base + 24, "ORG"), (base + 39, base + 42, "PER"), (base + 46, base + 51, "LOC")]
    windows, words, found = round_trip(tokenizer, text, entities, max_length=16, stride=5)
    assert len(windows) >= 2
    whole = tokenizer(words, is_split_into_words=True, add_special_tokens=False).word_ids()
    for first, second in zip(windows, windows[1:]):
        assert first.word_start < second.word_start < first.word_end  # they overlap and move on
    for window in windows:
        assert len(window.input_ids) <= 16
        inside = [w for w in window.word_ids if w is not None]
        assert inside == [w for w in whole if window.word_start <= w < window.word_end]  # no word cut
    assert windows[0].word_start == 0 and windows[-1].word_end == len(words)
    assert [(e["start"], e["end"], e["label"]) for e in found] == entities


def test_merge_prefers_the_window_where_a_word_has_context(tokenizer):
    words = ["tim", "cook", "leads", "apple", "inc", "with", "ann", "in", "paris", "the", "tim", "cook"]
    windows = encode_words(tokenizer, words, ["O"] * len(words), {"O": 0, "B-X": 1}, max_length=9, stride=4)
    assert len(windows) >= 2
    scores = one_hot(windows, 2)
    for window, s in zip(windows, scores):  # every window is wrong about the words next to its cut edges
        edges = {window.word_start} if window.word_start > 0 else set()
        edges |= {window.word_end - 1} if window.word_end < window.n_words else set()
        for position, w in enumerate(window.word_ids):
            if w in edges:
                s[position] = [0.0, 1.0]
    merged = merge_windows(windows, scores)
    assert (merged.argmax(axis=1) == 0).all()


def test_words_without_pieces_and_bad_arguments(tokenizer):
    windows = encode_words(tokenizer, ["tim", "", "cook"], ["B-PER", "O", "I-PER"], {"O": 0, "B-PER": 1, "I-PER": 2}, 16)
    merged = merge_windows(windows, one_hot(windows, 3))
    assert merged[1].tolist() == [0.0, 0.0, 0.0]  # read as outside: the entity is cut there
    found = decode_entities("tim  cook", [(0, 3), (4, 4), (5, 9)], merged, ["O", "B-PER", "I-PER"])
    assert [(e["text"], e["label"]) for e in found] == [("tim", "PER"), ("cook", "PER")]
    assert encode_words(tokenizer, [], None, {}, 16) == []
    assert decode_entities("", [], np.zeros((0, 3)), ["O", "B-A", "I-A"]) == []
    with pytest.raises(ValueError, match="stride"):
        encode_words(tokenizer, ["tim"], None, {}, max_length=8, stride=6)
    with pytest.raises(DataError, match="'B-ORG'"):
        encode_words(tokenizer, ["tim"], ["B-ORG"], {"O": 0}, 8)
    prediction = encode_words(tokenizer, ["tim", "cook"], None, {}, 8)
    assert prediction[0].labels is None and prediction[0].word_ids == [None, 0, 1, None]
