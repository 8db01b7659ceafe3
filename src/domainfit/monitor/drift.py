"""Has live traffic moved away from what the model was tested on? Pure functions from statistics to findings.

Each check compares one distribution of the live window with the bundle's reference (`reference_stats.json`, the
test split at training time) and reports two numbers:

- **how much** it moved: the population stability index, PSI = Σ (live − ref) · ln(live / ref) over the bins
  (label shares, confidence, text length, predicted value), or for the texts themselves the ROC AUC of a classifier
  told to separate reference texts from live ones (0.5: it cannot; 1.0: they are different worlds);
- **whether that is more than chance**: a χ² test of the two count tables (a z-test for the AUC).

A check alerts only when both say so: the change is significant (p < `alpha`) **and** material (PSI ≥ 0.25, or
AUC ≥ 0.65; PSI ≥ 0.1 or AUC ≥ 0.55 warns). With 77 labels and 500 live texts, sampling noise alone gives a PSI near
0.15; the test keeps that from alerting, and the effect size keeps a million texts from alerting on a trifle.

The AUC thresholds read as a share of new texts: when a share π of live texts is unlike anything in the reference
and the rest is as before, the best classifier reaches AUC = 0.5 + π/2. So 0.55 is about 10 % of live traffic new,
0.65 about 30 % (a threshold near 0.75 would need half the traffic new before it alerts).
Below `min_rows` live predictions nothing is judged ("insufficient").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats as sstats

__all__ = ["Check", "DriftThresholds", "compare_stats", "input_drift", "overall_status", "psi"]

STATUSES = ("insufficient", "ok", "warn", "alert")


@dataclass(frozen=True)
class DriftThresholds:
    min_rows: int = 200
    alpha: float = 0.01
    psi_warn: float = 0.1
    psi_alert: float = 0.25
    auc_warn: float = 0.55  # about 10 % of live texts unlike the reference (AUC = 0.5 + share / 2)
    auc_alert: float = 0.65  # about 30 %


@dataclass
class Check:
    """One comparison: its name, the effect size (`psi` or `auc`), the p-value, the status, and the numbers."""

    name: str
    what: str
    statistic: str
    value: float | None
    p_value: float | None
    status: str
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def psi(reference: Sequence[float], live: Sequence[float], smoothing: float = 0.5) -> float:
    """Population stability index of two count (or share) vectors over the same bins, with additive smoothing so
    that an empty bin on one side gives a large but finite value."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(live, dtype=np.float64)
    k = len(ref)
    p = (ref + smoothing) / (ref.sum() + smoothing * k)
    q = (cur + smoothing) / (cur.sum() + smoothing * k)
    return float(np.sum((q - p) * np.log(q / p)))


def _chi2_p(reference: np.ndarray, live: np.ndarray, simulations: int = 4000) -> float | None:
    """p-value of "live and reference counts come from one distribution" (Pearson's chi-square on the 2 x k table).
    Where an expected count is below 5 (a reference of a few dozen rows over 20 bins), the chi-square distribution
    does not hold and its p-value is far too small, so quiet traffic alerted: the p-value is then simulated
    (Monte Carlo under the pooled distribution, as R's `chisq.test(simulate.p.value=TRUE)`; seeded: the same
    counts give the same verdict)."""
    table = np.vstack([reference, live])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return None
    rows = table.sum(axis=1)
    expected = np.outer(rows, table.sum(axis=0)) / table.sum()
    if expected.min() >= 5:
        return float(sstats.chi2_contingency(table, correction=False)[1])
    pooled = table.sum(axis=0) / table.sum()

    def statistic(t: np.ndarray) -> np.ndarray:  # t: (..., 2, k)
        e = t.sum(axis=-1, keepdims=True) * t.sum(axis=-2, keepdims=True) / t.sum(axis=(-1, -2), keepdims=True)
        return np.where(e > 0, (t - e) ** 2 / np.where(e > 0, e, 1), 0).sum(axis=(-1, -2))

    rng = np.random.default_rng(0)
    sims = np.stack([rng.multinomial(int(n), pooled, size=simulations) for n in rows], axis=1)  # (sims, 2, k)
    observed = statistic(table[None].astype(np.float64))[0]
    return float((1 + np.sum(statistic(sims.astype(np.float64)) >= observed - 1e-9)) / (1 + simulations))


def _judge(value: float | None, p: float | None, warn: float, alert: float, t: DriftThresholds) -> str:
    if value is None or p is None or p >= t.alpha:
        return "ok"
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


def _counts_check(name: str, what: str, ref_counts, live_counts, t: DriftThresholds, labels: Sequence[str] | None = None) -> Check:
    ref = np.asarray(ref_counts, dtype=np.float64)
    cur = np.asarray(live_counts, dtype=np.float64)
    value, p = psi(ref, cur), _chi2_p(ref, cur)
    detail: dict = {"reference": ref.tolist(), "live": cur.tolist()}
    if labels is not None:
        ref_share = ref / max(ref.sum(), 1e-12)
        live_share = cur / max(cur.sum(), 1e-12)
        order = np.argsort(-np.abs(live_share - ref_share))[:10]
        detail = {"labels": list(labels), **detail,
                  "largest_changes": [{"label": labels[i], "reference": float(ref_share[i]), "live": float(live_share[i])} for i in order]}
    return Check(name, what, "psi", round(value, 4), p, _judge(value, p, t.psi_warn, t.psi_alert, t), detail)


def _label_basis(stats: dict) -> float:
    """How many label occurrences the shares stand for: texts, or entities for entity recognition."""
    n = stats.get("n") or 0
    per_text = stats.get("mean_entities_per_text")
    return n * per_text if per_text is not None else n


_HISTOGRAMS = (
    ("confidence", "confidence_histogram", "the model's confidence in its top answer"),
    ("length", "length_histogram", "text length in characters"),
    ("value", "value_histogram", "the predicted value"),
)


def compare_stats(reference: dict, live: dict, thresholds: DriftThresholds = DriftThresholds()) -> list[Check]:
    """Every check the two statistics allow (labels, confidence, length, value, out-of-scope share), in that order."""
    t = thresholds
    checks = []
    if live.get("n", 0) < t.min_rows:
        return [Check("volume", "live predictions in the window", "rows", float(live.get("n", 0)), None, "insufficient",
                      {"min_rows": t.min_rows})]
    if "label_distribution" in reference and "label_distribution" in live:
        labels = sorted(set(reference["label_distribution"]) | set(live["label_distribution"]))
        ref = [reference["label_distribution"].get(lab, 0.0) * _label_basis(reference) for lab in labels]
        cur = [live["label_distribution"].get(lab, 0.0) * _label_basis(live) for lab in labels]
        checks.append(_counts_check("labels", "the share of each predicted label", ref, cur, t, labels))
    for name, key, what in _HISTOGRAMS:
        if key in reference and key in live and len(reference[key]["counts"]) == len(live[key]["counts"]):
            check = _counts_check(name, what, reference[key]["counts"], live[key]["counts"], t)
            check.detail["edges"] = reference[key]["edges"]
            mean = {"confidence": "mean_confidence", "length": "mean_length", "value": "mean_value"}[name]
            check.detail["mean"] = {"reference": reference.get(mean), "live": live.get(mean)}
            checks.append(check)
    if reference.get("out_of_scope_rate") is not None and live.get("out_of_scope_rate") is not None:
        checks.append(_out_of_scope_check(reference, live, t))
    return checks


def _out_of_scope_check(reference: dict, live: dict, t: DriftThresholds) -> Check:
    """The share of traffic the out-of-scope detector flags, live against the test split's: messages the model was
    not trained for arriving more often is drift in itself, whatever the labels of the rest do."""
    def counts(stats: dict) -> list[float]:
        n, rate = float(stats.get("n") or 0), float(stats["out_of_scope_rate"])
        return [n * (1 - rate), n * rate]

    check = _counts_check("out_of_scope", "the share of messages the out-of-scope detector flags", counts(reference),
                          counts(live), t, ["in scope", "out of scope"])
    check.detail["rate"] = {"reference": reference["out_of_scope_rate"], "live": live["out_of_scope_rate"]}
    return check


def input_drift(reference_texts: Sequence[str], live_texts: Sequence[str], thresholds: DriftThresholds = DriftThresholds(),
                *, most: int = 2000, seed: int = 0) -> Check:
    """The texts themselves: cross-validated ROC AUC of a TF-IDF + logistic regression classifier that tells live
    texts from reference ones (words for alphabetic scripts, characters for Chinese), with the terms that mark live
    traffic and the live texts least like the reference."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    t = thresholds
    rng = np.random.default_rng(seed)
    n = min(len(reference_texts), len(live_texts), most)
    what = "the texts: can a classifier tell live texts from the test set's?"
    if n < max(20, min(t.min_rows, 50)):
        return Check("input", what, "auc", None, None, "insufficient", {"reference_texts": len(reference_texts), "live_texts": len(live_texts)})
    ref = [reference_texts[i] for i in rng.choice(len(reference_texts), n, replace=False)]
    cur = [live_texts[i] for i in rng.choice(len(live_texts), n, replace=False)]
    texts, y = ref + cur, np.r_[np.zeros(n), np.ones(n)]
    vectorizer = TfidfVectorizer(token_pattern=r"(?u)[\u4e00-\u9fff]|\b\w\w+\b|\[[A-Z_]+\]", ngram_range=(1, 2), min_df=2,
                                 sublinear_tf=True, lowercase=True)
    x = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=1.0, max_iter=2000)
    proba = cross_val_predict(model, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=seed), method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, proba))
    sigma = math.sqrt((2 * n + 1) / (12.0 * n * n))
    p = float(sstats.norm.sf((auc - 0.5) / sigma))
    model.fit(x, y)
    names = vectorizer.get_feature_names_out()
    order = np.argsort(-model.coef_[0])
    terms = [{"term": str(names[i]), "weight": round(float(model.coef_[0][i]), 3)} for i in order[:15] if model.coef_[0][i] > 0]
    live_order = np.argsort(-proba[n:])[:8]
    examples = [{"text": cur[i][:300], "p_live": round(float(proba[n + i]), 3)} for i in live_order]
    status = _judge(auc, p, t.auc_warn, t.auc_alert, t)
    return Check("input", what, "auc", round(auc, 4), p, status,
                 {"compared": n, "live_terms": terms, "least_like_reference": examples})


def overall_status(checks: Sequence[Check]) -> str:
    """The worst status of the checks that were judged ("insufficient" only when nothing could be)."""
    judged = [c.status for c in checks if c.status != "insufficient"]
    if not judged:
        return "insufficient"
    return max(judged, key=STATUSES.index)
