"""The recommend workflow (`RecommendTask.workflow`, see `domainfit.interfaces.Workflow`): train → bundle, the
predictor, evaluate, data check, the parity gate's split, live statistics, compare's pool.

    data.items + data.train ─prepare_recommend (checks, rejects, time split)→ interactions, val/test cases
    ─baselines (popular, itemknn, als, backbone_text, bm25_history: same test cases)→
    ─fit_two_tower (method.adapt + the shared loop; zeroshot: none)→ encoder, user tower, index
    ─re-ranker (fitted on validation, kept only if it helps)→ ─save→ bundle (+ index/) ─assess→ metrics, report

The bundle is an ordinary one (model/ with an identity head, domainfit.json, metrics.json, report.html, rejects.csv,
data_report.json) plus `index/` (see `domainfit.tasks.recommend.index`) and `data/` (train.csv interactions;
val/test cases as JSON).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.torch import save_file

from domainfit.backbones import FrozenEncoder
from domainfit.bundle import Bundle, BundleMeta, IndexMeta, load_bundle, write_json
from domainfit.config.schema import DataConfig, TrainConfig
from domainfit.data import DataReport, write_rejects
from domainfit.errors import BundleError
from domainfit.evaluation.assess import frozen_backbone, write_assessment
from domainfit.evaluation.live import single_label_stats
from domainfit.i18n import _
from domainfit.interfaces import GateSplit, Reporter, serves
from domainfit.registry import baselines
from domainfit.tasks.recommend.baselines import RecSplit
from domainfit.tasks.recommend.data import Case, prepare_recommend, read_interactions, split_cases
from domainfit.tasks.recommend.index import INDEX_DIR
from domainfit.tasks.recommend.metrics import exclude, ranking_metrics
from domainfit.tasks.recommend.pool import BUDGET, UsersPool
from domainfit.tasks.recommend.predictor import RecommendPredictor
from domainfit.tasks.recommend.rerank import fit_reranker
from domainfit.tasks.recommend.routes import click_through, routes
from domainfit.tasks.recommend.train import case_scores, fit_two_tower
from domainfit.tasks.skeleton import Opened, Prepared, log_warnings, train_bundle

__all__ = ["WORKFLOW", "RecommendWorkflow", "score_baselines"]

CASES = "data/{}_cases.json"


def _cases_json(cases: list[Case]) -> list[dict]:
    return [{"user": c.user, "history": c.history, "target": c.target} for c in cases]


def read_cases(bundle: Bundle, name: str) -> list[Case]:
    path = bundle.path / CASES.format(name)
    if not path.is_file():
        return []
    return [Case(**c) for c in json.loads(bundle.file(CASES.format(name), key=f"data.{name}").read_text(encoding="utf-8"))]


def popularity_of(train: pd.DataFrame, ids: list[str]) -> np.ndarray:
    counts = train["item"].value_counts()
    return np.array([counts.get(i, 0) for i in ids], dtype=np.float64)


def score_baselines(names: Sequence[str], split: RecSplit, *, encoder, seed: int, reporter) -> dict[str, dict]:
    """{name: {"scores", "seconds", "description"}} or {name: {"skipped": why}}, on the split's cases."""
    out: dict[str, dict] = {}
    for name in names:
        b = baselines.get(name)()
        if not serves(b, "recommend") or not hasattr(b, "score"):
            out[name] = {"skipped": f"baseline {name!r} answers {', '.join(sorted(b.tasks))}, not recommend; skipped"}
            if reporter:
                reporter.log("[note] " + _("baseline {name} answers {tasks}, not {task}; skipped").format(
                    name=repr(name), tasks=", ".join(sorted(b.tasks)), task="recommend"))
            continue
        if b.needs_encoder and encoder is None:
            out[name] = {"skipped": f"baseline {name!r} needs the backbone, which is not at hand; skipped"}
            continue
        t = time.perf_counter()
        if reporter:
            reporter.log(_("baseline {name}: {description}").format(name=name, description=b.description))
        out[name] = {"scores": b.score(split, encoder=encoder, seed=seed), "seconds": time.perf_counter() - t,
                     "description": b.description}
    return out


def _rows(cases: list[Case], row: dict[str, int]) -> list[list[int]]:
    return [[row[i] for i in c.history if i in row] for c in cases]


class RecommendWorkflow:
    budget = BUDGET
    live_stats = staticmethod(single_label_stats)  # one top item per logged prediction
    routes = staticmethod(routes)  # POST /v1/recommend and /v1/items, mounted by the serving app
    feedback_stats = staticmethod(click_through)  # the monitor's click-through of logged recommendations

    def train(self, cfg: TrainConfig, *, output: Path, resume: bool, reporter: Reporter) -> Path:
        return train_bundle(cfg, output, steps=self, resume=resume, reporter=reporter)

    # -- the skeleton's steps
    def prepare(self, cfg: TrainConfig, *, task, opened: Opened, method, out: Path, reporter: Reporter) -> Prepared:
        data = prepare_recommend(cfg.data, task=task)
        out.mkdir(parents=True, exist_ok=True)
        write_rejects(data.rejects, out / "rejects.csv")
        write_json(out / "data_report.json", data.report.to_dict())
        (out / "data").mkdir(exist_ok=True)
        data.train[["user", "item", "time", "event", "weight"]].to_csv(out / "data" / "train.csv", index=False, encoding="utf-8")
        for name in ("val", "test"):
            write_json(out / CASES.format(name), _cases_json(getattr(data, name)))
        log_warnings(data.report, reporter)
        c = data.report.counts
        summary = _("data: {items} items, {kept} interactions kept of {read}, {rejected} rows rejected (→ rejects.csv); "
                    "{users} users; train {train} interactions / val {val} / test {test} cases; {cold} cold items").format(
                        items=c["items"], kept=c["interactions_kept"], read=c["interactions_in"],
                        rejected=c["rows_rejected"], users=c["users"], train=c["train"], val=c["val"], test=c["test"],
                        cold=c["cold_items"])
        h = hashlib.sha256()
        for frame in (data.items[["id", "text"]], data.interactions[["user", "item", "time"]]):
            h.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
        popularity = popularity_of(data.train, data.labels)
        return Prepared(data, data.labels, data.report, h.hexdigest(), summary, extra={"popularity": popularity})

    def _split(self, data, cases: list[Case], task) -> RecSplit:
        row = {item: i for i, item in enumerate(data.labels)}
        return RecSplit(ids=data.labels, texts=data.items["text"].tolist(), train=data.train, histories=_rows(cases, row),
                        history_length=task.options.history_length, decay=task.options.recency_decay)

    def baselines(self, cfg: TrainConfig, *, task, opened: Opened, prepared: Prepared, reporter: Reporter) -> dict:
        data = prepared.data
        if not data.test:
            return {}
        frozen = FrozenEncoder(opened.encoder, opened.tokenizer, name=opened.backbone.name, weights_sha256=opened.backbone.sha256,
                               pooling=opened.pooling, normalize=True, max_length=cfg.model.max_length, progress=reporter.progress)
        names = task.default_baselines if cfg.baselines is None else cfg.baselines
        return score_baselines(names, self._split(data, data.test, task), encoder=frozen, seed=cfg.training.seed,
                               reporter=reporter)

    def fit(self, cfg: TrainConfig, *, task, opened: Opened, prepared: Prepared, method, out: Path, resume: bool,
            reporter: Reporter):
        data = prepared.data
        fit, pooler, index = fit_two_tower(cfg, method=method, task=task, encoder=opened.encoder, tokenizer=opened.tokenizer,
                                           pooling=opened.pooling, data=data, popularity=prepared.extra["popularity"],
                                           backbone_sha256=opened.backbone.sha256, output=out, resume=resume, reporter=reporter)
        folder = out / INDEX_DIR
        index.save(folder)
        save_file({k: v.detach().contiguous().cpu() for k, v in pooler.state_dict().items()}, str(folder / "user_tower.safetensors"))
        users = {u: list(items) for u, items in data.interactions.groupby("user", sort=True)["item"]}
        write_json(folder / "users.json", users)
        task.state_ = {"reranker": {"kept": False, "why": "task_options.rerank: off"}}
        if task.options.rerank == "auto" and data.val:
            scores = case_scores(pooler, index.vectors, data.val, index.row, task.options.history_length)
            hist = _rows(data.val, index.row)
            if task.options.exclude_seen:
                scores = exclude(scores, hist, keep=[index.row[c.target] for c in data.val])
            ranker, facts = fit_reranker(scores, hist, [index.row[c.target] for c in data.val], index, seed=cfg.training.seed)
            if ranker is not None:
                ranker.save(folder / "reranker.json")
            task.state_ = {"reranker": facts}
            reporter.log((_("re-ranker: kept") if facts["kept"] else _("re-ranker: not kept"))
                         + f" ({json.dumps({k: v for k, v in facts.items() if k != 'kept'})})")
        fit.info["user_tower"] = task.options.user_tower
        return fit

    def extend_meta(self, meta: BundleMeta, *, task, prepared: Prepared, fit) -> None:
        meta.model.trainable_parameters = fit.info.get("trainable_parameters", 0)
        meta.index = IndexMeta(answers=len(prepared.labels), file=f"{INDEX_DIR}/items.json",
                               vectors=f"{INDEX_DIR}/vectors.safetensors: a unit embedding per item")

    def assess(self, out: Path, *, cfg: TrainConfig, prepared: Prepared, baseline_scores: dict, fit, reporter: Reporter) -> None:
        data = prepared.data
        if not data.test:
            reporter.log(_("no test cases: the bundle has no metrics"))
            return
        assess_cases(out, data.test, baseline_scores=baseline_scores, history=fit.history, train_seconds=fit.seconds,
                     title=f"domainfit: recommend with {cfg.method}", reporter=reporter)

    # -- the Workflow members
    def make_predictor(self, bundle: Bundle, **predictor_kwargs) -> RecommendPredictor:
        return RecommendPredictor(bundle, **predictor_kwargs)

    def evaluate_bundle(self, bundle_path, data_path, **kwargs) -> dict:
        return evaluate_bundle(bundle_path, data_path, **kwargs)

    def check_data(self, cfg: DataConfig, *, task, tokenizer=None, max_length: int = 128, model_name: str | None = None) -> DataReport:
        return prepare_recommend(cfg, task=task).report

    def test_split(self, bundle: Bundle) -> GateSplit:
        """The test cases; a predictor scores them by embedding every history item's text with the variant it runs
        (so the gate measures the variant, not the index it was built with)."""
        cases = read_cases(bundle, "test")
        if not cases:
            raise BundleError(_("the bundle has no test cases ({path})").format(path=bundle.path / CASES.format("test")),
                              where=str(bundle.path),
                              hint=_("retrain with users of 2+ interactions, so leave_last_out has test cases"))
        predictor = RecommendPredictor(bundle, variant="torch")
        texts = [predictor.index.texts[predictor.index.row[i]] for c in cases for i in c.history if i in predictor.index.row]

        def score(p) -> np.ndarray:
            return _gate_scores(p, cases)

        return GateSplit(texts, [c.target for c in cases], score)

    def open_pool(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> UsersPool:
        return UsersPool(cfg, task, folder=folder)


def _gate_scores(predictor, cases: list[Case]) -> np.ndarray:
    scores = predictor.history_scores([c.history for c in cases], embed_known=True, rerank=False)
    if predictor.options.exclude_seen:  # seen items below every cosine (finite: the gate compares score differences)
        seen = exclude(scores, [predictor.index.rows(c.history) for c in cases], keep=[predictor.index.row[c.target] for c in cases])
        scores = np.where(np.isfinite(seen), scores, -2.0).astype(np.float32)
    return scores


def assess_cases(bundle_path: Path, cases: list[Case], *, baseline_scores: dict, history, train_seconds, title: str,
                 reporter, out_dir: Path | None = None) -> dict:
    """metrics.json, reference_stats.json and report.html: the model (through its predictor, with and without the
    re-ranker) and every baseline on the same cases, over the full catalogue, overall and on cold items."""
    bundle = load_bundle(bundle_path)
    out = Path(out_dir) if out_dir else bundle.path
    predictor = RecommendPredictor(bundle)
    index, task = predictor.index, predictor.task
    truth = [index.row[c.target] for c in cases]
    hist = [index.rows(c.history) for c in cases]
    keep = task.options.exclude_seen
    t = time.perf_counter()
    plain = predictor.history_scores([c.history for c in cases], rerank=False)
    infer_s = time.perf_counter() - t
    cold = index.popularity[truth] == 0

    def measure(scores: np.ndarray) -> dict:
        return ranking_metrics(scores, truth, cold=cold, popularity=index.popularity)

    if keep:  # the history's items left out, the target kept if it was seen (a repeat), before any re-ranking
        plain = exclude(plain, hist, keep=truth)
    without = measure(plain)
    metrics = measure(predictor.reranker.rerank(plain, hist, index)) if predictor.reranker is not None else without
    metrics["reranker"] = task.state_.get("reranker", {})
    metrics["user_tower"] = task.options.user_tower
    extra = {"two_tower_without_reranker": {"metrics": without, "seconds": 0.0,
                                            "description": "the same model, its re-ranker left out"}} \
        if predictor.reranker is not None else {}
    found, skipped = {}, {}
    for name, b in baseline_scores.items():
        if "skipped" in b:
            skipped[name] = b["skipped"]
            continue
        scores = exclude(b["scores"], hist, keep=truth) if keep else b["scores"]
        found[name] = {"metrics": measure(scores), "seconds": b["seconds"], "description": b["description"]}
    texts = [" ".join(index.texts[j] for j in h[-3:]) for h in hist]
    reference = task.reference_stats(texts, plain, index.ids) if out == bundle.path else None
    counts = {"items": len(index), "test cases": len(cases), "cold test cases": int(cold.sum()),
              "train interactions": bundle.meta.data.counts.get("train")}
    result = write_assessment(bundle, out, task=task, metrics=metrics, baselines={**extra, **found}, skipped=skipped,
                              n=len(cases), infer_s=infer_s, reference=reference, counts=counts, history=history,
                              train_seconds=train_seconds, title=title, data_report=None)
    return result


def evaluate_bundle(bundle_path: str | Path, data_path: str | Path, *, out_dir: str | Path | None = None,
                    text_column: str | None = None, label_column: str | None = None, encoding: str | None = None,
                    baseline_names: Sequence[str] | None = None, reporter=None) -> dict:
    """Metrics of a recommend bundle on an interactions file (user, item, time), split as the bundle's options say:
    its test cases, beside the baselines fitted on the bundle's training interactions."""
    bundle = load_bundle(bundle_path)
    out = Path(out_dir) if out_dir else bundle.path / "evaluations" / Path(data_path).stem
    out.mkdir(parents=True, exist_ok=True)
    task = bundle.make_task()
    opts = task.options
    ids = json.loads(bundle.file(f"{INDEX_DIR}/items.json", key="index.items").read_text(encoding="utf-8"))
    inter, rejects, _issues, _entry = read_interactions(data_path, set(ids["ids"]), user_column=opts.user_column,
                                                        item_column=label_column or opts.item_column,
                                                        time_column=opts.time_column, encoding=encoding)
    write_rejects(rejects, out / "rejects.csv")
    data_cfg = bundle.meta.config.get("data", {})
    _train, _val, cases = split_cases(inter, how=opts.split, val_size=data_cfg.get("val_size", 0.1),
                                      test_size=data_cfg.get("test_size", 0.2))
    names = list(bundle.meta.config.get("baselines") or [] if baseline_names is None else baseline_names)
    train = pd.read_csv(bundle.file("data/train.csv", key="data.train"), dtype=str, keep_default_na=False)
    row = {item: i for i, item in enumerate(ids["ids"])}
    split = RecSplit(ids=ids["ids"], texts=ids["texts"], train=train, histories=_rows(cases, row),
                     history_length=opts.history_length, decay=opts.recency_decay)
    encoder = frozen_backbone(bundle, reporter) if any(baselines.get(n).needs_encoder for n in names) else None
    scores = score_baselines(names, split, encoder=encoder, seed=bundle.meta.config["training"]["seed"], reporter=reporter)
    return assess_cases(bundle.path, cases, baseline_scores=scores, history=None,
                        train_seconds=bundle.meta.training.get("seconds"), title=f"domainfit evaluation on {Path(data_path).name}",
                        reporter=reporter, out_dir=out)


WORKFLOW = RecommendWorkflow()
