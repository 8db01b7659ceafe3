"""split_data on its own, and the public surface of domainfit.data."""

from __future__ import annotations

import pandas as pd

import domainfit.data
from domainfit.data.split import split_data, stratified_split


def pool(sizes: dict[str, int]) -> pd.DataFrame:
    rows = [(f"{lab}-{i}", lab) for lab, n in sizes.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["text", "label"])


def test_three_way_split_per_class_counts():
    parts = split_data(pool({"a": 50, "b": 10, "c": 3}), test_size=0.2, val_size=0.1, seed=0)
    counts = {k: v["label"].value_counts().to_dict() for k, v in parts.items()}
    assert counts["test"] == {"a": 10, "b": 2, "c": 1}
    assert counts["val"] == {"a": 5, "b": 1, "c": 1}
    assert counts["train"] == {"a": 35, "b": 7, "c": 1}


def test_given_val_and_test_are_used_and_missing_one_is_carved():
    p = pool({"a": 20, "b": 20})
    v, t = pool({"a": 2, "b": 2}), pool({"a": 3, "b": 3})
    both = split_data(p, test_size=0.2, val_size=0.1, seed=0, val=v, test=t)
    assert both["train"] is p and both["val"] is v and both["test"] is t
    only_test = split_data(p, test_size=0.2, val_size=0.1, seed=0, test=t)
    assert (len(only_test["train"]), len(only_test["val"])) == (36, 4) and only_test["test"] is t
    only_val = split_data(p, test_size=0.2, val_size=0.1, seed=0, val=v)
    assert (len(only_val["train"]), len(only_val["test"])) == (32, 8) and only_val["val"] is v


def test_stratified_split_keeps_order_and_is_seeded():
    p = pool({"a": 30, "b": 30})
    rest, held = stratified_split(p, 0.5, seed=3)
    assert list(rest.index) == sorted(rest.index) and list(held.index) == sorted(held.index)
    assert stratified_split(p, 0.5, seed=3)[1].index.tolist() == held.index.tolist()
    assert stratified_split(p, 0.5, seed=4)[1].index.tolist() != held.index.tolist()


def test_public_api_is_exactly_the_contract():
    assert sorted(domainfit.data.__all__) == sorted(
        ["Issue", "DataReport", "PreparedData", "ReadResult", "read_table", "resolve_columns", "normalize_text", "prepare_data", "check_data",
         "write_rejects", "Redactor", "make_cleaner", "cleaner_for"]
    )
    for name in domainfit.data.__all__:
        assert getattr(domainfit.data, name) is not None
