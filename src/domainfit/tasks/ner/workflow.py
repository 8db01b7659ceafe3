"""The `ner` task's workflow (`NerTask.workflow`, see `domainfit.interfaces.Workflow`): train, predict, evaluate and check
entity data.

    CoNLL / JSONL ─ner.data (read, sentences with errors left out, split, report)→ train/val/test sentences
      ─baselines (dictionary)→ tags on the test sentences
      ─ner.training (windows of word pieces; method.adapt; shared loop, early stopping on entity F1)→ TextModel
        with pooling "tokens" ─save_model→ bundle ─ner.evaluate (through NerPredictor)→ metrics.json, report.html
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from domainfit.bundle import Bundle, BundleMeta, load_bundle, write_json
from domainfit.config.schema import DataConfig, TrainConfig
from domainfit.data.checks import DataReport
from domainfit.errors import BundleError, ConfigError, EmptyDataError
from domainfit.i18n import _
from domainfit.interfaces import GateSplit, Reporter
from domainfit.tasks.ner.data import kept_sentences, prepare_ner, problem_issues, write_rejects, write_sentences
from domainfit.tasks.ner.evaluate import assess_ner, run_ner_baselines
from domainfit.tasks.ner.io import Fields, Sentence, read_ner
from domainfit.tasks.ner.live import entity_stats
from domainfit.tasks.ner.pool import BUDGET, SentencePool
from domainfit.tasks.ner.predictor import NerPredictor
from domainfit.tasks.ner.training import fit_tokens
from domainfit.tasks.skeleton import Opened, Prepared, log_warnings, train_bundle

__all__ = ["WORKFLOW", "NerWorkflow", "check_data", "evaluate_bundle", "test_split"]

SPLITS_DIR = "data"


def _check_stride(task, max_length: int, tokenizer) -> int:
    """The window stride, checked against the pieces a window holds (before any work)."""
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    stride = task.stride(max_length)
    if stride >= budget:
        raise ConfigError([("task_options.stride", _("{stride} word pieces shared between windows, but a window holds only "
                                                     "{budget} (model.max_length {max_length} less the special tokens); "
                                                     "use at most {most}, or leave it out for a quarter of max_length").format(
                                                         stride=stride, budget=budget, max_length=max_length, most=budget - 1))])
    return stride


class NerWorkflow:
    """The Workflow of entity recognition (see `domainfit.interfaces.Workflow`)."""

    budget = BUDGET
    live_stats = staticmethod(entity_stats)

    def train(self, cfg: TrainConfig, *, output: Path, resume: bool, reporter: Reporter) -> Path:
        return train_bundle(cfg, output, steps=self, resume=resume, reporter=reporter)

    def prepare(self, cfg: TrainConfig, *, task, opened: Opened, method, out: Path, reporter: Reporter) -> Prepared:
        _check_stride(task, cfg.model.max_length, opened.tokenizer)
        data = prepare_ner(cfg.data, repair=task.options.repair_tags, tokenizer=opened.tokenizer, max_length=cfg.model.max_length)
        labels = task.label_set(data.types)
        write_rejects(data.rejects, out / "rejects.csv")
        write_json(out / "data_report.json", data.report.to_dict())
        (out / SPLITS_DIR).mkdir(exist_ok=True)
        for role in ("train", "val", "test"):
            write_sentences(getattr(data, role), out / SPLITS_DIR / f"{role}.jsonl")
        log_warnings(data.report, reporter)
        c = data.report.counts
        summary = _("data: {read} sentences in, {kept} kept, {left_out} left out and {skipped} lines skipped "
                    "(→ rejects.csv); train {train} / val {val} / test {test} sentences; entity types {types}").format(
                        read=c["rows_in"], kept=c["rows_kept"], left_out=c["rows_rejected"], skipped=c["lines_skipped"],
                        train=c["train"], val=c["val"], test=c["test"], types=", ".join(data.types))
        return Prepared(data, labels, data.report, _fingerprint(data), summary)

    def baselines(self, cfg: TrainConfig, *, task, opened: Opened, prepared: Prepared, reporter: Reporter) -> dict:
        data = prepared.data
        return run_ner_baselines(cfg.baselines or [], data.train, data.test, prepared.labels, reporter=reporter) if data.test else {}

    def fit(self, cfg: TrainConfig, *, task, opened: Opened, prepared: Prepared, method, out: Path, resume: bool,
            reporter: Reporter):
        return fit_tokens(cfg, method=method, task=task, encoder=opened.encoder, tokenizer=opened.tokenizer,
                          labels=prepared.labels, train=prepared.data.train, val=prepared.data.val,
                          backbone_sha256=opened.backbone.sha256, output=out, resume=resume, reporter=reporter)

    def extend_meta(self, meta: BundleMeta, *, task, prepared: Prepared, fit) -> None:
        pass

    def assess(self, out: Path, *, cfg: TrainConfig, prepared: Prepared, baseline_scores: dict, fit, reporter: Reporter) -> None:
        if prepared.data.test:
            assess_ner(out, prepared.data.test, baseline_tags=baseline_scores, history=fit.history, train_seconds=fit.seconds,
                       title=f"domainfit: ner with {cfg.method}")
        else:
            reporter.log(_("no test sentences: the bundle has no metrics (pass data.test to measure it)"))

    def make_predictor(self, bundle: Bundle, **predictor_kwargs):
        return NerPredictor(bundle, **predictor_kwargs)

    def evaluate_bundle(self, bundle_path, data_path, **kwargs) -> dict:
        return evaluate_bundle(bundle_path, data_path, **kwargs)

    def check_data(self, cfg: DataConfig, *, task, tokenizer=None, max_length: int = 128, model_name: str | None = None) -> DataReport:
        return check_data(cfg, task=task, tokenizer=tokenizer, max_length=max_length, model_name=model_name)

    def test_split(self, bundle: Bundle) -> GateSplit:
        return test_split(bundle)

    def open_pool(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> SentencePool:
        return SentencePool(cfg, task, tokenizer=tokenizer, model_name=model_name, folder=folder)


def _fingerprint(data) -> str:
    h = hashlib.sha256()
    for role in ("train", "val", "test"):
        h.update(role.encode())
        for s in getattr(data, role):
            h.update(("\x1f".join(s.tokens) + "\x1d" + "\x1f".join(s.tags) + "\x1e").encode())
    return h.hexdigest()


def _read_split(bundle: Bundle, role: str) -> list[Sentence]:
    path = bundle.path / SPLITS_DIR / f"{role}.jsonl"
    return read_ner(path).sentences if path.is_file() and path.stat().st_size else []


def test_split(bundle: Bundle):
    """The test sentences saved at training time (data/test.jsonl), as the compression parity gate and `domainfit bench`
    read them: texts, gold BIO tags, and their scores on the sentences' own words (`NerPredictor.score_sentences`)."""
    sentences = _read_split(bundle, "test")
    if not sentences:
        raise BundleError(_("the bundle has no test sentences ({path} is missing or empty): a compressed variant is checked "
                            "against them").format(path=bundle.path / SPLITS_DIR / "test.jsonl"), where=str(bundle.path),
                          hint=_("retrain with a test file (data.test) or a test share (data.test_size)"))
    return GateSplit([s.text for s in sentences], [s.tags for s in sentences], lambda p: p.score_sentences(sentences))


def evaluate_bundle(bundle_path: str | Path, data_path: str | Path, *, out_dir: str | Path | None = None,
                    text_column: str | None = None, label_column: str | None = None, encoding: str | None = None,
                    baseline_names: Sequence[str] | None = None, reporter=None) -> dict:
    """Metrics and report of an entity bundle on a labelled CoNLL/JSONL file (sentences with errors left out and
    listed in rejects.csv), beside the baselines re-fit on the bundle's training sentences. `text_column` and
    `label_column` name a JSON record's fields where they are not the standard ones (see domainfit.tasks.ner.io.Fields)."""
    bundle = load_bundle(bundle_path)
    out = Path(out_dir) if out_dir else bundle.path / "evaluations" / Path(data_path).stem
    out.mkdir(parents=True, exist_ok=True)
    task = bundle.make_task()
    data = read_ner(data_path, encoding=encoding, repair=task.options.repair_tags, fields=Fields(text_column, label_column))
    test, rejects = kept_sentences(data)
    write_rejects(rejects, out / "rejects.csv")
    if not test:
        raise EmptyDataError(_("no sentence of {path} can be evaluated ({n} read)").format(path=data_path, n=len(data.sentences)),
                             where=str(data_path),
                             hint=_("run `domainfit data check {path}` to see every problem with its line").format(path=data_path))
    names = list(bundle.meta.config.get("baselines") or [] if baseline_names is None else baseline_names)
    train = _read_split(bundle, "train")
    baseline_tags = run_ner_baselines(names, train, test, bundle.labels, reporter=reporter) if train else {}
    report = {"issues": [i.to_dict() for i in problem_issues({"test": data})], "files": [{"path": str(data_path), "format": data.format,
              "rows": len(data.sentences), "encoding": data.encoding}],
              "counts": {"sentences": len(data.sentences), "evaluated": len(test), "left_out": len(data.sentences) - len(test)}}
    return assess_ner(bundle.path, test, baseline_tags=baseline_tags, out_dir=out, data_report=report,
                      title=f"domainfit evaluation on {Path(data_path).name}", train_seconds=bundle.meta.training.get("seconds"))


def check_data(cfg: DataConfig, *, task, tokenizer=None, max_length: int = 128, model_name: str | None = None) -> DataReport:
    """The report training would give (files, problems with file:line, sentences and entities per split)."""
    return prepare_ner(cfg, repair=task.options.repair_tags, tokenizer=tokenizer, max_length=max_length).report


WORKFLOW = NerWorkflow()
