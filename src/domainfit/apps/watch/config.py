"""The typed watch.yaml: bundles, watchlist, windows, detectors, storage, sinks and ingest, checked before any work.

Every problem is reported at once, each named by its key (`watchlist.1.aliases.0`, `sentiment.bundle`, ...): first
the YAML's shape (pydantic, unknown keys refused with a "did you mean"), then what needs the files (each bundle
exists, has the right task, and holds the labels named here), then the sinks' specs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domainfit.bundle_meta import read_meta
from domainfit.config.load import read_yaml_mapping, validation_problems
from domainfit.errors import ConfigError, DomainfitError
from domainfit.i18n import _

__all__ = ["WatchConfig", "load_watch_config", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(value: str | float) -> float:
    """'15m', '2h', '1d', '1w' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(_("a duration like 15m, 2h or 1d"))  # noqa: TRY004 - pydantic reports ValueErrors by key
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(_("{value} is not a duration: write a number and a unit (s, m, h, d, w), e.g. 15m, 2h, "
                               "1d").format(value=repr(value)))
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(_("a duration must be positive"))
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")




class _Durations(_Strict):
    @field_validator("*", mode="before")
    @classmethod
    def _durations(cls, value, info):
        field = cls.model_fields[info.field_name]
        if (field.json_schema_extra or {}).get("duration"):
            return parse_duration(value)
        return value


def _dur(default: str, description: str):
    return Field(parse_duration(default), description=description, json_schema_extra={"duration": True})


class SentimentConfig(_Strict):
    bundle: Path = Field(description="a classification bundle (`domainfit train` output) of sentiment labels")
    negative_labels: list[str] = Field(["negative"], min_length=1, description="the labels counted as negative")
    variant: str = Field("auto", description="auto: the fastest compressed variant that passed its parity gate")


class TopicConfig(_Strict):
    bundle: Path = Field(description="a classification or multilabel bundle of topics")
    min_score: float = Field(0.5, ge=0, le=1, description="a topic counts for an item when its score reaches this")
    variant: str = "auto"


class NerConfig(_Strict):
    bundle: Path = Field(description="an entity bundle: organisations not on the watchlist are stored with each item")
    types: list[str] = Field(["ORG"], description="the entity types kept")
    variant: str = "auto"


class WatchName(_Strict):
    name: str = Field(min_length=1, description="the key alerts and charts use")
    aliases: list[str] = Field([], description="other spellings: short names, tickers, other languages (招行, CMB)")

    @field_validator("aliases")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        for i, alias in enumerate(value):
            if not alias.strip():
                raise ValueError(_("alias {i} is empty").format(i=i))
        return value


class WindowConfig(_Durations):
    size: float = _dur("2h", "the window the counts are taken over")
    step: float = _dur("15m", "how often the window is tested (a multiple of dedup/bucket resolution)")
    baseline: float = _dur("7d", "the trailing history the window is compared with (ends where the window starts)")

    @model_validator(mode="after")
    def _steps(self):
        if self.size % self.step:
            raise ValueError(_("size ({size} s) must be a whole number of steps ({step} s)").format(
                size=f"{self.size:g}", step=f"{self.step:g}"))
        if self.baseline < 2 * self.size:
            raise ValueError(_("baseline must be at least twice the window size"))
        return self


class NegativeShareConfig(_Strict):
    alpha: float = Field(1e-4, gt=0, lt=1, description="one-sided p-value below which the window opens an alert")
    clear_alpha: float = Field(0.05, gt=0, lt=1, description="the alert closes once the p-value is above this")
    min_count: int = Field(10, ge=1, description="fewest distinct stories in the window for the test to run")
    min_lift: float = Field(0.08, ge=0, le=1, description="the share must also exceed the baseline by this many points")
    prior_strength: float = Field(100.0, gt=0, description="the most stories the baseline share counts for (beta-binomial "
                                  "overdispersion: a baseline is never taken as exactly known)")
    min_baseline: int = Field(30, ge=1, description="fewest baseline stories before the test runs")
    estimate_dispersion: bool = Field(True, description="read the day-to-day spread of the share from the baseline's "
                                      "days (method of moments) and widen the test by it")
    correction: Literal["bonferroni", "none"] = Field("bonferroni", description="several windows are one family: "
                                                      "each is tested at alpha / (number of windows)")


class VolumeConfig(_Durations):
    alpha: float = Field(1e-6, gt=0, lt=1)
    clear_alpha: float = Field(0.05, gt=0, lt=1)
    min_count: int = Field(20, ge=1)
    min_ratio: float = Field(2.0, ge=1, description="the count must also be this many times the expected one")
    seasonal_days: int = Field(3, ge=1, description="days of history before the expectation follows the hour of the day")
    correction: Literal["bonferroni", "none"] = Field("bonferroni", description="each window at alpha / (windows)")


class CusumConfig(_Durations):
    enabled: bool = Field(True, description="a CUSUM chart of the negative share per key (alerts of window 'cusum')")
    shift: float = Field(0.15, gt=0, lt=1, description="the rise in negative share the chart finds fastest (p1 = p0 + shift)")
    weekly_false_alarm: float = Field(0.05, gt=0, lt=1, description="share of quiet weeks in which a key may raise a "
                                      "false CUSUM alarm: the threshold is this quantile of simulated quiet weeks")
    baseline: float = _dur("7d", "the quiet history p0, the volumes and the spread are read from")
    recalibrate: float = _dur("1d", "how often p0 and the threshold are read again")
    min_history: float = _dur("3d", "history before the chart runs (its simulated quiet weeks repeat what there is: "
                              "with under 3 days the backtest's charts raised false alarms in their first week)")
    min_baseline: int = Field(100, ge=1, description="fewest baseline stories before the chart runs")
    paths: int = Field(500, ge=50, le=100000, description="simulated quiet weeks per calibration")


class DetectConfig(_Durations):
    negative_share: NegativeShareConfig = Field(default_factory=NegativeShareConfig)
    volume: VolumeConfig = Field(default_factory=VolumeConfig)
    cusum: CusumConfig = Field(default_factory=CusumConfig)
    cooldown: float = _dur("6h", "after an alert closes, a new trigger of the same key and kind within this reopens it")
    clear_steps: int = Field(2, ge=1, description="steps the test must stay clear before an alert closes")
    top_stories: int = Field(5, ge=1, le=50)


class DedupConfig(_Durations):
    threshold: float = Field(0.8, gt=0, le=1, description="estimated Jaccard similarity of word shingles for one story")
    num_perm: int = Field(64, ge=16, le=512)
    shingle: int = Field(3, ge=1, le=10, description="words (or CJK characters) per shingle")
    horizon: float = _dur("2d", "a repost counts as a copy only this long after the story first appeared")


class HttpIngest(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8700, ge=0, le=65535)
    api_keys_file: Path | None = Field(None, description="hashed API keys (`domainfit keygen`), as for `serve`")
    max_texts: int = Field(256, ge=1)
    max_chars: int = Field(5000, ge=1)
    max_body_bytes: int = Field(2_000_000, ge=1)


class FolderIngest(_Durations):
    path: Path = Field(description="a folder watched for new .csv/.jsonl files; each is processed once (recorded)")
    poll: float = _dur("2s", "how often the folder is listed")


class RedisIngest(_Durations):
    url: str = Field(description="redis://host:port/db")
    stream: str = "domainfit:watch"
    group: str = "domainfit-watch"
    consumer: str | None = Field(None, description="this worker's name in the group (default: host and process id)")
    batch: int = Field(64, ge=1)
    block: float = _dur("1s", "how long one read waits for messages")
    claim_idle: float = _dur("60s", "a message a crashed worker read but never acknowledged is taken over after this")


class IngestConfig(_Strict):
    http: HttpIngest | None = None
    folder: FolderIngest | None = None
    redis: RedisIngest | None = None


class WatchConfig(_Strict):
    sentiment: SentimentConfig
    topic: TopicConfig | None = None
    ner: NerConfig | None = None
    watchlist: list[WatchName] = Field([], description="names to follow, each with its aliases")
    windows: list[WindowConfig] = Field(default_factory=lambda: [WindowConfig()], min_length=1)
    detect: DetectConfig = Field(default_factory=DetectConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    store: str = Field("watch.db", description="a SQLite file (WAL) or a SQLAlchemy URL (postgresql+psycopg://...)")
    sinks: list[str] = Field([], description="where alerts go: file:alerts.jsonl, webhook:https://..., email:smtp://...")
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    batch_size: int = Field(64, ge=1, description="texts per model call")
    languages: list[Literal["en", "zh"]] = Field(["en", "zh"], description="dashboard languages (first: the default)")

    @model_validator(mode="after")
    def _unique_names(self):
        seen: dict[str, str] = {}
        problems = []
        for i, entry in enumerate(self.watchlist):
            for j, spelling in enumerate([entry.name, *entry.aliases]):
                folded = spelling.strip().casefold()
                where = f"watchlist.{i}.name" if j == 0 else f"watchlist.{i}.aliases.{j - 1}"
                if folded in seen and seen[folded] != entry.name:
                    problems.append(f"{where}: " + _("{spelling} already names {name}").format(
                        spelling=repr(spelling), name=repr(seen[folded])))
                seen.setdefault(folded, entry.name)
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _bundle_problems(key: str, path: Path, tasks: tuple[str, ...], labels: list[str] | None = None) -> list[tuple[str, str]]:
    try:
        meta = read_meta(path)
    except DomainfitError as exc:
        return [(key, exc.message)]
    if meta.task not in tasks:
        return [(key, _("is a {task} bundle; expected {tasks}").format(task=meta.task, tasks=" or ".join(tasks)))]
    missing = [label for label in labels or [] if label not in meta.labels]
    if missing:
        return [(key.replace("bundle", "negative_labels"),
                 _("{missing} not among the bundle's labels {labels}").format(missing=missing, labels=meta.labels))]
    return []


def check_files(cfg: WatchConfig) -> list[tuple[str, str]]:
    """The problems that need the files and registries: bundles and sink specs."""
    from domainfit.monitor.alerts import parse_sink

    problems = _bundle_problems("sentiment.bundle", cfg.sentiment.bundle, ("classification",), cfg.sentiment.negative_labels)
    if cfg.topic:
        problems += _bundle_problems("topic.bundle", cfg.topic.bundle, ("classification", "multilabel"))
    if cfg.ner:
        problems += _bundle_problems("ner.bundle", cfg.ner.bundle, ("ner",))
    for i, spec in enumerate(cfg.sinks):
        try:
            parse_sink(spec)
        except DomainfitError as exc:
            problems.append((f"sinks.{i}", exc.message))
    return problems


def load_watch_config(source: str | Path | dict, *, check: bool = True) -> WatchConfig:
    """watch.yaml (or a dict) -> the checked config; ConfigError listing every problem, each named by its key.
    Relative paths in the file are read relative to the file's folder."""
    origin, base = None, Path.cwd()
    if isinstance(source, dict):
        tree = source
    else:
        path = Path(source)
        origin, base = str(path), path.resolve().parent
        tree = read_yaml_mapping(path, example="sentiment: {bundle: runs/x}")
    try:
        cfg = WatchConfig.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, WatchConfig), source=origin) from None
    cfg = _resolve(cfg, base)
    if check:
        problems = check_files(cfg)
        if problems:
            raise ConfigError(problems, source=origin)
    return cfg


def _resolve(cfg: WatchConfig, base: Path) -> WatchConfig:
    def at(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    cfg.sentiment.bundle = at(cfg.sentiment.bundle)
    for part in (cfg.topic, cfg.ner):
        if part:
            part.bundle = at(part.bundle)
    if "://" not in cfg.store:
        cfg.store = str(at(Path(cfg.store)))
    if cfg.ingest.folder:
        cfg.ingest.folder.path = at(cfg.ingest.folder.path)
    if cfg.ingest.http and cfg.ingest.http.api_keys_file:
        cfg.ingest.http.api_keys_file = at(cfg.ingest.http.api_keys_file)
    return cfg
