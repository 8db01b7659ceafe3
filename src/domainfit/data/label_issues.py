"""Which labels are likely wrong: out-of-fold probabilities from a cheap cross-validated model, handed to cleanlab.

Confident learning (Northcutt et al. 2021) is cleanlab's: `Datalab` finds the label issues, the outliers and the
near-duplicates of one-label-per-text data; `cleanlab.dataset.find_overlapping_classes` the most confused class
pairs; `cleanlab.multilabel_classification` and `cleanlab.token_classification` the issues of several labels per
text and of entity tags. scikit-learn gives the out-of-fold probabilities (`cross_val_predict` of a logistic
regression on whatever features the caller has: cached sentence embeddings, TF-IDF, ...). Written here by hand:
only the glue, the word-window features of the token model, the tables a person reads, and `apply_fix`.

Pure functions: arrays and tables in, tables out; deterministic for a seed. No file is read or written here.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "FIXES",
    "RELABEL_ABOVE",
    "LabelIssues",
    "apply_fix",
    "class_outliers",
    "find_label_issues",
    "find_multilabel_issues",
    "find_token_issues",
    "fix_actions",
    "knn_graph",
    "out_of_fold_multilabel_probs",
    "out_of_fold_probs",
    "out_of_fold_token_probs",
    "token_features",
]

FIXES = ("drop", "relabel", "auto")
ISSUE_COLUMNS = ["position", "text", "given_label", "suggested_label", "confidence", "label_quality", "class_threshold"]


@dataclass
class LabelIssues:
    """What was found, as tables a person reads; `position` is the row's 0-based place in the texts given.

    issues: suspected label errors, worst first (text, given_label, suggested_label, confidence = the cross-validated
    model's probability of the suggested label, label_quality = cleanlab's score of the given label, low = suspect,
    class_threshold = cleanlab's confident threshold of the suggested class: the mean probability the model gives
    that class on the rows labelled with it; a confidence at or above it is a confident suggestion, which
    `--fix auto --relabel-above class` relabels, and below it the row is dropped).
    confused: class pairs most often confused (class_a, class_b, count = rows cleanlab sees overlapping, share).
    duplicates: near-duplicate pairs with different labels (position_a, position_b, text_a, text_b, label_a, label_b).
    outliers: texts unlike the rest (position, text, label, outlier_score; low = stranger).
    class_outliers: texts unlike the other texts of their own label (position, text, label, outlier_score: cleanlab's
    nearest-neighbour outlier score among the rows of that label; flagged below Q1 - 1.5 IQR of the label's scores).
    """

    task: str
    rows: int
    issues: pd.DataFrame
    confused: pd.DataFrame = field(default_factory=pd.DataFrame)
    duplicates: pd.DataFrame = field(default_factory=pd.DataFrame)
    outliers: pd.DataFrame = field(default_factory=pd.DataFrame)
    class_outliers: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: str = ""
    notes: list[str] = field(default_factory=list)
    quality: np.ndarray | None = None  # cleanlab's label quality of every row (one label per text), for rankings past the flagged

    def summary(self) -> dict:
        return {"task": self.task, "rows": self.rows, "label_issues": len(self.issues), "confused_pairs": len(self.confused),
                "near_duplicates_with_different_labels": len(self.duplicates), "outliers": len(self.outliers),
                "outliers_within_their_label": len(self.class_outliers), "model": self.model, "notes": list(self.notes)}


# ---------------------------------------------------------------- out-of-fold probabilities (scikit-learn)

def _folds(y: np.ndarray, folds: int) -> int:
    """As many folds as asked, but no more than the rarest class has rows (at least 2)."""
    smallest = int(np.bincount(y).min()) if len(y) else 0
    return max(2, min(folds, smallest)) if smallest else 2


C_CANDIDATES = (1.0, 10.0)


def out_of_fold_probs(features, y: np.ndarray, n_classes: int, *, folds: int = 5, C: float | None = None,
                      seed: int = 0) -> np.ndarray:
    """(n, n_classes) probabilities, each row from a logistic regression that never saw it (stratified k-fold).

    `C=None` (the default) chooses the regularisation from `C_CANDIDATES` by the out-of-fold log-loss against the
    given labels (held-out rows each time, so an honest estimate; the noise is the same for every candidate): a small
    table wants the stronger C = 1 (C = 10 over-fits it and flags right rows), a large one the weaker C = 10 (on
    Banking77 with 10% flipped labels it finds them with precision@k 79.4% against 75.9%; bench/results/label_noise.md).
    """
    if C is not None:
        return _out_of_fold(features, y, n_classes, folds=folds, C=C, seed=seed)
    y = np.asarray(y, dtype=np.int64)
    best, best_loss = None, np.inf
    for c in C_CANDIDATES:
        probs = _out_of_fold(features, y, n_classes, folds=folds, C=c, seed=seed)
        loss = -float(np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None))))
        if loss < best_loss:
            best, best_loss = probs, loss
    return best


def _out_of_fold(features, y: np.ndarray, n_classes: int, *, folds: int, C: float, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = np.asarray(y, dtype=np.int64)
    model = LogisticRegression(C=C, max_iter=1000)
    cv = StratifiedKFold(n_splits=_folds(y, folds), shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # a class rarer than the folds is expected in small tables; the rows still get a score
        warnings.simplefilter("ignore")
        probs = cross_val_predict(model, features, y, cv=cv, method="predict_proba")
    if probs.shape[1] != n_classes:  # a label that never occurs in y: give it no probability
        full = np.zeros((len(y), n_classes))
        full[:, np.unique(y)] = probs
        probs = full
    return probs.astype(np.float64)


def out_of_fold_multilabel_probs(features, y: np.ndarray, *, folds: int = 5, C: float = 1.0, seed: int = 0) -> np.ndarray:
    """(n, k) independent per-label probabilities from one logistic regression per label, out of fold (k-fold)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.multiclass import OneVsRestClassifier

    model = OneVsRestClassifier(LogisticRegression(C=C, max_iter=1000))
    cv = KFold(n_splits=max(2, min(folds, len(y))), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cross_val_predict(model, features, np.asarray(y), cv=cv, method="predict_proba").astype(np.float64)


def token_features(sentences: Sequence[Sequence[str]]) -> list[list[dict]]:
    """Word-window features of each token (the word, its shape, its neighbours): a cheap model for entity tags."""
    out = []
    for words in sentences:
        low = [w.lower() for w in words]
        feats = []
        for i, w in enumerate(low):
            f = {"w=" + w: 1.0, "suffix=" + w[-3:]: 1.0, "upper": float(words[i][:1].isupper()), "digit": float(w.isdigit()),
                 "prev=" + (low[i - 1] if i else "<s>"): 1.0, "next=" + (low[i + 1] if i + 1 < len(low) else "</s>"): 1.0}
            if words[i] and not words[i].isascii():  # Chinese and other unspaced scripts: characters say more than words
                f.update({"char=" + ch: 1.0 for ch in words[i][:4]})
            feats.append(f)
        out.append(feats)
    return out


def out_of_fold_token_probs(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[int]], n_classes: int, *,
                            folds: int = 5, C: float = 1.0, seed: int = 0) -> list[np.ndarray]:
    """Per-token (n_tokens, n_classes) probabilities from a logistic regression on word-window features, out of
    fold by sentence (a sentence's tokens are never scored by a model that saw that sentence)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    feats = [f for s in token_features(sentences) for f in s]
    x = DictVectorizer().fit_transform(feats)
    y = np.array([t for s in tags for t in s], dtype=np.int64)
    groups = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
    probs = np.zeros((len(y), n_classes))
    cv = GroupKFold(n_splits=max(2, min(folds, len(sentences))))
    for train, test in cv.split(x, y, groups):
        classes = np.unique(y[train])
        if len(classes) == 1:
            probs[np.ix_(test, classes)] = 1.0
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegression(C=C, max_iter=1000).fit(x[train], y[train])
        probs[np.ix_(test, model.classes_)] = model.predict_proba(x[test])
    bounds = np.cumsum([0] + [len(s) for s in sentences])
    return [probs[a:b] for a, b in itertools.pairwise(bounds)]


# ---------------------------------------------------------------- one label per text (cleanlab Datalab)

def _confused(y: np.ndarray, probs: np.ndarray, names: Sequence[str], top: int) -> pd.DataFrame:
    from cleanlab.dataset import find_overlapping_classes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = find_overlapping_classes(labels=y, pred_probs=probs)
    pairs = pairs[pairs["Num Overlapping Examples"] > 0].head(top)
    return pd.DataFrame({"class_a": [names[int(i)] for i in pairs["Class Index A"]],
                         "class_b": [names[int(i)] for i in pairs["Class Index B"]],
                         "count": pairs["Num Overlapping Examples"].astype(int).to_numpy(),
                         "share": pairs["Joint Probability"].astype(float).round(5).to_numpy()})


def find_label_issues(texts: Sequence[str], y: np.ndarray, names: Sequence[str], probs: np.ndarray, *,
                      features: np.ndarray | None = None, top_pairs: int = 20, model: str = "") -> LabelIssues:
    """Label issues, confused pairs, and (given dense `features`, e.g. sentence embeddings) outliers and near-duplicates
    with different labels, through cleanlab's Datalab. `y[i]` indexes `names`; `probs` are out of fold."""
    from cleanlab import Datalab
    from cleanlab.count import get_confident_thresholds

    texts = [str(t) for t in texts]
    y = np.asarray(y, dtype=np.int64)
    given = [names[i] for i in y]
    lab = Datalab(data={"text": texts, "label": given}, label_name="label", verbosity=0)
    types: dict = {"label": {}}
    if features is not None and len(texts) > 10:  # the KNN issue types need a few neighbours
        types.update({"outlier": {}, "near_duplicate": {}})
    # Datalab orders the classes by name; give it probabilities in that order
    order = [list(names).index(n) for n in lab.class_names]
    graph = knn_graph(features) if "outlier" in types else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lab.find_issues(pred_probs=probs[:, order], knn_graph=graph, issue_types=types)
    found = lab.get_issues("label")
    flagged = found[found["is_label_issue"]].sort_values("label_score", kind="stable")
    at = flagged.index.to_numpy()
    suggested = flagged["predicted_label"].astype(str).tolist()
    suggested_idx = [list(names).index(s) for s in suggested]
    thresholds = get_confident_thresholds(labels=y, pred_probs=probs)  # per class, in the order of `names`
    issues = pd.DataFrame({"position": at, "text": [texts[i] for i in at], "given_label": [given[i] for i in at],
                           "suggested_label": suggested,
                           "confidence": [round(float(probs[i, j]), 4) for i, j in zip(at, suggested_idx)],
                           "label_quality": flagged["label_score"].round(4).to_numpy(),
                           "class_threshold": [round(float(thresholds[j]), 4) for j in suggested_idx]}, columns=ISSUE_COLUMNS)
    report = LabelIssues(task="classification", rows=len(texts), issues=issues.reset_index(drop=True),
                         confused=_confused(y, probs, names, top_pairs), model=model,
                         quality=found["label_score"].to_numpy())
    if "outlier" in types:
        report.outliers = _outliers(lab, texts, given)
        report.duplicates = _duplicates(lab, texts, given)
        report.class_outliers = class_outliers(features, y, texts, given)
    return report


def class_outliers(features: np.ndarray, y: np.ndarray, texts: list[str], given: list[str], *, k: int = 10,
                   iqr_scale: float = 1.5) -> pd.DataFrame:
    """Texts unlike the other texts of their label: cleanlab's `OutOfDistribution` fit on each label's rows alone
    (score = transformed mean distance to the k nearest rows of that label), flagged below Q1 - iqr_scale x IQR of
    that label's scores (Tukey's fence). Labels with fewer than 6 rows are skipped: too few neighbours to judge."""
    from cleanlab.outlier import OutOfDistribution

    at, scores = [], []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if len(members) < 6:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = OutOfDistribution(params={"k": min(k, len(members) - 1)}).fit_score(features=features[members], verbose=False)
        q1, q3 = np.percentile(score, [25, 75])
        low = score < q1 - iqr_scale * (q3 - q1)
        at += members[low].tolist()
        scores += score[low].tolist()
    order = np.argsort(scores, kind="stable")
    at = [at[i] for i in order]
    return pd.DataFrame({"position": at, "text": [texts[i] for i in at], "label": [given[i] for i in at],
                         "outlier_score": np.round(np.asarray(scores)[order], 4) if at else []},
                        columns=["position", "text", "label", "outlier_score"])


def knn_graph(features: np.ndarray, k: int = 10, block: int = 2048):
    """The cosine k-nearest-neighbour graph Datalab builds for its outlier and near-duplicate checks (k = its
    default 10, exact duplicates corrected by cleanlab's own `correct_knn_distances_and_indices`), computed here by
    blocks of one matrix product instead of scikit-learn's chunked pairwise distances, which took most of the
    `data issues` time on 9,000 texts. Glue: the graph format and the correction are cleanlab's."""
    from cleanlab.internal.neighbor.knn_graph import correct_knn_distances_and_indices
    from scipy.sparse import csr_matrix

    x = np.asarray(features, dtype=np.float32)
    x = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
    n = len(x)
    k = min(k, n - 1)
    distances, indices = np.empty((n, k)), np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        d = 1.0 - x[start:start + block] @ x.T
        np.clip(d, 0.0, 2.0, out=d)
        rows = np.arange(len(d))
        d[rows, start + rows] = np.inf  # a text is not its own neighbour
        near = np.argpartition(d, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(d, near, axis=1), axis=1, kind="stable")
        indices[start:start + block] = np.take_along_axis(near, order, axis=1)
        distances[start:start + block] = np.take_along_axis(d, indices[start:start + block], axis=1)
    distances, indices = correct_knn_distances_and_indices(features=x, distances=distances, indices=indices)
    return csr_matrix((distances.reshape(-1), indices.reshape(-1), np.arange(0, n * k + 1, k)), shape=(n, n))


def _outliers(lab, texts: list[str], given: list[str]) -> pd.DataFrame:
    found = lab.get_issues("outlier")
    flagged = found[found["is_outlier_issue"]].sort_values("outlier_score", kind="stable")
    at = flagged.index.to_numpy()
    return pd.DataFrame({"position": at, "text": [texts[i] for i in at], "label": [given[i] for i in at],
                         "outlier_score": flagged["outlier_score"].round(4).to_numpy()})


def _duplicates(lab, texts: list[str], given: list[str]) -> pd.DataFrame:
    found = lab.get_issues("near_duplicate")
    pairs = sorted({(min(i, int(j)), max(i, int(j))) for i, sets in zip(found.index, found["near_duplicate_sets"])
                    for j in sets if given[i] != given[int(j)]})
    return pd.DataFrame({"position_a": [a for a, _ in pairs], "position_b": [b for _, b in pairs],
                         "text_a": [texts[a] for a, _ in pairs], "text_b": [texts[b] for _, b in pairs],
                         "label_a": [given[a] for a, _ in pairs], "label_b": [given[b] for _, b in pairs]})


# ---------------------------------------------------------------- several labels per text

def find_multilabel_issues(texts: Sequence[str], y: np.ndarray, names: Sequence[str], probs: np.ndarray, *,
                           threshold: float = 0.5, model: str = "") -> LabelIssues:
    """`y`: (n, k) 0/1 matrix; `probs`: (n, k) independent out-of-fold probabilities. cleanlab's multi-label filter
    and ranking; the suggested label set is every label the model gives at least `threshold`."""
    from cleanlab.multilabel_classification.filter import find_label_issues as ml_issues
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    texts = [str(t) for t in texts]
    lists = [list(np.flatnonzero(row)) for row in np.asarray(y)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flagged = ml_issues(labels=lists, pred_probs=probs)
        quality = get_label_quality_scores(labels=lists, pred_probs=probs)
    at = np.flatnonzero(flagged)
    at = at[np.argsort(quality[at], kind="stable")]

    def join(idx) -> str:
        return ";".join(names[j] for j in idx)

    suggested = [np.flatnonzero(probs[i] >= threshold) for i in at]
    issues = pd.DataFrame({"position": at, "text": [texts[i] for i in at], "given_label": [join(lists[i]) for i in at],
                           "suggested_label": [join(s) for s in suggested],
                           "confidence": [round(float(np.prod(np.where(np.isin(np.arange(len(names)), s), probs[i], 1 - probs[i]))), 4)
                                          for i, s in zip(at, suggested)],
                           "label_quality": quality[at].round(4), "class_threshold": 0.5}, columns=ISSUE_COLUMNS)
    counts: dict[tuple[str, str], int] = {}
    for i, s in zip(at, suggested):  # which label was missing or extra, against which
        for a in set(lists[i]) ^ set(s):
            for b in set(lists[i]) | set(s):
                if a != b:
                    key = tuple(sorted((names[a], names[b])))
                    counts[key] = counts.get(key, 0) + 1  # type: ignore[index]
    confused = pd.DataFrame([{"class_a": a, "class_b": b, "count": c} for (a, b), c in
                             sorted(counts.items(), key=lambda kv: -kv[1])[:20]], columns=["class_a", "class_b", "count"])
    return LabelIssues(task="multilabel", rows=len(texts), issues=issues, confused=confused, model=model)


# ---------------------------------------------------------------- entity tags (token classification)

def find_token_issues(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[int]], names: Sequence[str],
                      probs: Sequence[np.ndarray], *, model: str = "") -> LabelIssues:
    """Token tags that look wrong, through cleanlab.token_classification; one row per suspect token, worst first,
    with the sentence's text, the token, its tag and the suggested one. `position` is the sentence's place."""
    from cleanlab.token_classification.filter import find_label_issues as token_issues
    from cleanlab.token_classification.rank import get_label_quality_scores

    tags = [list(map(int, t)) for t in tags]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = token_issues(labels=tags, pred_probs=list(probs))
        _, token_quality = get_label_quality_scores(labels=tags, pred_probs=list(probs))
    rows = []
    for s, t in found:
        j = int(np.argmax(probs[s][t]))
        rows.append({"position": s, "text": " ".join(sentences[s]), "token_index": t, "token": sentences[s][t],
                     "given_label": names[tags[s][t]], "suggested_label": names[j], "confidence": round(float(probs[s][t][j]), 4),
                     "label_quality": round(float(np.asarray(token_quality[s])[t]), 4)})
    issues = pd.DataFrame(rows, columns=["position", "text", "token_index", "token", "given_label", "suggested_label",
                                         "confidence", "label_quality"])
    issues = issues.sort_values("label_quality", kind="stable").reset_index(drop=True)
    confused = (issues.assign(class_a=issues[["given_label", "suggested_label"]].min(axis=1),
                              class_b=issues[["given_label", "suggested_label"]].max(axis=1))
                .groupby(["class_a", "class_b"]).size().rename("count").reset_index()
                .sort_values("count", ascending=False, kind="stable").head(20).reset_index(drop=True))
    return LabelIssues(task="ner", rows=len(sentences), issues=issues, confused=confused, model=model)


# ---------------------------------------------------------------- the fix

RELABEL_ABOVE = 0.7  # --fix auto's default bar: on 10%-noisy Banking77, 98% of the relabels it made were right


def fix_actions(issues: pd.DataFrame, mode: str, *, relabel_above: float | str = RELABEL_ABOVE) -> np.ndarray:
    """What each issue row gets: "drop" or "relabel". "auto" relabels a row whose suggestion is confident (its
    `confidence`, the out-of-fold probability of the suggested label, at least `relabel_above`; "class": at least the
    suggested class's `class_threshold`, cleanlab's per-class confident threshold) and drops the others: a
    suggestion the model is unsure of is about as likely wrong as the label it would replace."""
    if mode not in FIXES:
        raise ValueError(f"fix must be one of {', '.join(FIXES)}, not {mode!r}")
    if mode != "auto":
        return np.full(len(issues), mode, dtype=object)
    if not len(issues):
        return np.array([], dtype=object)
    bar = issues["class_threshold"].to_numpy(dtype=float) if relabel_above == "class" else np.full(len(issues), float(relabel_above))
    return np.where(issues["confidence"].to_numpy(dtype=float) >= bar, "relabel", "drop").astype(object)


def apply_fix(table: pd.DataFrame, issues: pd.DataFrame, label_column: str, mode: str, *,
              rows: Sequence | None = None, relabel_above: float | str = RELABEL_ABOVE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cleaned copy of `table`, changes: one row per row dropped or relabelled). `issues.position` indexes the
    table's rows in order; `rows` names them for a person (the file's row numbers; default position + 1).
    "drop" removes the flagged rows; "relabel" puts the suggested label in `label_column`; "auto" relabels the
    confident suggestions and drops the rest (`fix_actions`). `table` is not modified."""
    shown = list(rows) if rows is not None else list(range(1, len(table) + 1))
    first = issues.drop_duplicates("position") if len(issues) else issues
    actions = fix_actions(first, mode, relabel_above=relabel_above)
    at = first["position"].astype(int).to_numpy() if len(first) else np.array([], dtype=int)
    first = first.set_index("position") if len(first) else first
    relabel = actions == "relabel"
    changes = pd.DataFrame({"row": [shown[i] for i in at], "action": actions,
                            "text": [first.loc[i, "text"] for i in at],
                            "old_label": [str(table.iloc[i][label_column]) for i in at],
                            "new_label": [str(first.loc[i, "suggested_label"]) if r else "" for i, r in zip(at, relabel)],
                            "confidence": [first.loc[i, "confidence"] for i in at]})
    cleaned = table.copy()
    col = cleaned.columns.get_loc(label_column)
    for i in at[relabel]:
        cleaned.iat[int(i), col] = str(first.loc[i, "suggested_label"])
    cleaned = cleaned.drop(index=cleaned.index[at[~relabel]])
    return cleaned.reset_index(drop=True), changes
