"""domainfit.json is a typed BundleMeta: every kind of bundle training writes validates and round-trips; an unknown key,
a wrong type or another format version is refused naming the key (or the domainfit version that wrote the bundle)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import domainfit
from domainfit.bundle import FORMAT_VERSION, BundleMeta, load_bundle, read_meta, seal_bundle, write_meta
from domainfit.errors import BundleError
from domainfit.registry import tasks

# One bundle of each task and of each encoder format (whole, PEFT adapter, bottleneck adapter), and the methods that
# write facts of their own (fewshot, zeroshot). tests/contract runs every registered pair through read_meta as well.
KINDS = [("classification", "head", "transformers"), ("multilabel", "head", "transformers"),
         ("regression", "head", "transformers"), ("ner", "full", "transformers"), ("retrieval", "full", "transformers"),
         ("classification", "lora", "peft"), ("classification", "adapter", "bottleneck"),
         ("classification", "fewshot", "transformers"), ("classification", "zeroshot", "transformers"),
         ("retrieval", "zeroshot", "transformers")]


def _edited(bundle: Path, folder: Path, edit) -> Path:
    """A copy of `bundle` whose domainfit.json `edit` changed as a dict, re-sealed (so only the schema can refuse it)."""
    copy = shutil.copytree(bundle, folder)
    meta = json.loads((copy / "domainfit.json").read_text(encoding="utf-8"))
    edit(meta)
    (copy / "domainfit.json").write_text(json.dumps(meta), encoding="utf-8")
    seal_bundle(copy)
    return copy


@pytest.mark.parametrize(("task", "method", "encoder_format"), KINDS, ids=[f"{t}-{m}" for t, m, _ in KINDS])
def test_every_kind_of_bundle_validates_and_reads_back_as_written(task, method, encoder_format, tiny_backbone, tmp_path):
    example = tasks.get(task).example(tmp_path / "data")
    domainfit.train({"task": task, "method": method, "data": example["data"], "baselines": [],
                     "model": {"backbone": str(tiny_backbone), "max_length": 32},
                     "training": {"epochs": 1, "batch_size": 8}, "output": str(tmp_path / "b")})
    written = json.loads((tmp_path / "b" / "domainfit.json").read_text(encoding="utf-8"))
    meta = read_meta(tmp_path / "b")
    assert meta.to_dict() == written  # every key training writes is typed: nothing refused, lost or invented
    assert (meta.task, meta.method, meta.format_version) == (task, method, FORMAT_VERSION)
    assert meta.model.encoder.format == encoder_format and meta.model.max_length == 32
    assert meta.backbone.path == str(tiny_backbone) and meta.backbone.sha256 and meta.data.fingerprint
    assert meta.timings and meta.timings["total_s"] >= 0 and meta.versions["domainfit"] and meta.created
    assert (meta.index is not None) == (task == "retrieval") and meta.tracking is None
    assert load_bundle(tmp_path / "b").meta == meta
    model = domainfit.load(tmp_path / "b")
    assert isinstance(model.meta, dict) and model.meta == written  # the public Model.meta stays the plain file


def test_an_unknown_key_is_refused_naming_it(tiny_bundle, tmp_path):
    bundle = _edited(tiny_bundle, tmp_path / "b", lambda m: m["model"].update(colour="blue"))
    with pytest.raises(BundleError) as info:
        domainfit.load(bundle)
    assert "domainfit.json: model.colour: unknown key" in str(info.value) and "how to fix" in str(info.value)
    top = _edited(tiny_bundle, tmp_path / "top", lambda m: m.update(colour="blue"))
    with pytest.raises(BundleError, match="colour: unknown key"):
        read_meta(top)


def test_an_encoder_format_may_add_keys_of_its_own(tiny_bundle, tmp_path):
    bundle = _edited(tiny_bundle, tmp_path / "b", lambda m: m["model"]["encoder"].update(note="kept"))
    assert read_meta(bundle).model.encoder.note == "kept" and read_meta(bundle).to_dict()["model"]["encoder"]["note"] == "kept"


def test_a_future_format_version_is_refused_naming_the_version_that_wrote_it(tiny_bundle, tmp_path):
    def future(meta: dict) -> None:
        meta["format_version"] = FORMAT_VERSION + 1
        meta["versions"]["domainfit"] = "9.3.0"
        meta["model"]["shape"] = "a key this domainfit does not know"  # the version is checked before the schema

    with pytest.raises(BundleError) as info:
        domainfit.load(_edited(tiny_bundle, tmp_path / "b", future))
    text = str(info.value)
    assert f"bundle format {FORMAT_VERSION + 1} was written by domainfit 9.3.0" in text and "format_version" in text
    assert "pip install domainfit==9.3.0" in text and "shape" not in text
    unknown = _edited(tiny_bundle, tmp_path / "old", lambda m: (m.update(format_version=0), m.pop("versions")))
    with pytest.raises(BundleError, match="written by an unknown domainfit"):
        read_meta(unknown)


def test_a_wrong_type_is_refused_naming_the_key(tiny_bundle, tmp_path):
    with pytest.raises(BundleError) as info:
        domainfit.load(_edited(tiny_bundle, tmp_path / "b", lambda m: m["model"].update(max_length="abc")))
    text = str(info.value)
    assert "domainfit.json: model.max_length: Input should be a valid integer" in text and "'abc'" in text
    assert "domainfit bundle seal" in text  # the fix: correct the key and re-seal, or retrain

    def two(meta: dict) -> None:
        meta["model"]["max_length"] = "abc"
        meta["labels"] = "card"

    with pytest.raises(BundleError) as info:
        read_meta(_edited(tiny_bundle, tmp_path / "two", two))
    assert "labels: Input should be a valid list" in str(info.value) and "model.max_length" in str(info.value)  # all at once


def test_write_meta_then_read_meta_is_identical(tiny_bundle, tmp_path):
    original = (tiny_bundle / "domainfit.json").read_text(encoding="utf-8")
    meta = read_meta(tiny_bundle)
    (tmp_path / "b").mkdir()
    assert write_meta(tmp_path / "b", meta) == meta
    assert read_meta(tmp_path / "b") == meta and (tmp_path / "b" / "domainfit.json").read_text(encoding="utf-8") == original
    write_meta(tmp_path / "b", json.loads(original))  # a dict is checked, then written the same way
    assert (tmp_path / "b" / "domainfit.json").read_text(encoding="utf-8") == original


def test_write_meta_refuses_a_dict_it_does_not_type(tmp_path):
    with pytest.raises(BundleError, match="model.pooling: Input should be 'mean', 'cls' or 'tokens'"):
        write_meta(tmp_path, {"format_version": FORMAT_VERSION, "task": "classification", "labels": ["a"], "method": "head",
                              "backbone": {"name": "tiny"}, "model": {"pooling": "max"}})
    assert not (tmp_path / "domainfit.json").exists()


def test_a_minimal_bundle_gets_the_defaults(tmp_path):
    """What older or hand-written bundles hold (the model registry's tests write only these keys)."""
    minimal = {"format_version": FORMAT_VERSION, "task": "classification", "labels": ["card", "loan"], "method": "head",
               "backbone": {"name": "tiny-bert"}}
    (tmp_path / "domainfit.json").write_text(json.dumps(minimal), encoding="utf-8")
    meta = read_meta(tmp_path)
    assert meta.model.pooling == "mean" and meta.model.max_length == 128 and meta.model.encoder.format == "transformers"
    assert meta.task_options == meta.task_state == meta.config == meta.training == {} and meta.created is None
    assert meta.to_dict() == {**minimal, **BundleMeta.model_validate(minimal).to_dict()}  # defaults, no Nones written
    assert "timings" not in meta.to_dict() and "path" not in meta.to_dict()["backbone"]
