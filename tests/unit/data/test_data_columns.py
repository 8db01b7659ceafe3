"""resolve_columns: explicit names, well-known names, shape-based inference and the errors when unsure."""

from __future__ import annotations

import pandas as pd
import pytest

from domainfit.data import resolve_columns
from domainfit.errors import ColumnError


def frame(**cols):
    return pd.DataFrame(cols, dtype=str).assign(_file="f.csv", _row=range(2, 2 + len(next(iter(cols.values())))))


LONG = ["the card I ordered last week still has not arrived", "how do I change the PIN of my debit card", "my transfer to a friend failed twice today", "why was I charged a fee for a cash withdrawal"]


def test_known_names():
    f = frame(id=["1", "2", "3", "4"], review=LONG, sentiment=["pos", "neg", "pos", "neg"])
    assert resolve_columns(f) == ("review", "sentiment")


def test_known_chinese_names():
    f = frame(内容=["送餐很快", "味道一般", "太慢了", "很好吃"], 标签=["好评", "差评", "差评", "好评"])
    assert resolve_columns(f) == ("内容", "标签")


def test_shape_inference_without_known_names():
    f = frame(
        ticket_id=[str(i) for i in range(101, 109)],
        body_of_ticket=LONG * 2,
        team=["cards", "cards", "payments", "fees", "cards", "fees", "payments", "cards"],
    )
    assert resolve_columns(f) == ("body_of_ticket", "team")


def test_explicit_names_win():
    f = frame(text=["a", "b"], other=LONG[:2], label=["x", "y"], queue=["q", "r"])
    assert resolve_columns(f, "other", "queue") == ("other", "queue")


def test_explicit_name_matches_case_insensitively():
    f = frame(Text=LONG[:2], Label=["x", "y"])
    assert resolve_columns(f, "text", "label") == ("Text", "Label")


def test_missing_explicit_column_lists_available_and_guesses():
    f = frame(review_text=LONG[:2], label=["x", "y"])
    with pytest.raises(ColumnError) as e:
        resolve_columns(f, "review_txt", None, path="tickets.csv")
    msg = str(e.value)
    assert "no text column 'review_txt'" in msg
    assert "Did you mean 'review_text'?" in msg
    assert "'review_text', 'label'" in msg  # what the file has
    assert "_row" not in msg and "_file" not in msg
    assert e.value.where == "tickets.csv"
    assert "--text" in msg


def test_ambiguous_text_lists_candidates_with_samples_and_flags():
    f = frame(a=["short one", "short two", "short three", "short four"], b=["other words", "more words", "yet again", "and again"], label=["x", "y", "x", "y"])
    with pytest.raises(ColumnError) as e:
        resolve_columns(f, path="data.csv")
    msg = str(e.value)
    assert "cannot tell which column holds the text" in msg
    assert "'a' e.g. 'short one', 'short two'" in msg
    assert "'b' e.g. 'other words', 'more words'" in msg
    assert "--text COLUMN --label COLUMN" in msg and "data.text_column" in msg


def test_ambiguous_label_when_two_known_label_names():
    f = frame(text=LONG, label=["a", "b", "a", "b"], category=["x", "x", "y", "y"])
    with pytest.raises(ColumnError, match="several columns could hold the label: 'label' e.g."):
        resolve_columns(f)


def test_prediction_file_without_label():
    f = frame(id=["1", "2"], text=LONG[:2])
    assert resolve_columns(f, require_label=False) == ("text", None)
    assert resolve_columns(f, None, "label", require_label=False) == ("text", None)
    g = frame(text=LONG[:2], label=["x", "y"])
    assert resolve_columns(g, None, "label", require_label=False) == ("text", "label")
