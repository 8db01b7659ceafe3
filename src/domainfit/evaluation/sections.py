"""The metric sections of the report, one small function per kind of result, each shown when the metrics hold it:
per class or label, confusion, calibration and errors for classification; per-label thresholds for multi-label;
predicted against true and the largest errors for regression; per entity type, the confusion of entity types and
the sentences with the most mistakes for entity recognition; out-of-scope detection. `SECTIONS` lists them in page order;
`section_titles()` gives their titles in the current language (notes and table headers are translated where built).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from domainfit.evaluation import plots
from domainfit.evaluation._html import MAX_TEXT, _e, _figure, _fixed, _label, _num, _nums, _pct, _table
from domainfit.i18n import _

__all__ = ["SECTIONS", "section_titles"]


def _per_class(metrics: Mapping) -> str:
    """Per class (classification) or per label (multi-label, with each label's decision threshold)."""
    per_class = metrics.get("per_class") or metrics.get("per_label") or metrics.get("per_type") or []
    if not per_class:
        return '<p class="muted">' + _("No per-class scores.") + "</p>"
    thresholds = all("threshold" in r for r in per_class)
    ordered = sorted(per_class, key=lambda r: (r["f1"], str(r["label"])))
    rows = [[_label(r["label"]), _pct(r["precision"]), _pct(r["recall"]),
             f'<span class="bar" style="width:{round(60 * r["f1"])}px"></span>{_pct(r["f1"])}', _num(r["support"]),
             *([_fixed(r["threshold"], 2)] if thresholds else [])]
            for r in ordered]
    note = (_("Sorted by F1, weakest first. Support is the number of rows with that label; a label is predicted where its "
              "probability reaches the threshold tuned on validation.") if thresholds
            else _("Sorted by F1, weakest first. Support is the number of test rows of that class."))
    if "per_type" in metrics:
        note = _("Sorted by F1, weakest first. Support is the number of test entities of that type; an entity counts only "
                 "with its exact words and type (seqeval, strict).")
    note = f'<p class="muted">{note}</p>'
    headers = [_("label"), _("precision"), _("recall"), "F1", _("support")] + ([_("threshold")] if thresholds else [])
    table = _table(headers, rows, cls={0: "label", **_nums(range(1, len(headers)))}, scroll=len(rows) > 25, wide=True)
    return note + table + _figure(plots.per_class_svg(per_class))


def _confusion(metrics: Mapping) -> str:
    confusion = metrics.get("confusion") or {}
    labels, matrix = confusion.get("labels") or [], confusion.get("matrix") or []
    if not labels:
        return '<p class="muted">' + _("No confusion matrix.") + "</p>"
    note = (_("Rows are the true class, columns the predicted one; colour is the share of the true class's rows, numbers "
              "are counts.") if len(labels) <= 20
            else _("Rows are the true class, columns the predicted one; colour is the share of the true class's rows. "
                   "Counts are left out past 20 classes: see the {link}.").format(
                link='<a href="#confused">' + _("most confused pairs") + "</a>"))
    # past 30 classes the figure is shown at full size (scrolling sideways) so its small labels stay readable
    return f'<p class="muted">{note}</p>' + _figure(plots.confusion_svg(matrix, labels), natural=len(labels) > 30)


def _calibration(metrics: Mapping) -> str:
    cal = metrics.get("calibration") or {}
    bins, ece = cal.get("bins") or [], cal.get("ece")
    if not bins:
        return '<p class="muted">' + _("No calibration data.") + "</p>"
    text = ("<p>" + _("Expected calibration error: {ece} (0 is perfect: among predictions made with a confidence of 80%, "
                      "80% are right).").format(ece=f"<b>{_fixed(ece)}</b>") + f" {_calibration_direction(bins)}</p>")
    rows = [[f"{b['lower']:.1f}–{b['upper']:.1f}", _pct(b["confidence"]), _pct(b["accuracy"]), _num(b["count"])]
            for b in bins if b["count"]]
    table = _table([_("confidence bin"), _("mean confidence"), _("accuracy"), _("rows")], rows, cls=_nums(range(1, 4)))
    return text + _figure(plots.reliability_svg(bins, ece)) + table


def _calibration_direction(bins: Sequence[dict]) -> str:
    """One sentence on which way the probabilities lean, so a reader need not decode the curve."""
    used = [b for b in bins if b["count"]]
    total = sum(b["count"] for b in used)
    lean = sum(b["count"] * (b["accuracy"] - b["confidence"]) for b in used) / total
    if abs(lean) < 0.02:
        return _("The probabilities can be read at face value.")
    if lean > 0:
        return _("The curve lies above the diagonal: the model is <b>under-confident</b> (right more often than its "
                 "probabilities say), so a confidence threshold can be set lower than it looks.")
    return _("The curve lies below the diagonal: the model is <b>over-confident</b> (right less often than its "
             "probabilities say); do not read its probabilities as chances without recalibrating.")


def _most_confused(metrics: Mapping) -> str:
    pairs = metrics.get("most_confused") or []
    if not pairs:
        return '<p class="muted">' + _("No confusions: every test row was predicted correctly.") + "</p>"
    rows = [[_label(p["true"]), _label(p["pred"]), _num(p["count"])] for p in pairs]
    return _table([_("true label"), _("predicted as"), _("rows")], rows, cls={0: "label", 1: "label", 2: "num"})


def _worst_errors(metrics: Mapping) -> str:
    errors = metrics.get("worst_errors") or []
    if not errors:
        return '<p class="muted">' + _("None to show (no wrong predictions, or no texts were passed to the metrics).") + "</p>"
    from domainfit.evaluation.explain.html import highlight_html

    rows = []
    for err in errors:
        text = highlight_html(err["explanation"]) if err.get("explanation") else _e(_short(str(err["text"])))
        rows.append([text, _label(err["true"]), _label(err["pred"]), _pct(err["confidence"])])
    explained = next((err["explanation"] for err in errors if err.get("explanation")), None)
    note = ('<p class="muted">' + _("Wrong predictions made with the highest confidence. Read these first: they are often "
                                    "mislabelled rows, otherwise real gaps in the model.")
            + (" " + _("Words tinted green pushed the model towards the wrong label it predicted, red ones away from it "
                       "({method}; hover a word for its weight).").format(method=_e(explained["method"].replace("_", " ")))
               if explained else "") + "</p>")
    return note + _table([_("text"), _("true label"), _("predicted"), _("confidence")], rows,
                         cls={0: "text", 1: "label", 2: "label", 3: "num"}, wide=True)


def _regression_summary(metrics: Mapping) -> str:
    true, pred = metrics.get("true") or {}, metrics.get("predicted") or {}
    facts = ("<p>" + _("Mean absolute error {mae}, root mean squared error {rmse}, R² {r2}, Spearman ρ {spearman}. True "
                       "values: mean {true_mean}, std {true_std}; predictions: mean {pred_mean}, std {pred_std} (a much "
                       "smaller spread than the truth means the model hedges towards the mean).").format(
        mae=f"<b>{_fixed(metrics.get('mae'))}</b>", rmse=f"<b>{_fixed(metrics.get('rmse'))}</b>",
        r2=f"<b>{_fixed(metrics.get('r2'))}</b>", spearman=f"<b>{_fixed(metrics.get('spearman'))}</b>",
        true_mean=_fixed(true.get("mean")), true_std=_fixed(true.get("std")), pred_mean=_fixed(pred.get("mean")),
        pred_std=_fixed(pred.get("std"))) + "</p>")
    scatter = metrics.get("scatter") or {}
    return facts + _figure(plots.scatter_svg(scatter.get("true") or [], scatter.get("pred") or []))


def _largest_errors(metrics: Mapping) -> str:
    errors = metrics.get("worst_errors") or []
    if not errors:
        return '<p class="muted">' + _("None to show (no texts were passed to the metrics).") + "</p>"
    rows = [[_e(_short(str(err["text"]))), _num(err["true"]), _num(err["pred"]), _num(err["error"])] for err in errors]
    note = '<p class="muted">' + _("The test rows predicted furthest from their true value: often a mislabelled row.") + "</p>"
    return note + _table([_("text"), _("true"), _("predicted"), _("error")], rows, cls={0: "text", **_nums(range(1, 4))}, wide=True)


def _entity_confusion(metrics: Mapping) -> str:
    confusion = metrics.get("entity_confusion") or {}
    if not confusion.get("labels"):
        return '<p class="muted">' + _("No entities.") + "</p>"
    note = _("Rows are the true entity type, columns the type predicted for exactly the same words. Row O: entities the "
             "model predicted where there is none with these words (spurious); column O: true entities it did not find "
             "with these exact words (missed, or found with other boundaries).")
    return f'<p class="muted">{note}</p>' + _figure(plots.confusion_svg(confusion["matrix"], confusion["labels"]))


def _entity_errors(metrics: Mapping) -> str:
    errors = metrics.get("entity_errors") or []
    if not errors:
        return '<p class="muted">' + _("None: every test entity was found with its exact words and type.") + "</p>"

    def entities(items: list[dict]) -> str:
        return "; ".join(f"{_e(x['label'])}: {_e(x['text'])}" for x in items) or "—"

    rows = [[_e(_short(err["text"])), entities(err["true"]), entities(err["pred"]), _num(err["missed"]), _num(err["spurious"]),
             _e(err["where"])] for err in errors]
    note = ('<p class="muted">' + _("The test sentences with the most true entities missed (or mistyped) and entities "
                                    "predicted where there is none. Read these first: often inconsistent annotation, "
                                    "otherwise real gaps.") + "</p>")
    return note + _table([_("text"), _("true entities"), _("predicted"), _("missed"), _("spurious"), _("where")], rows,
                         cls={0: "text", 1: "text", 2: "text", 3: "num", 4: "num"}, wide=True)


def _recall_curve(metrics: Mapping) -> str:
    """Retrieval: how often the right answer is within the top k."""
    rows = [[_num(c["k"]), _pct(c["recall"])] for c in metrics.get("recall_curve") or []]
    facts = ("<p>" + _("Of {queries} queries with an answer among the bank's {answers}, the right one comes first for {r1} "
                       "and within the top 10 for {r10}; MRR@10 {mrr} (1: always first).").format(
        queries=_num(metrics.get("n_with_answer")), answers=_num(metrics.get("answers")),
        r1=f"<b>{_pct(metrics.get('recall_at_1'))}</b>", r10=f"<b>{_pct(metrics.get('recall_at_10'))}</b>",
        mrr=f"<b>{_fixed(metrics.get('mrr_at_10'))}</b>") + "</p>")
    return facts + _table([_("top k"), _("recall")], rows, cls=_nums(range(2)))


def _no_answer(metrics: Mapping) -> str:
    """Retrieval: the no-answer threshold and what it does on the test queries."""
    d = metrics.get("no_answer") or {}
    if d.get("threshold") is None:
        return ('<p class="muted">' + _("No threshold (task_options.no_answer: off): the model always answers; a decision "
                                        "is right when its first answer is.") + "</p>")
    out_of_scope = ("; " + _("it refused {refused} of the {n} queries the bank cannot answer").format(
        refused=_pct(d.get("refused_out_of_scope")), n=_num(metrics.get("n_out_of_scope")))) if metrics.get("n_out_of_scope") else ""
    return ("<p>" + _("The model answers when its best score reaches {threshold}. It answered {answered} of the test "
                      "queries, and {correct} of its answers were right; it refused {refused} of the queries that had an "
                      "answer{out_of_scope}. Right decisions (answer when the first answer is right, refuse otherwise): "
                      "{accuracy}.").format(
        threshold=f"<b>{_fixed(d['threshold'])}</b>", answered=_pct(d.get("answered")), correct=_pct(d.get("answered_correct")),
        refused=_pct(d.get("refused_with_answer")), out_of_scope=out_of_scope,
        accuracy=f"<b>{_pct(metrics.get('no_answer_accuracy'))}</b>") + "</p>")


def _misses(metrics: Mapping) -> str:
    """Retrieval: the queries whose right answer ranked lowest."""
    misses = metrics.get("misses") or []
    if not misses:
        return '<p class="muted">' + _("None: every query with an answer got it first.") + "</p>"
    rows = [[_e(_short(m["text"])), _label(m["answer"]), _num(m["rank"]), _label(m["predicted"]), _fixed(m["score"]),
             _fixed(m["answer_score"])] for m in misses]
    note = ('<p class="muted">' + _("Queries whose right answer ranked lowest: often a mislabelled pair, or two answers "
                                    "that overlap.") + "</p>")
    return note + _table([_("query"), _("right answer"), _("its rank"), _("first answer"), _("its score"),
                          _("right answer's score")], rows,
                         cls={0: "text", 1: "label", 2: "num", 3: "label", 4: "num", 5: "num"}, wide=True)


def _out_of_scope(metrics: Mapping) -> str:
    """Classification with an out-of-scope detector: what its threshold costs in-scope and, with out-of-scope test
    rows, what it catches; the trade-off curve with the chosen point."""
    d = metrics.get("out_of_scope") or {}
    acc, plain = d.get("in_scope_accuracy"), d.get("in_scope_accuracy_plain")
    cost = ("<p>" + _("Detector {detector}, threshold {threshold} ({rule}; mode {mode}). On the {n} in-scope test messages it "
                      "refuses {refused}: in-scope accuracy {plain} without refusal, {accuracy} counting a refusal as an "
                      "error").format(
        detector=f"<b>{_e(d.get('detector'))}</b>", threshold=f"<b>{_fixed(d.get('threshold'), 4)}</b>",
        rule=_e(d.get("threshold_rule") or ""), mode=_e(d.get("mode")), n=_num(d.get("in_scope_n")),
        refused=f"<b>{_pct(d.get('refused_in_scope'))}</b>", plain=_pct(plain), accuracy=f"<b>{_pct(acc)}</b>")
            + (" " + _("(the threshold costs {points} points)").format(points=f"{100 * (plain - acc):.1f}")
               if acc is not None and plain is not None else "")
            + _(".") + "</p>")
    if d.get("oos_n"):
        cost += ("<p>" + _("Of the {n} out-of-scope test messages it flags {recall} (precision {precision}); AUROC {auroc}, "
                           "false-positive rate {fpr} at an in-scope recall of 95%.").format(
            n=_num(d["oos_n"]), recall=f"<b>{_pct(d.get('oos_recall'))}</b>", precision=_pct(d.get("oos_precision")),
            auroc=f"<b>{_fixed(d.get('auroc'))}</b>", fpr=_pct(d.get("fpr_at_95"))) + "</p>")
    else:
        cost += ('<p class="muted">' + _("The test split holds no out-of-scope messages, so recall and AUROC are not "
                                         "measured: evaluate on a file whose out-of-scope rows are labelled out_of_scope "
                                         "(or oos, other, 其他).") + "</p>")
    return cost + _figure(plots.ood_tradeoff_svg(d.get("curve") or [], d))


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _classification(metrics: Mapping) -> bool:
    return "confusion" in metrics


SECTIONS: list[tuple[str, str, Callable[[Mapping], bool], Callable[[Mapping], str]]] = [
    ("per-class", "Scores per class", lambda m: "per_class" in m, _per_class),
    ("per-label", "Scores and thresholds per label", lambda m: "per_label" in m, _per_class),
    ("confusion", "Confusion matrix", _classification, _confusion),
    ("calibration", "Calibration", lambda m: "calibration" in m, _calibration),
    ("confused", "Most confused pairs", _classification, _most_confused),
    ("errors", "Most confident errors", _classification, _worst_errors),
    ("out-of-scope", "Out-of-scope detection", lambda m: "out_of_scope" in m and isinstance(m["out_of_scope"], Mapping),
     _out_of_scope),
    ("per-type", "Scores per entity type", lambda m: "per_type" in m, _per_class),
    ("entity-confusion", "Entity types confused", lambda m: "entity_confusion" in m, _entity_confusion),
    ("entity-errors", "Sentences with the most mistakes", lambda m: "entity_errors" in m, _entity_errors),
    ("scatter", "Predicted against true", lambda m: "scatter" in m, _regression_summary),
    ("largest-errors", "Largest errors", lambda m: "scatter" in m, _largest_errors),
    ("recall", "Recall at k", lambda m: "recall_curve" in m, _recall_curve),
    ("no-answer", "The no-answer decision", lambda m: "no_answer" in m, _no_answer),
    ("misses", "Worst misses", lambda m: "misses" in m, _misses),
]
"""(anchor, title, shown when, build): the metric sections, in page order."""


def section_titles() -> dict[str, str]:
    """The sections' titles in the current language, by anchor (SECTIONS holds the English ones)."""
    return {
        "per-class": _("Scores per class"), "per-label": _("Scores and thresholds per label"),
        "confusion": _("Confusion matrix"), "calibration": _("Calibration"), "confused": _("Most confused pairs"),
        "errors": _("Most confident errors"), "out-of-scope": _("Out-of-scope detection"),
        "per-type": _("Scores per entity type"), "entity-confusion": _("Entity types confused"),
        "entity-errors": _("Sentences with the most mistakes"), "scatter": _("Predicted against true"),
        "largest-errors": _("Largest errors"), "recall": _("Recall at k"), "no-answer": _("The no-answer decision"),
        "misses": _("Worst misses"),
    }
