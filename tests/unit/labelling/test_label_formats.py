"""`label export` → the tool → `label import`, for each format: texts byte-exact (Chinese, a character outside the
BMP, quotes, newlines), entity offsets exact, annotators and times kept, majority vote with the disagreement."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from domainfit.cli.main import app
from domainfit.errors import DataError
from domainfit.labelling.formats import Item, write_items
from domainfit.labelling.roundtrip import import_annotations
from tests.conftest import make_rows, write_csv

TEXTS = ["我的银行卡丢了，请帮忙冻结", "𠀀字在前：招商银行转账未到账", 'card "blocked"\nsecond line, with a comma', "  spaces kept  "]


def _entities(text: str) -> list[dict]:
    out = []
    for word, label in (("银行卡", "CARD"), ("招商银行", "BANK"), ("转账", "TRANSFER"), ("blocked", "CARD")):
        at = text.find(word)
        if at >= 0:
            out.append({"start": at, "end": at + len(word), "label": label, "score": 0.9})
    return out


def _items(task: str) -> list[Item]:
    if task == "ner":
        return [Item(f"r{i}", t, entities=_entities(t)) for i, t in enumerate(TEXTS)]
    return [Item(f"r{i}", t, ["card" if i % 2 else "transfer"], 0.8) for i, t in enumerate(TEXTS)]


def _annotate(fmt: str, path, task: str, people=("alice", "bob")):
    """What the tool exports after each person accepted the pre-annotations (the last person's answer on item 0 differs)."""
    if fmt == "label-studio":
        tasks = json.loads(path.read_text(encoding="utf-8"))
        for t in tasks:
            t["annotations"] = []
            for k, who in enumerate(people):
                result = copy.deepcopy(t["predictions"][0]["result"]) if t["predictions"] else []
                if k == len(people) - 1 and t["data"]["domainfit_id"] == "r0" and task != "ner":
                    result[0]["value"]["choices"] = ["loan"]
                t["annotations"].append({"completed_by": {"id": k + 1, "email": f"{who}@bank.cn"}, "result": result,
                                         "created_at": f"2026-12-01T10:0{k}:00Z", "was_cancelled": False})
        path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    elif fmt == "argilla":
        records = json.loads(path.read_text(encoding="utf-8"))
        for r in records:
            q, s = next(iter(r["suggestions"].items()))
            answers = [{"value": copy.deepcopy(s["value"]), "user_id": who} for who in people]
            if r["id"] == "r0" and task != "ner":
                answers[-1]["value"] = "loan"
            r["responses"] = {q: answers}
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    elif fmt == "doccano":  # one file per annotator, as doccano exports without collaboration
        lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
        files = []
        for who in people:
            mine = copy.deepcopy(lines)
            if who == people[-1] and task != "ner":
                mine[0]["label"] = ["loan"]
            f = path.parent / f"{who}.jsonl"
            f.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in mine), encoding="utf-8")
            files.append(f)
        return files
    else:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        frames = []
        for who in people:
            mine = table.assign(annotator=who, time="2026-12-01 10:00")
            if who == people[-1] and task != "ner":
                mine.loc[0, "label"] = "loan"
            frames.append(mine)
        pd.concat(frames).to_csv(path, index=False, encoding="utf-8")
    return [path]


@pytest.mark.parametrize("fmt", ["label-studio", "argilla", "doccano", "csv"])
def test_round_trip_classes(fmt, tmp_path):
    export = tmp_path / f"pre{'.csv' if fmt == 'csv' else '.jsonl' if fmt == 'doccano' else '.json'}"
    write_items(_items("classification"), export, fmt, task="classification", labels=["card", "loan", "transfer"])
    files = _annotate(fmt, export, "classification", people=("alice", "bob", "chen"))
    summary = import_annotations(files, tmp_path / "labelled.csv", fmt=fmt)
    table = pd.read_csv(tmp_path / "labelled.csv", dtype=str, keep_default_na=False)
    assert summary["rows"] == len(TEXTS) and summary["disagreements"] == 1
    by_id = table.set_index("id")
    for i, text in enumerate(TEXTS):
        assert by_id.loc[f"r{i}", "text"] == text  # byte-exact
    assert by_id.loc["r0", "label"] == "transfer"  # two of three said transfer
    assert by_id.loc["r0", "agreement"] == "0.667" and "=loan" in by_id.loc["r0", "disagreement"]
    assert by_id.loc["r1", "disagreement"] == "" and by_id.loc["r1", "label"] == "card"
    assert by_id.loc["r1", "annotators"] == "3" and by_id.loc["r1", "annotator"].count(",") == 2


@pytest.mark.parametrize("fmt", ["label-studio", "argilla", "doccano", "csv"])
def test_round_trip_entities_keeps_offsets(fmt, tmp_path):
    export = tmp_path / f"pre{'.csv' if fmt == 'csv' else '.jsonl' if fmt == 'doccano' else '.json'}"
    write_items(_items("ner"), export, fmt, task="ner", labels=["BANK", "CARD", "TRANSFER"])
    if fmt == "label-studio":  # the UTF-16 offsets Label Studio's browser counts: 𠀀 is two units
        first = json.loads(export.read_text(encoding="utf-8"))[1]["predictions"][0]["result"][0]["value"]
        assert (first["start"], first["text"]) == (TEXTS[1].find("招商银行") + 1, "招商银行")
    files = _annotate(fmt, export, "ner")
    import_annotations(files, tmp_path / "labelled.jsonl", fmt=fmt)
    rows = [json.loads(x) for x in (tmp_path / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == TEXTS
    for r in rows:
        want = [(e["start"], e["end"], e["label"]) for e in _entities(r["text"])]
        assert sorted((e["start"], e["end"], e["label"]) for e in r["entities"]) == sorted(want)
        for e in r["entities"]:
            assert r["text"][e["start"]:e["end"]] in ("银行卡", "招商银行", "转账", "blocked")


def test_imported_entities_train_table_reads_back(tmp_path):
    from domainfit.tasks.ner.io import read_ner

    export = tmp_path / "pre.json"
    write_items(_items("ner"), export, "label-studio", task="ner")
    import_annotations(_annotate("label-studio", export, "ner"), tmp_path / "train.jsonl")
    data = read_ner(tmp_path / "train.jsonl")
    assert not data.errors and len(data.sentences) == len(TEXTS) and "BANK" in data.entity_types


def test_cli_export_with_a_bundle_then_import(tmp_path, tiny_bundle):
    write_csv(tmp_path / "pool.csv", [(t,) for t, _ in make_rows(3, seed=3)], header=("text",))
    out = tmp_path / "pre.json"
    result = CliRunner().invoke(app, ["label", "export", str(tmp_path / "pool.csv"), "--bundle", str(tiny_bundle),
                                      "--format", "label-studio", "-o", str(out)])
    assert result.exit_code == 0, result.output
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert len(tasks) == 9 and tasks[0]["predictions"][0]["result"][0]["value"]["choices"][0] in {"card", "loan", "transfer"}
    assert '<Choice value="loan"/>' in (tmp_path / "pre.config.xml").read_text(encoding="utf-8")
    _annotate("label-studio", out, "classification")
    result = CliRunner().invoke(app, ["label", "import", str(out), "-o", str(tmp_path / "labelled.csv")])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "labelled.csv")) == 9


def test_exports_that_do_not_parse_say_where(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('[{"data": {"text": "x"}, "annotations": [}', encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON") as info:
        import_annotations([bad], tmp_path / "o.csv")
    assert "broken.json:line 1" in str(info.value)
    neither = tmp_path / "other.json"
    neither.write_text('[{"sentence": "x"}]', encoding="utf-8")
    with pytest.raises(DataError, match="cannot tell which tool"):
        import_annotations([neither], tmp_path / "o.csv")
    lines = tmp_path / "d.jsonl"
    lines.write_text('{"text": "ok", "label": ["a"]}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataError, match="d.jsonl:line 2"):
        import_annotations([lines], tmp_path / "o.csv")
    with pytest.raises(DataError, match="unknown labelling format"):
        write_items(_items("classification"), tmp_path / "x.json", "prodigy", task="classification")
    empty = tmp_path / "empty.json"
    empty.write_text('[{"data": {"text": "x"}, "annotations": []}]', encoding="utf-8")
    with pytest.raises(DataError, match="no annotation"):
        import_annotations([empty], tmp_path / "o.csv")


def test_import_refuses_a_task_the_export_does_not_hold(tmp_path):
    export = tmp_path / "pre.json"
    write_items(_items("ner"), export, "label-studio", task="ner", labels=["BANK", "CARD", "TRANSFER"])
    files = _annotate("label-studio", export, "ner")
    with pytest.raises(DataError, match="annotations are entity spans") as info:
        import_annotations(files, tmp_path / "o.csv", task="classification")  # the spans would be lost without a word
    assert "--task" in str(info.value)
    with pytest.raises(DataError, match="unknown task 'spans'"):
        import_annotations(files, tmp_path / "o.csv", task="spans")
    classes = tmp_path / "c.json"
    write_items(_items("classification"), classes, "label-studio", task="classification", labels=["card", "loan", "transfer"])
    with pytest.raises(DataError, match="classes, not entity spans"):
        import_annotations(_annotate("label-studio", classes, "classification"), tmp_path / "o.jsonl", task="ner")
    summary = import_annotations(files, tmp_path / "o.jsonl", task="ner")
    assert summary["task"] == "ner" and summary["rows"] == len(TEXTS)


def test_a_bundle_of_another_task_is_refused_by_next_and_export(tmp_path, tiny_backbone):
    import domainfit
    from domainfit.errors import BundleError
    from domainfit.labelling.next import next_batch
    from domainfit.labelling.roundtrip import export_pool
    from tests.conftest import make_task_rows

    data = write_csv(tmp_path / "scores.csv", make_task_rows("regression", 8, seed=1))
    bundle = tmp_path / "scorer"
    domainfit.train({"task": "regression", "method": "head", "data": {"train": str(data)},
                     "model": {"backbone": str(tiny_backbone), "max_length": 16}, "baselines": [], "output": str(bundle)})
    pool = write_csv(tmp_path / "pool.csv", [(t,) for t, _ in make_rows(2, seed=3)], header=("text",))
    with pytest.raises(BundleError, match="not 'regression'") as info:
        next_batch(pool, bundle=bundle, model=str(tiny_backbone))
    assert f"--bundle {bundle}" in str(info.value)
    with pytest.raises(DataError, match="the bundle is for 'regression'") as info:
        export_pool(pool, tmp_path / "pre.json", bundle=bundle)
    assert "classification, multilabel or ner bundle" in str(info.value)
