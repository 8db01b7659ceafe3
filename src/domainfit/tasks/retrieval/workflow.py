"""The retrieval workflow (`RetrievalTask.workflow`, see `domainfit.interfaces.Workflow`): train → bundle, the Predictor,
evaluate, data check, the parity gate's split, compare's pool.

    pairs + bank ─prepare_pairs→ splits (query, answer id), bank ─baselines (bm25, backbone; thresholds on val)→
    ─fit_bi_encoder (method.adapt + the shared loop; zeroshot: none)→ encoder ─index_model→ TextModel(head = bank)
    ─task.tune (no-answer threshold on val)→ ─save→ bundle (+ index/answers.csv) ─assess_and_report→ metrics, report

The bundle is an ordinary one (model/, domainfit.json, metrics.json, report.html, data/, rejects.csv), plus
`index/answers.csv`; its model's head holds the bank's embeddings (see `domainfit.tasks.retrieval`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from domainfit.backbones import FrozenEncoder
from domainfit.bundle import Bundle, BundleMeta, IndexMeta, load_bundle
from domainfit.config.schema import DataConfig, TrainConfig
from domainfit.data import DataReport, write_rejects
from domainfit.data.clean import cleaner_for
from domainfit.evaluation.assess import assess_and_report, frozen_backbone
from domainfit.evaluation.live import single_label_stats
from domainfit.i18n import _
from domainfit.interfaces import GateSplit, Reporter
from domainfit.predict import Predictor
from domainfit.registry import baselines
from domainfit.tasks.retrieval.baselines import tuned_baselines
from domainfit.tasks.retrieval.data import prepare_pairs, read_eval_pairs
from domainfit.tasks.retrieval.pool import BUDGET, PairsPool
from domainfit.tasks.retrieval.train import fit_bi_encoder
from domainfit.tasks.skeleton import Opened, Prepared, model_scores, rows_fingerprint, train_bundle, write_data_files
from domainfit.tasks.table import assess_split, csv_test_split

__all__ = ["ANSWERS_FILE", "WORKFLOW", "RetrievalWorkflow", "check_data", "evaluate_bundle", "read_bank"]

ANSWERS_FILE = "index/answers.csv"


def read_bank(bundle: Bundle) -> dict[str, str]:
    """The bundle's answer bank, id -> text, in index (head row) order."""
    frame = pd.read_csv(bundle.path / ANSWERS_FILE, dtype=str, keep_default_na=False)
    return dict(zip(frame["id"], frame["answer"]))


def check_data(cfg: DataConfig, *, task, tokenizer=None, max_length: int = 128, model_name: str | None = None) -> DataReport:
    """What `prepare_pairs` finds, writing nothing."""
    return prepare_pairs(cfg, task=task, tokenizer=tokenizer, max_length=max_length, model_name=model_name).report


class RetrievalWorkflow:
    """The Workflow of retrieval (see `domainfit.interfaces.Workflow`)."""

    budget = BUDGET
    live_stats = staticmethod(single_label_stats)  # one answer per query, refused ones under their best answer

    def train(self, cfg: TrainConfig, *, output: Path, resume: bool, reporter: Reporter) -> Path:
        """Train (or, for zeroshot, only index) and write the bundle into `output`."""
        return train_bundle(cfg, output, steps=self, resume=resume, reporter=reporter)

    def prepare(self, cfg: TrainConfig, *, task, opened: Opened, method, out: Path, reporter: Reporter) -> Prepared:
        data = prepare_pairs(cfg.data, task=task, tokenizer=opened.tokenizer, max_length=cfg.model.max_length,
                             model_name=opened.backbone.name)
        bank = dict(zip(data.bank["id"], data.bank["answer"]))
        write_data_files(out, data, reporter)
        (out / ANSWERS_FILE).parent.mkdir(parents=True, exist_ok=True)
        data.bank[["id", "answer"]].to_csv(out / ANSWERS_FILE, index=False, encoding="utf-8")
        c = data.report.counts
        summary = _("data: {read} pairs in, {kept} kept, {rejected} rejected (→ rejects.csv); train {train} / val {val} / "
                    "test {test}; {answers} answers").format(
                        read=c["rows_in"], kept=c["rows_kept"], rejected=c["rows_rejected"], train=len(data.train),
                        val=len(data.val), test=len(data.test), answers=len(bank))
        return Prepared(data, data.labels, data.report, rows_fingerprint(data), summary, extra={"bank": bank})

    def baselines(self, cfg: TrainConfig, *, task, opened: Opened, prepared: Prepared, reporter: Reporter) -> dict:
        data = prepared.data
        if not len(data.test):
            return {}
        frozen = FrozenEncoder(opened.encoder, opened.tokenizer, name=opened.backbone.name, weights_sha256=opened.backbone.sha256,
                               pooling=opened.pooling, normalize=True, max_length=cfg.model.max_length, progress=reporter.progress)
        return tuned_baselines(cfg.baselines or [], train=data.train, val=data.val, test=data.test, bank=prepared.extra["bank"],
                               encoder=frozen, task=task, seed=cfg.training.seed, reporter=reporter)

    def fit(self, cfg: TrainConfig, *, task, opened: Opened, prepared: Prepared, method, out: Path, resume: bool,
            reporter: Reporter):
        data = prepared.data
        fit = fit_bi_encoder(cfg, method=method, task=task, encoder=opened.encoder, tokenizer=opened.tokenizer,
                             pooling=opened.pooling, train=data.train, val=data.val, bank=data.bank,
                             backbone_sha256=opened.backbone.sha256, output=out, resume=resume, reporter=reporter)
        task.tune(data.val["label"].tolist(), model_scores(fit.model, task, opened.tokenizer, data.val, cfg.model.max_length),
                  data.labels)
        if task.threshold is not None:
            reporter.log(_("no-answer threshold {threshold} ({rule})").format(threshold=f"{task.threshold:.4f}",
                                                                              rule=task.calibration.get("rule")))
        return fit

    def extend_meta(self, meta: BundleMeta, *, task, prepared: Prepared, fit) -> None:
        meta.model.trainable_parameters = fit.info.get("trainable_parameters", 0)  # the index model is frozen
        meta.index = IndexMeta(answers=len(prepared.extra["bank"]), file=ANSWERS_FILE,
                               vectors="model/head.safetensors: a unit embedding per answer")

    def assess(self, out: Path, *, cfg: TrainConfig, prepared: Prepared, baseline_scores: dict, fit, reporter: Reporter) -> None:
        assess_split(out, prepared.data, baseline_scores=baseline_scores, fit=fit, reporter=reporter,
                     title=f"domainfit: retrieval with {cfg.method}")

    def make_predictor(self, bundle: Bundle, **predictor_kwargs) -> Predictor:
        """The ordinary Predictor (its model's output is the cosine to every answer), its task bound to the bank."""
        predictor = Predictor(bundle, **predictor_kwargs)
        predictor.task.bind(read_bank(bundle))
        return predictor

    def evaluate_bundle(self, bundle_path, data_path, **kwargs) -> dict:
        return evaluate_bundle(bundle_path, data_path, **kwargs)

    def check_data(self, cfg: DataConfig, *, task, tokenizer=None, max_length: int = 128, model_name: str | None = None) -> DataReport:
        return check_data(cfg, task=task, tokenizer=tokenizer, max_length=max_length, model_name=model_name)

    def test_split(self, bundle: Bundle) -> GateSplit:
        return csv_test_split(bundle)  # data/test.csv (query, answer id), as the table tasks

    def open_pool(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> PairsPool:
        return PairsPool(cfg, task, tokenizer=tokenizer, model_name=model_name, folder=folder)


def evaluate_bundle(bundle_path: str | Path, data_path: str | Path, *, out_dir: str | Path | None = None,
                    text_column: str | None = None, label_column: str | None = None, encoding: str | None = None,
                    baseline_names: Sequence[str] | None = None, reporter=None) -> dict:
    """Metrics and report of a retrieval bundle on a pairs file (answers as ids or texts of the bundle's bank, or the
    no-answer marker), beside the baselines (re-fit on the bundle's training split, thresholds on its validation split)."""
    bundle = load_bundle(bundle_path)
    out = Path(out_dir) if out_dir else bundle.path / "evaluations" / Path(data_path).stem
    out.mkdir(parents=True, exist_ok=True)
    cfg = bundle.meta.config
    bank = read_bank(bundle)
    task = bundle.make_task().bind(bank)
    rows, rejects = read_eval_pairs(data_path, task, text_column=text_column, label_column=label_column, encoding=encoding,
                                    clean=cleaner_for(cfg["data"]))
    write_rejects(rejects, out / "rejects.csv")
    names = list(cfg.get("baselines", []) if baseline_names is None else baseline_names)
    scores: dict[str, dict] = {}
    splits = {name: bundle.path / "data" / f"{name}.csv" for name in ("train", "val")}
    if names and all(p.is_file() for p in splits.values()):
        train, val = (pd.read_csv(p, dtype=str, keep_default_na=False) for p in splits.values())
        encoder = frozen_backbone(bundle, reporter) if any(baselines.get(n).needs_encoder for n in names) else None
        usable = [n for n in names if encoder is not None or not baselines.get(n).needs_encoder]
        scores = tuned_baselines(usable, train=train, val=val, test=rows, bank=bank, encoder=encoder, task=task,
                            seed=cfg["training"]["seed"], reporter=reporter)
    return assess_and_report(bundle.path, rows, None, baseline_scores=scores, reporter=reporter, out_dir=out,
                             title=f"domainfit evaluation on {Path(data_path).name}",
                             train_seconds=bundle.meta.training.get("seconds"))


WORKFLOW = RetrievalWorkflow()
