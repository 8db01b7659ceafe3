"""The metric sections of the report, one small function per kind of result, each shown when the metrics hold it:
per class or label, confusion, calibration and errors for classification; per-label thresholds for multi-label;
predicted against true and the largest errors for regression; per entity type, the confusion of entity types and
the sentences with the most mistakes for entity recognition; out-of-scope detection. `SECTIONS` lists them in page order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from domainfit.evaluation import plots
from domainfit.evaluation._html import MAX_TEXT, _e, _figure, _fixed, _label, _num, _nums, _pct, _table

__all__ = ["SECTIONS"]


def _per_class(metrics: Mapping) -> str:
    """Per class (classification) or per label (multi-label, with each label's decision threshold)."""
    per_class = metrics.get("per_class") or metrics.get("per_label") or metrics.get("per_type") or []
    if not per_class:
        return '<p class="muted">No per-class scores.</p>'
    thresholds = all("threshold" in r for r in per_class)
    ordered = sorted(per_class, key=lambda r: (r["f1"], str(r["label"])))
    rows = [[_label(r["label"]), _pct(r["precision"]), _pct(r["recall"]),
             f'<span class="bar" style="width:{round(60 * r["f1"])}px"></span>{_pct(r["f1"])}', _num(r["support"]),
             *([_fixed(r["threshold"], 2)] if thresholds else [])]
            for r in ordered]
    unit = "rows with that label; a label is predicted where its probability reaches the threshold tuned on validation" \
        if thresholds else "test rows of that class"
    if "per_type" in metrics:
        unit = "test entities of that type; an entity counts only with its exact words and type (seqeval, strict)"
    note = f'<p class="muted">Sorted by F1, weakest first. Support is the number of {unit}.</p>'
    headers = ["label", "precision", "recall", "F1", "support"] + (["threshold"] if thresholds else [])
    table = _table(headers, rows, cls={0: "label", **_nums(range(1, len(headers)))}, scroll=len(rows) > 25, wide=True)
    return note + table + _figure(plots.per_class_svg(per_class))


def _confusion(metrics: Mapping) -> str:
    confusion = metrics.get("confusion") or {}
    labels, matrix = confusion.get("labels") or [], confusion.get("matrix") or []
    if not labels:
        return '<p class="muted">No confusion matrix.</p>'
    note = ("Rows are the true class, columns the predicted one; colour is the share of the true class's rows"
            + (", numbers are counts." if len(labels) <= 20 else ". Counts are left out past 20 classes: see the "
               '<a href="#confused">most confused pairs</a>.'))
    # past 30 classes the figure is shown at full size (scrolling sideways) so its small labels stay readable
    return f'<p class="muted">{note}</p>' + _figure(plots.confusion_svg(matrix, labels), natural=len(labels) > 30)


def _calibration(metrics: Mapping) -> str:
    cal = metrics.get("calibration") or {}
    bins, ece = cal.get("bins") or [], cal.get("ece")
    if not bins:
        return '<p class="muted">No calibration data.</p>'
    text = (f"<p>Expected calibration error: <b>{_fixed(ece)}</b> (0 is perfect: among predictions made with 80% "
            f"confidence, 80% are right). {_calibration_direction(bins)}</p>")
    rows = [[f"{b['lower']:.1f}–{b['upper']:.1f}", _pct(b["confidence"]), _pct(b["accuracy"]), _num(b["count"])]
            for b in bins if b["count"]]
    table = _table(["confidence bin", "mean confidence", "accuracy", "rows"], rows, cls=_nums(range(1, 4)))
    return text + _figure(plots.reliability_svg(bins, ece)) + table


def _calibration_direction(bins: Sequence[dict]) -> str:
    """One sentence on which way the probabilities lean, so a reader need not decode the curve."""
    used = [b for b in bins if b["count"]]
    total = sum(b["count"] for b in used)
    lean = sum(b["count"] * (b["accuracy"] - b["confidence"]) for b in used) / total
    if abs(lean) < 0.02:
        return "The probabilities can be read at face value."
    if lean > 0:
        return ("The curve lies above the diagonal: the model is <b>under-confident</b> (right more often than its "
                "probabilities say), so a confidence threshold can be set lower than it looks.")
    return ("The curve lies below the diagonal: the model is <b>over-confident</b> (right less often than its "
            "probabilities say); do not read its probabilities as chances without recalibrating.")


def _most_confused(metrics: Mapping) -> str:
    pairs = metrics.get("most_confused") or []
    if not pairs:
        return '<p class="muted">No confusions: every test row was predicted correctly.</p>'
    rows = [[_label(p["true"]), _label(p["pred"]), _num(p["count"])] for p in pairs]
    return _table(["true label", "predicted as", "rows"], rows, cls={0: "label", 1: "label", 2: "num"})


def _worst_errors(metrics: Mapping) -> str:
    errors = metrics.get("worst_errors") or []
    if not errors:
        return '<p class="muted">None to show (no wrong predictions, or no texts were passed to the metrics).</p>'
    from domainfit.evaluation.explain.html import highlight_html

    rows = []
    for err in errors:
        text = highlight_html(err["explanation"]) if err.get("explanation") else _e(_short(str(err["text"])))
        rows.append([text, _label(err["true"]), _label(err["pred"]), _pct(err["confidence"])])
    explained = next((err["explanation"] for err in errors if err.get("explanation")), None)
    note = ('<p class="muted">Wrong predictions made with the highest confidence. Read these first: they are often '
            "mislabelled rows, otherwise real gaps in the model."
            + (" Words tinted green pushed the model towards the wrong label it predicted, red ones away from it "
               f"({_e(explained['method'].replace('_', ' '))}; hover a word for its weight)."
               if explained else "") + "</p>")
    return note + _table(["text", "true label", "predicted", "confidence"], rows,
                         cls={0: "text", 1: "label", 2: "label", 3: "num"}, wide=True)


def _regression_summary(metrics: Mapping) -> str:
    true, pred = metrics.get("true") or {}, metrics.get("predicted") or {}
    facts = (f"<p>Mean absolute error <b>{_fixed(metrics.get('mae'))}</b>, root mean squared error "
             f"<b>{_fixed(metrics.get('rmse'))}</b>, R² <b>{_fixed(metrics.get('r2'))}</b>, Spearman ρ "
             f"<b>{_fixed(metrics.get('spearman'))}</b>. True values: mean {_fixed(true.get('mean'))}, std "
             f"{_fixed(true.get('std'))}; predictions: mean {_fixed(pred.get('mean'))}, std {_fixed(pred.get('std'))}"
             " (a much smaller spread than the truth means the model hedges towards the mean).</p>")
    scatter = metrics.get("scatter") or {}
    return facts + _figure(plots.scatter_svg(scatter.get("true") or [], scatter.get("pred") or []))


def _largest_errors(metrics: Mapping) -> str:
    errors = metrics.get("worst_errors") or []
    if not errors:
        return '<p class="muted">None to show (no texts were passed to the metrics).</p>'
    rows = [[_e(_short(str(err["text"]))), _num(err["true"]), _num(err["pred"]), _num(err["error"])] for err in errors]
    note = '<p class="muted">The test rows predicted furthest from their true value: often a mislabelled row.</p>'
    return note + _table(["text", "true", "predicted", "error"], rows, cls={0: "text", **_nums(range(1, 4))}, wide=True)


def _entity_confusion(metrics: Mapping) -> str:
    confusion = metrics.get("entity_confusion") or {}
    if not confusion.get("labels"):
        return '<p class="muted">No entities.</p>'
    note = ("Rows are the true entity type, columns the type predicted for exactly the same words. Row O: entities the "
            "model predicted where there is none with these words (spurious); column O: true entities it did not find "
            "with these exact words (missed, or found with other boundaries).")
    return f'<p class="muted">{note}</p>' + _figure(plots.confusion_svg(confusion["matrix"], confusion["labels"]))


def _entity_errors(metrics: Mapping) -> str:
    errors = metrics.get("entity_errors") or []
    if not errors:
        return '<p class="muted">None: every test entity was found with its exact words and type.</p>'

    def entities(items: list[dict]) -> str:
        return "; ".join(f"{_e(x['label'])}: {_e(x['text'])}" for x in items) or "—"

    rows = [[_e(_short(err["text"])), entities(err["true"]), entities(err["pred"]), _num(err["missed"]), _num(err["spurious"]),
             _e(err["where"])] for err in errors]
    note = ('<p class="muted">The test sentences with the most true entities missed (or mistyped) and entities predicted '
            "where there is none. Read these first: often inconsistent annotation, otherwise real gaps.</p>")
    return note + _table(["text", "true entities", "predicted", "missed", "spurious", "where"], rows,
                         cls={0: "text", 1: "text", 2: "text", 3: "num", 4: "num"}, wide=True)


def _recall_curve(metrics: Mapping) -> str:
    """Retrieval: how often the right answer is within the top k."""
    rows = [[_num(c["k"]), _pct(c["recall"])] for c in metrics.get("recall_curve") or []]
    facts = (f"<p>Of {_num(metrics.get('n_with_answer'))} queries with an answer among the bank's "
             f"{_num(metrics.get('answers'))}, the right one comes first for <b>{_pct(metrics.get('recall_at_1'))}</b> and "
             f"within the top 10 for <b>{_pct(metrics.get('recall_at_10'))}</b>; MRR@10 <b>{_fixed(metrics.get('mrr_at_10'))}</b> "
             "(1: always first).</p>")
    return facts + _table(["top k", "recall"], rows, cls=_nums(range(2)))


def _no_answer(metrics: Mapping) -> str:
    """Retrieval: the no-answer threshold and what it does on the test queries."""
    d = metrics.get("no_answer") or {}
    if d.get("threshold") is None:
        return ('<p class="muted">No threshold (task_options.no_answer: off): the model always answers; a decision is '
                "right when its first answer is.</p>")
    out_of_scope = (f"; it refused {_pct(d.get('refused_out_of_scope'))} of the {_num(metrics.get('n_out_of_scope'))} "
                    "queries the bank cannot answer") if metrics.get("n_out_of_scope") else ""
    return (f"<p>The model answers when its best score reaches <b>{_fixed(d['threshold'])}</b>. It answered "
            f"{_pct(d.get('answered'))} of the test queries, and {_pct(d.get('answered_correct'))} of its answers were "
            f"right; it refused {_pct(d.get('refused_with_answer'))} of the queries that had an answer{out_of_scope}. "
            f"Right decisions (answer when the first answer is right, refuse otherwise): "
            f"<b>{_pct(metrics.get('no_answer_accuracy'))}</b>.</p>")


def _misses(metrics: Mapping) -> str:
    """Retrieval: the queries whose right answer ranked lowest."""
    misses = metrics.get("misses") or []
    if not misses:
        return '<p class="muted">None: every query with an answer got it first.</p>'
    rows = [[_e(_short(m["text"])), _label(m["answer"]), _num(m["rank"]), _label(m["predicted"]), _fixed(m["score"]),
             _fixed(m["answer_score"])] for m in misses]
    note = ('<p class="muted">Queries whose right answer ranked lowest: often a mislabelled pair, or two answers that '
            "overlap.</p>")
    return note + _table(["query", "right answer", "its rank", "first answer", "its score", "right answer's score"], rows,
                         cls={0: "text", 1: "label", 2: "num", 3: "label", 4: "num", 5: "num"}, wide=True)


def _out_of_scope(metrics: Mapping) -> str:
    """Classification with an out-of-scope detector: what its threshold costs in-scope and, with out-of-scope test
    rows, what it catches; the trade-off curve with the chosen point."""
    d = metrics.get("out_of_scope") or {}
    acc, plain = d.get("in_scope_accuracy"), d.get("in_scope_accuracy_plain")
    cost = (f"<p>Detector <b>{_e(d.get('detector'))}</b>, threshold <b>{_fixed(d.get('threshold'), 4)}</b> "
            f"({_e(d.get('threshold_rule') or '')}; mode {_e(d.get('mode'))}). On the {_num(d.get('in_scope_n'))} in-scope "
            f"test messages it refuses <b>{_pct(d.get('refused_in_scope'))}</b>: in-scope accuracy "
            f"{_pct(plain)} without refusal, <b>{_pct(acc)}</b> counting a refusal as an error"
            + (f" (the threshold costs {100 * (plain - acc):.1f} points)" if acc is not None and plain is not None else "")
            + ".</p>")
    if d.get("oos_n"):
        cost += (f"<p>Of the {_num(d['oos_n'])} out-of-scope test messages it flags <b>{_pct(d.get('oos_recall'))}</b> "
                 f"(precision {_pct(d.get('oos_precision'))}); AUROC <b>{_fixed(d.get('auroc'))}</b>, false-positive rate "
                 f"at 95% in-scope recall {_pct(d.get('fpr_at_95'))}.</p>")
    else:
        cost += ('<p class="muted">The test split holds no out-of-scope messages, so recall and AUROC are not measured: '
                 "evaluate on a file whose out-of-scope rows are labelled out_of_scope (or oos, other, 其他).</p>")
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
