"""`data issues`: cleanlab finds planted label errors (classes, several labels, entity tags); --fix writes a cleaned
copy and never touches the input; bad inputs give clear errors."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from domainfit.cli.main import app
from domainfit.data import label_issues as li
from domainfit.errors import BundleError, DataError
from domainfit.labelling.issues import issues_in_file
from tests.conftest import INTENTS, make_rows, write_csv
from tests.unit.labelling.conftest import plant_errors


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_planted_errors_in_separable_features_are_found():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 16)) * 3
    y = rng.integers(0, 4, 200)
    x = centers[y] + rng.normal(size=(200, 16))
    noisy = y.copy()
    flipped = rng.choice(200, 10, replace=False)
    noisy[flipped] = (noisy[flipped] + 1) % 4
    probs = li.out_of_fold_probs(x, noisy, 4, seed=0)
    report = li.find_label_issues([f"text {i}" for i in range(200)], noisy, list("abcd"), probs, features=x)
    found = set(report.issues["position"])
    assert len(found & set(flipped)) >= 9  # recall
    assert len(found - set(flipped)) <= 4  # precision
    top = report.issues.iloc[0]
    assert top["suggested_label"] == "abcd"[y[int(top["position"])]]  # the suggestion is the true class
    assert report.confused["count"].sum() > 0 and set(report.confused.columns) >= {"class_a", "class_b", "count"}


def test_the_out_of_fold_model_chooses_its_regularisation_by_held_out_log_loss():
    rng = np.random.default_rng(0)  # a small table: C = 10 over-fits it, and its held-out log-loss says so
    centers = rng.normal(size=(4, 16)) * 3
    y = rng.integers(0, 4, 200)
    x = centers[y] + rng.normal(size=(200, 16))
    y[:10] = (y[:10] + 1) % 4
    chosen = li.out_of_fold_probs(x, y, 4, seed=0)
    by_c = {c: li.out_of_fold_probs(x, y, 4, C=c, seed=0) for c in li.C_CANDIDATES}
    losses = {c: -np.mean(np.log(p[np.arange(200), y])) for c, p in by_c.items()}
    best = min(losses, key=losses.get)
    assert np.allclose(chosen, by_c[best]) and len(set(losses.values())) == len(losses)


def test_data_issues_finds_planted_rows_and_writes_every_table(noisy_csv, tmp_path):
    path, planted = noisy_csv
    before = _sha(path)
    result = issues_in_file(path, tmp_path / "out", features="tfidf", fix="relabel")
    issues = pd.read_csv(tmp_path / "out" / "issues.csv")
    assert set(issues["row"]) == set(planted)  # every planted row and nothing else (rows as the editor shows them)
    assert list(issues.columns[:5]) == ["row", "text", "given_label", "suggested_label", "confidence"]
    for name in ("confused_pairs", "near_duplicates", "outliers", "changes", "cleaned", "report"):
        assert name in result.files
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert issues["text"].iloc[0] in html and "疑似标注错误" in html
    cleaned = pd.read_csv(tmp_path / "out" / "cleaned.csv")
    original = pd.read_csv(path)
    truth = {r: original.loc[r - 2, "text"] for r in planted}
    changes = pd.read_csv(tmp_path / "out" / "changes.csv")
    assert set(changes["row"]) == set(planted) and (changes["action"] == "relabel").all()
    assert len(cleaned) == len(original)
    for r in planted:  # relabelled to the intent its words carry: the label it had before planting
        assert cleaned.loc[r - 2, "text"] == truth[r]
        assert cleaned.loc[r - 2, "label"] == changes.set_index("row").loc[r, "new_label"] != original.loc[r - 2, "label"]
    assert _sha(path) == before  # the input is never edited
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["label_issues"] == len(planted)


def test_fix_drop_writes_cleaned_copy_and_leaves_input(noisy_csv, tmp_path):
    path, planted = noisy_csv
    before = _sha(path)
    result = CliRunner().invoke(app, ["data", "issues", str(path), "-o", str(tmp_path / "o"), "--features", "tfidf",
                                      "--fix", "drop"])
    assert result.exit_code == 0, result.output
    assert "suspected label errors" in result.output
    cleaned = pd.read_csv(tmp_path / "o" / "cleaned.csv")
    assert len(cleaned) == len(pd.read_csv(path)) - len(planted)
    assert _sha(path) == before


def test_fix_refuses_to_overwrite_the_input(noisy_csv):
    path, _ = noisy_csv
    cleaned = path.parent / "cleaned.csv"
    cleaned.write_bytes(path.read_bytes())
    before = _sha(cleaned)
    with pytest.raises(DataError, match="overwrite the input"):
        issues_in_file(cleaned, path.parent, features="tfidf", fix="drop")
    assert _sha(cleaned) == before


def test_multilabel_planted_errors_are_found(noisy_multilabel):
    path, planted = noisy_multilabel
    report = issues_in_file(path, task="multilabel", features="tfidf").report
    found = set(report.issues["position"])
    # cleanlab's multi-label filter is conservative on 120 rows: a third of the planted rows, and little else
    assert len(found & set(planted)) >= len(planted) // 3
    assert len(found & set(planted)) >= 0.8 * len(found)


def test_entity_tag_errors_are_found_and_dropped(noisy_conll, tmp_path):
    path, planted = noisy_conll
    result = issues_in_file(path, tmp_path / "n", fix="drop")
    found = set(zip(result.report.issues["position"], result.report.issues["token_index"]))
    assert len(found & set(planted)) >= len(planted) * 0.6
    assert (tmp_path / "n" / "cleaned.conll").is_file()
    changes = pd.read_csv(tmp_path / "n" / "changes.csv")
    assert set(changes["sentence"]) == {p + 1 for p in result.report.issues["position"]}


def test_embeddings_find_near_duplicates_with_different_labels(noisy_csv, tmp_path, minilm_path):
    path, planted = noisy_csv
    rows = pd.read_csv(path)
    twin = pd.DataFrame({"text": [rows.loc[5, "text"]], "label": [next(n for n in ("card", "loan") if n != rows.loc[5, "label"])]})
    data = tmp_path / "twins.csv"
    pd.concat([rows, twin]).to_csv(data, index=False)
    report = issues_in_file(data, model=str(minilm_path)).report
    pairs = set(zip(report.duplicates["position_a"], report.duplicates["position_b"]))
    assert (5, len(rows)) in pairs
    assert len(set(report.issues["position"]) & {p - 2 for p in planted}) >= len(planted) - 1


def test_data_check_deep_adds_the_label_issues(noisy_csv, minilm_path):
    path, planted = noisy_csv
    result = CliRunner().invoke(app, ["data", "check", str(path), "--deep", "--json", "--model", str(minilm_path)])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output[result.output.index("{"):])["label_issues"]
    assert found["label_issues"] >= len(planted) - 1 and found["worst"][0]["suggested_label"]


def test_bad_inputs_say_what_and_how(noisy_csv, tiny_ner_bundle, tmp_path):
    path, _ = noisy_csv
    with pytest.raises(BundleError, match="trained for the task 'ner'"):
        issues_in_file(path, bundle=tiny_ner_bundle)
    with pytest.raises(DataError, match="unknown fix") as info:
        issues_in_file(path, tmp_path, fix="delete")
    assert "drop, relabel, auto" in str(info.value)
    with pytest.raises(DataError, match="unknown features"):
        issues_in_file(path, features="bag")
    with pytest.raises(DataError, match="only one label"):
        issues_in_file(write_csv(tmp_path / "one.csv", [(f"text {i}", "a") for i in range(10)]), features="tfidf")
    conll = tmp_path / "x.conll"
    conll.write_text("a\tB-X\nb\tO\n", encoding="utf-8")
    with pytest.raises(DataError, match="not available for entity"):
        issues_in_file(conll, tmp_path / "o", fix="relabel")
    result = CliRunner().invoke(app, ["data", "issues", str(path), "--fix", "drop"])
    assert result.exit_code != 0 and "-o FOLDER" in str(result.exception or result.output)


def test_fix_auto_relabels_confident_suggestions_and_drops_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(li, "C_CANDIDATES", (1.0,))  # the rule under test, on one fixed model's probabilities
    rows, planted = plant_errors(make_rows(30, seed=1))
    # one more wrong label, on a text that carries two other intents' words: no suggestion can be sure of it
    torn = len(rows) + 2
    data = write_csv(tmp_path / "torn.csv", [*rows, ("card stolen loan mortgage please", "transfer")])
    before = _sha(data)
    result = issues_in_file(data, tmp_path / "a", features="tfidf", fix="auto", relabel_above="class")
    issues = result.report.issues
    changes = pd.read_csv(tmp_path / "a" / "changes.csv", keep_default_na=False).set_index("row")
    assert len({p + 2 for p in planted} & set(changes.index)) >= len(planted) - 2 and torn in changes.index
    confident = issues["confidence"] >= issues["class_threshold"]  # cleanlab's confident threshold of the suggested class
    assert (changes["action"].to_numpy() == np.where(confident, "relabel", "drop")).all()
    assert changes.loc[torn, "action"] == "drop" and (changes["action"] == "relabel").sum() >= len(planted) // 2
    cleaned = pd.read_csv(tmp_path / "a" / "cleaned.csv")
    assert len(cleaned) == len(rows) + 1 - (changes["action"] == "drop").sum()
    original = pd.read_csv(data)
    for r, change in changes[changes["action"] == "relabel"].iterrows():  # the intent its words carry, in place
        text = original.loc[r - 2, "text"]
        assert cleaned.loc[cleaned["text"] == text, "label"].tolist() == [change["new_label"]] != [original.loc[r - 2, "label"]]
        assert set(text.split()) & set(INTENTS[change["new_label"]])
    assert _sha(data) == before
    # a fixed bar instead of the per-class threshold (the default, 0.7): 0 relabels every flagged row, 1 drops them
    assert (li.fix_actions(issues, "auto", relabel_above=0.0) == "relabel").all()
    default = issues_in_file(data, tmp_path / "c", features="tfidf", fix="auto")
    by_default = pd.read_csv(tmp_path / "c" / "changes.csv", keep_default_na=False)
    assert (by_default["action"] == np.where(default.report.issues["confidence"] >= 0.7, "relabel", "drop")).all()
    assert (li.fix_actions(issues, "auto", relabel_above=1.0) == np.where(issues["confidence"] >= 1.0, "relabel", "drop")).all()
    with pytest.raises(DataError, match="between 0 and 1"):
        issues_in_file(data, tmp_path / "b", features="tfidf", fix="auto", relabel_above=1.5)
    with pytest.raises(DataError, match="or 'class'"):
        issues_in_file(data, tmp_path / "b", features="tfidf", fix="auto", relabel_above="often")


def test_texts_unlike_their_label_are_found():
    rng = np.random.default_rng(1)
    centres = np.eye(3, 8) * 4
    y = np.repeat(np.arange(3), 20)
    x = centres[y] + rng.normal(scale=0.3, size=(60, 8))
    x[7] = centres[0] + np.array([0, 0, 0, 0, 0, 0, 0, 4.0])  # labelled 0, near no text of label 0 (nor of any other)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    texts, given = [f"t{i}" for i in range(60)], ["abc"[k] for k in y]
    within = li.class_outliers(x, y, texts, given)
    assert within["position"].iloc[0] == 7 and within["label"].iloc[0] == "a" and len(within) <= 4
    probs = li.out_of_fold_probs(x, y, 3, seed=0)
    report = li.find_label_issues(texts, y, list("abc"), probs, features=x)
    assert 7 in set(report.class_outliers["position"]) and report.summary()["outliers_within_their_label"] == len(report.class_outliers)


def test_knn_graph_is_the_one_cleanlab_builds():
    from cleanlab.internal.neighbor.knn_graph import create_knn_graph_and_index

    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 24)).astype(np.float32)
    x[5] = x[3]  # an exact duplicate: cleanlab's correction must hold
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ours, theirs = li.knn_graph(x), create_knn_graph_and_index(x, metric="cosine")[0]
    assert ours.shape == theirs.shape and ours.nnz == theirs.nnz
    assert (ours.indices == theirs.indices).mean() > 0.99 and np.abs(ours.data - theirs.data).max() < 1e-5
    assert ours[3, 5] == 0 and 5 in ours[3].indices
