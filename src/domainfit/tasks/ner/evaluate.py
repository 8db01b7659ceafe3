"""Evaluate an entity bundle through its predictor, beside its baselines on the same sentences, and write
metrics.json, report.html and (for the bundle's own test split) reference_stats.json."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from domainfit.bundle import load_bundle
from domainfit.evaluation.assess import write_assessment
from domainfit.i18n import _
from domainfit.registry import baselines
from domainfit.tasks.ner.io import Sentence
from domainfit.tasks.ner.metrics import entity_metrics
from domainfit.tasks.ner.predictor import NerPredictor

__all__ = ["assess_ner", "run_ner_baselines"]


def run_ner_baselines(names: Sequence[str], train: Sequence[Sentence], test: Sequence[Sentence], labels: Sequence[str], *,
                      reporter=None) -> dict[str, dict]:
    """{name: {"tags", "seconds", "description"}} fit on `train`, tagging `test`; a baseline that does not answer
    entity recognition is skipped with a note ({name: {"skipped": why}})."""
    out: dict[str, dict] = {}
    for name in names:
        baseline = baselines.get(name)()
        if "ner" not in baseline.tasks:
            out[name] = {"skipped": f"baseline {name!r} answers {', '.join(sorted(baseline.tasks))}, not ner; skipped"}
            if reporter:
                reporter.log("[note] " + _("baseline {name} answers {tasks}, not {task}; skipped").format(
                    name=repr(name), tasks=", ".join(sorted(baseline.tasks)), task="ner"))
            continue
        if reporter:
            reporter.log(_("baseline {name}: {description}").format(name=name, description=baseline.description))
        t = time.perf_counter()
        tags = baseline.fit_predict([s.tokens for s in train], [s.tags for s in train], [s.tokens for s in test], labels)
        out[name] = {"tags": tags, "seconds": time.perf_counter() - t, "description": baseline.description}
    return out


def assess_ner(bundle_path: str | Path, test: Sequence[Sentence], *, baseline_tags: dict[str, dict], history: list[dict] | None = None,
               train_seconds: float | None = None, title: str = "domainfit report", out_dir: str | Path | None = None,
               data_report: dict | None = None) -> dict:
    """Predict `test` with the bundle (the serving path, on the sentences' own words), compare with the baselines,
    write the files to `out_dir` (default: the bundle). Returns what metrics.json holds."""
    bundle = load_bundle(bundle_path)
    out = Path(out_dir) if out_dir else bundle.path
    out.mkdir(parents=True, exist_ok=True)
    predictor = NerPredictor(bundle)
    task, labels = predictor.task, predictor.labels
    t = time.perf_counter()
    scores = predictor.score_sentences(test)
    infer_s = time.perf_counter() - t
    gold = [s.tags for s in test]
    metrics = task.metrics(gold, scores, labels, texts=test)
    scored, skipped = {}, {}
    for name, b in baseline_tags.items():
        if "skipped" in b:
            skipped[name] = b["skipped"]
            continue
        m = entity_metrics(gold, b["tags"])
        scored[name] = {"metrics": {k: m[k] for k in (*task.summary_metrics, "per_type")}, "seconds": b["seconds"],
                        "description": b["description"]}
    reference = task.reference_stats([s.text for s in test], scores, labels) if out == bundle.path else None
    counts = {"entity types": len({label[2:] for label in labels if label != "O"}), "test sentences": len(test),
              "train sentences": bundle.meta.data.counts.get("train")}
    return write_assessment(bundle, out, task=task, metrics=metrics, baselines=scored, skipped=skipped, n=len(test),
                            infer_s=infer_s, reference=reference, counts=counts, history=history, train_seconds=train_seconds,
                            title=title, data_report=data_report)
