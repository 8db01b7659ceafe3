"""The recommend data layer: every check names file and row, rejects are kept, splits go by time."""

from __future__ import annotations

import pandas as pd
import pytest

from domainfit.config.schema import DataConfig
from domainfit.errors import ConfigError
from domainfit.interfaces import make_task
from domainfit.tasks.recommend.data import cold_items, prepare_recommend, split_cases
from domainfit.tasks.recommend.examples import write_rows


@pytest.fixture()
def messy(tmp_path):
    items = write_rows(tmp_path / "items.tsv", [("a", "red card", "card"), ("b", "blue loan", "loan"), ("c", "", "loan"),
                                                ("a", "again", "card"), ("d", "green transfer", "transfer")],
                       ("item_id", "title", "category"))
    items.write_text(items.read_text().replace(",", "\t"))
    inter = write_rows(tmp_path / "events.csv", [
        ("u1", "a", "3"), ("u1", "b", "1"), ("u1", "d", "2"),  # rows 2-4: u1 goes back in time in the file
        ("u1", "b", "1"),  # row 5: the same event again
        ("u2", "zzz", "1"),  # row 6: an unknown item
        ("u2", "c", "2"),  # row 7: an item rejected from the catalogue (no text)
        ("u3", "a", "when"),  # row 8: unreadable time
        ("u4", "d", "5"),  # row 9: a user with one interaction
        ("", "a", "1"),  # row 10: no user
    ], ("customer_id", "sku", "timestamp"))
    return items, inter


def test_every_problem_is_reported_with_its_file_and_row_and_the_rejects_are_kept(messy):
    items, inter = messy
    data = prepare_recommend(DataConfig(train=inter, items=items), task=make_task("recommend"))
    found = {i.code: i for i in data.report.issues}
    assert {"item_without_text", "duplicate_item", "unknown_item", "duplicate_event", "bad_time", "missing_user",
            "time_backwards", "single_interaction_user"} <= set(found)
    assert found["item_without_text"].where == [f"{items}:row 4"]
    assert found["duplicate_item"].where == [f"{items}:row 5"]
    assert set(found["unknown_item"].where) == {f"{inter}:row 6", f"{inter}:row 7"}
    assert found["duplicate_event"].where == [f"{inter}:row 5"]
    assert found["bad_time"].where == [f"{inter}:row 8"] and found["missing_user"].where == [f"{inter}:row 10"]
    assert found["single_interaction_user"].where == [f"{inter}:row 9"]
    assert found["unknown_item"].hint and "catalogue" in found["unknown_item"].hint
    reasons = dict(zip(data.rejects["_row"].astype(int).astype(str) + data.rejects["_file"], data.rejects["reason"]))
    assert reasons[f"4{items}"] == "item_without_text" and reasons[f"6{inter}"].startswith("unknown_item")
    assert len(data.rejects) == 7  # 2 catalogue rows + 5 interaction rows
    assert data.items["id"].tolist() == ["a", "b", "d"] and data.items["category"].tolist() == ["card", "loan", "transfer"]
    # u1 sorted by time: b(1) d(2) a(3): a is the test target, d the validation target, b trains
    test = {c.user: c for c in data.test}
    assert (test["u1"].history, test["u1"].target) == (["b", "d"], "a")
    assert [(c.user, c.history, c.target) for c in data.val] == [("u1", ["b"], "d")]
    assert "u4" not in test and sorted(data.train["item"]) == ["b", "d"]  # u4's one interaction trains


def test_leave_last_out_and_time_cut_split_by_time_never_at_random():
    inter = pd.DataFrame({"user": ["u"] * 5 + ["v"] * 3, "item": list("abcde") + list("xyz"),
                          "time": [1, 2, 3, 4, 5, 1, 8, 9]}).sort_values(["user", "time"])
    train, val, test = split_cases(inter, how="leave_last_out", val_size=0.1, test_size=0.2)
    assert [(c.history, c.target) for c in test] == [(list("abcd"), "e"), (list("xy"), "z")]
    assert [(c.history, c.target) for c in val] == [(list("abc"), "d"), (["x"], "y")]
    assert sorted(train["item"]) == ["a", "b", "c", "x"]
    train, val, test = split_cases(inter, how="time_cut", val_size=0.25, test_size=0.25)
    assert train["time"].max() < min(inter[inter["item"] == c.target]["time"].iloc[0] for c in val + test)
    assert all(c.history == [i for i in inter[inter["user"] == c.user]["item"]][: len(c.history)] for c in test)
    again = split_cases(inter.sample(frac=1, random_state=1).sort_values(["user", "time"]), how="time_cut",
                        val_size=0.25, test_size=0.25)
    assert [(c.user, c.target) for c in again[2]] == [(c.user, c.target) for c in test]


def test_cold_items_are_seeded_and_left_out_of_training(tmp_path):
    from tests.unit.recommend.conftest import write_example

    paths = write_example(tmp_path)
    task = make_task("recommend", {"cold_items": 0.25})
    data = prepare_recommend(DataConfig(train=paths["train"], items=paths["items"], seed=5), task=task)
    assert len(data.cold) == 6 and data.cold == cold_items(data.labels, 0.25, 5)
    assert not set(data.train["item"]) & set(data.cold)  # neither target nor history while training
    assert cold_items(data.labels, 0.25, 6) != data.cold and data.report.counts["cold_items"] == 6


def test_the_config_names_both_files_and_is_checked(tmp_path):
    from domainfit.config import load_config

    cfg = load_config({"task": "recommend", "data": {"train": "i.csv", "items": "c.csv"},
                       "task_options": {"user_tower": "attention", "history_length": 5}})
    assert str(cfg.data.items) == "c.csv" and cfg.task_options["user_tower"] == "attention"
    with pytest.raises(ConfigError, match="task_options.user_tower"):
        load_config({"task": "recommend", "data": {"train": "i.csv"}, "task_options": {"user_tower": "lstm"}})
    with pytest.raises(ConfigError, match="data.items"):
        prepare_recommend(DataConfig(train=tmp_path / "i.csv"), task=make_task("recommend"))


def test_the_cli_checks_and_trains_with_items(tiny_backbone, tmp_path):
    import json

    from typer.testing import CliRunner

    from domainfit.cli.main import app
    from tests.unit.recommend.conftest import write_example

    paths = write_example(tmp_path, n_users=12)
    runner = CliRunner()
    checked = runner.invoke(app, ["data", "check", paths["train"], "--task", "recommend", "--items", paths["items"],
                                  "--model", str(tiny_backbone), "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["counts"]["items"] == 24
    trained = runner.invoke(app, ["train", paths["train"], "--task", "recommend", "--items", paths["items"], "--model",
                                  str(tiny_backbone), "--max-length", "16", "--epochs", "1", "-o", str(tmp_path / "b"),
                                  "--set", "baselines=[popular]"])
    assert trained.exit_code == 0, trained.output
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["baselines"]["popular"]["n"] == 12
