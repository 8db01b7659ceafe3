"""The detector: story counts per key in buckets, every window tested at each of its steps, a CUSUM chart of the
negative share per key advanced bucket by bucket, alerts opened, updated and closed (the statistics, with their
sources, are in `stats.py`).

Detection is per window step, never per item: items only add to the bucket counts (`Series.add`), and the tests run
once per key at each step boundary the stream's clock passes.

Time is the stream's own (event time): the detector advances to the newest item's time, so a replay of last month
and a live feed follow the same rules, and a restart resumes from the clock saved in the store. Counts are of distinct
stories (`dedup.py`): copies add to a story's copy count, never to the counts tested.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import zlib
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from domainfit.apps.watch.config import DetectConfig, WindowConfig
from domainfit.apps.watch.stats import (
    TestResult,
    cusum_increment,
    cusum_null_maxima,
    dispersion_strength,
    expected_volume,
    negative_share_test,
    volume_test,
)

__all__ = ["Detector", "Series", "iso", "window_label"]

ALL = "all"
CUSUM = "cusum"  # the window label of the CUSUM chart's alerts (kind negative_share)


def iso(t: float | None) -> str | None:
    return None if t is None else _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def window_label(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


class Series:
    """Counts of stories and of negative stories per key and bucket of `res` seconds (numpy arrays that grow)."""

    def __init__(self, res: float) -> None:
        self.res = res
        self.origin: int | None = None  # bucket index of element 0
        self.n: dict[str, np.ndarray] = {}
        self.k: dict[str, np.ndarray] = {}
        self.start: float | None = None  # the stream's first item

    def _ensure(self, key: str, index: int) -> int:
        if self.origin is None:
            self.origin = index - 8
        if index < self.origin:  # a late item before everything seen: shift every array right
            shift = self.origin - index + 64
            for d in (self.n, self.k):
                for name in d:
                    d[name] = np.concatenate([np.zeros(shift, np.int64), d[name]])
            self.origin -= shift
        pos = index - self.origin
        if key not in self.n:
            size = max(1024, pos + 1)
            length = max((len(a) for a in self.n.values()), default=size)
            self.n[key], self.k[key] = np.zeros(max(size, length), np.int64), np.zeros(max(size, length), np.int64)
        if pos >= len(self.n[key]):
            grow = max(pos + 1, 2 * len(self.n[key]))
            self.n[key] = np.concatenate([self.n[key], np.zeros(grow - len(self.n[key]), np.int64)])
            self.k[key] = np.concatenate([self.k[key], np.zeros(grow - len(self.k[key]), np.int64)])
        return pos

    def add(self, key: str, time: float, negative: bool) -> None:
        pos = self._ensure(key, math.floor(time / self.res))
        self.n[key][pos] += 1
        self.k[key][pos] += int(negative)
        self.start = time if self.start is None else min(self.start, time)

    def slice(self, key: str, start: float, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(stories, negatives, bucket index) per bucket in [start, end)."""
        a, b = round(start / self.res), round(end / self.res)
        index = np.arange(a, b)
        if self.origin is None or key not in self.n:
            return np.zeros(b - a, np.int64), np.zeros(b - a, np.int64), index
        n, k = self.n[key], self.k[key]
        lo, hi = a - self.origin, b - self.origin
        out_n, out_k = np.zeros(b - a, np.int64), np.zeros(b - a, np.int64)
        src_lo, src_hi = max(lo, 0), min(hi, len(n))
        if src_hi > src_lo:
            out_n[src_lo - lo:src_hi - lo] = n[src_lo:src_hi]
            out_k[src_lo - lo:src_hi - lo] = k[src_lo:src_hi]
        return out_n, out_k, index

    def names(self) -> list[str]:
        return list(self.n)


@dataclass
class Story:
    item_id: str
    time: float
    text: str
    negative: bool
    score: float | None
    keys: list[str]
    copies: int = 1
    label: str | None = None


@dataclass
class _Track:
    open: dict | None = None
    clear: int = 0
    last: dict | None = None  # the last closed alert (for the cool-down)


@dataclass
class _Chart:
    """One key's CUSUM: the statistic, where its run began, and the calibration it runs with."""
    s: float = 0.0
    since: float | None = None  # the step the statistic last left zero (the change-point estimate)
    n: int = 0  # stories and negatives since then
    k: int = 0
    p0: float | None = None
    up: float = 0.0
    down: float = 0.0
    h: float = float("inf")
    maxima: np.ndarray | None = None
    calibrated: float | None = None


@dataclass
class Detector:
    windows: list[WindowConfig]
    detect: DetectConfig
    on_alert: Callable[[str, dict], None] = lambda event, record: None  # event: open | update | close | reopen
    clock: float | None = None
    series: Series = field(init=False)
    stories: dict[str, Story] = field(default_factory=dict)
    _recent: deque = field(default_factory=deque)
    _tracks: dict = field(default_factory=lambda: defaultdict(_Track))
    _charts: dict = field(default_factory=lambda: defaultdict(_Chart))
    log: list | None = None  # when a list: one row per key, window and step (the series a backtest writes)

    def __post_init__(self) -> None:
        steps = [int(w.step) for w in self.windows] + [int(w.size) for w in self.windows]
        self.res = float(math.gcd(*steps))
        self.series = Series(self.res)
        self.keep = max(w.size for w in self.windows)

    # ------------------------------------------------------------------ input
    def add_story(self, story: Story) -> None:
        for key in story.keys:
            self.series.add(key, story.time, story.negative)
        self.stories[story.item_id] = story
        self._recent.append((story.time, story.item_id))

    def add_copy(self, story_id: str) -> None:
        if story_id in self.stories:
            self.stories[story_id].copies += 1

    def _forget(self, before: float) -> None:
        while self._recent and self._recent[0][0] < before:
            _, sid = self._recent.popleft()
            self.stories.pop(sid, None)

    # ------------------------------------------------------------------ state from the store
    def restore(self, records: list[dict], clock: float | None) -> None:
        self.clock = clock
        for record in records:
            track = self._tracks[(record["key"], record["window"], record["kind"])]
            if record["status"] == "open":
                track.open = record
            elif track.last is None or record["closed_s"] > track.last["closed_s"]:
                track.last = record

    # ------------------------------------------------------------------ time
    def advance(self, until: float) -> int:
        """Test every window at each of its step boundaries in (clock, until]; returns the boundaries tested."""
        if self.clock is None:
            self.clock = math.floor(until / self.res) * self.res
            return 0
        tested = 0
        t = (math.floor(self.clock / self.res) + 1) * self.res
        while t <= until:
            for w in self.windows:
                if round(t / self.res) % round(w.step / self.res) == 0:
                    self._evaluate(w, t)
            if self.detect.cusum.enabled:
                self._chart_step(t)
            self.clock = t
            tested += 1
            t += self.res
        self._forget(self.clock - self.keep - self.res)
        return tested

    def _evaluate(self, w: WindowConfig, t: float) -> None:
        start = t - w.size
        if self.series.start is None or start - self.series.start < 2 * w.size:
            return  # not enough history yet for a baseline
        # the baseline covers only time the stream was observed: before its first item there is no "zero" to learn
        base_start = max(t - w.size - w.baseline, math.floor(self.series.start / self.res) * self.res)
        for key in self.series.names():
            n_w, k_w, idx_w = self.series.slice(key, start, t)
            n_b, k_b, idx_b = self.series.slice(key, base_start, start)
            n, k, base_n, base_k = int(n_w.sum()), int(k_w.sum()), int(n_b.sum()), int(k_b.sum())
            share = self.detect.negative_share
            spread = _daily_spread(n_b, k_b, self.res) if share.estimate_dispersion else float("inf")
            tested = negative_share_test(k, n, base_k, base_n, alpha=self._alpha(share), min_count=share.min_count,
                                         min_lift=share.min_lift, prior_strength=share.prior_strength,
                                         min_baseline=share.min_baseline, dispersion=spread)
            share_p = tested.p_value
            label = window_label(w.size)
            self._step(key, label, "negative_share", t, start, tested, share.clear_alpha)
            vol = self.detect.volume
            history = t - self.series.start
            seasonal = history >= vol.seasonal_days * 86400 and w.baseline >= 86400
            hours = lambda idx: ((idx * self.res) // 3600 % 24).astype(np.int64)
            lam = expected_volume(n_b.astype(float), hours(idx_b), hours(idx_w), seasonal=seasonal) if base_n else 0.0
            result = volume_test(n, lam, alpha=self._alpha(vol), min_count=vol.min_count, min_ratio=vol.min_ratio) \
                if base_n >= share.min_baseline else TestResult(False, False, 1.0, float(n), lam, n)
            self._step(key, label, "volume", t, start, result, vol.clear_alpha)
            if self.log is not None and (n or base_n):
                self.log.append({"key": key, "window": window_label(w.size), "window_end": t, "stories": n,
                                 "negative": k, "negative_share": k / n if n else None,
                                 "baseline_share": (base_k + 0.5) / (base_n + 1.0), "expected_stories": lam,
                                 "p_negative_share": share_p, "p_volume": result.p_value})

    def _alpha(self, test) -> float:
        return test.alpha / len(self.windows) if test.correction == "bonferroni" else test.alpha

    # ------------------------------------------------------------------ the CUSUM chart
    def _chart_step(self, t: float) -> None:
        """Add the bucket that ends at t to every key's chart (calibrating it first when due) and test it."""
        cfg = self.detect.cusum
        if self.series.start is None or t - self.series.start < cfg.min_history:
            return
        for key in self.series.names():
            chart = self._charts[key]
            if chart.calibrated is None or t - chart.calibrated >= cfg.recalibrate:
                self._calibrate(key, chart, t)
            if chart.p0 is None:
                continue
            n_w, k_w, _ = self.series.slice(key, t - self.res, t)
            n, k = int(n_w.sum()), int(k_w.sum())
            before = chart.s
            chart.s = max(0.0, chart.s + k * chart.up + (n - k) * chart.down)
            if chart.s > 0.0:
                if before == 0.0:
                    chart.since, chart.n, chart.k = t - self.res, 0, 0
                chart.n, chart.k = chart.n + n, chart.k + k
            fired = chart.s >= chart.h
            tail = (1 + int(len(chart.maxima) - np.searchsorted(chart.maxima, chart.s, side="left"))) / (1 + len(chart.maxima))
            result = TestResult(fired, True, tail, chart.k / chart.n if chart.n else 0.0, chart.p0, chart.n, chart.k,
                                holding=chart.s >= chart.h / 2, strength=chart.s)
            self._step(key, CUSUM, "negative_share", t, chart.since if chart.since is not None else t - self.res,
                       result, 0.0)

    def _calibrate(self, key: str, chart: _Chart, t: float) -> None:
        """p0, the increments and the threshold h from the key's quiet baseline (stats.py: simulated quiet weeks)."""
        cfg, share = self.detect.cusum, self.detect.negative_share
        chart.calibrated = t
        start = max(t - cfg.baseline, math.floor(self.series.start / self.res) * self.res)
        n_b, k_b, _ = self.series.slice(key, start, t)
        base_n, base_k = int(n_b.sum()), int(k_b.sum())
        if base_n < cfg.min_baseline:
            chart.p0 = None
            return
        p0 = (base_k + 0.5) / (base_n + 1.0)
        p1 = min(p0 + cfg.shift, 0.999)
        per_day = round(86400 / self.res)
        week = 7 * per_day
        volumes = np.resize(n_b, week)  # the baseline's own volumes, repeated to a week when it is shorter
        days = np.arange(week) // per_day
        spread = _daily_spread(n_b, k_b, self.res) if share.estimate_dispersion else float("inf")
        strength = min(float(base_n), share.prior_strength, spread)
        rng = np.random.default_rng([zlib.crc32(key.encode("utf-8")), int(t) & 0xFFFFFFFF])
        chart.maxima = cusum_null_maxima(volumes, days, p0, p1, strength, paths=cfg.paths, rng=rng)
        chart.h = max(float(np.quantile(chart.maxima, 1 - cfg.weekly_false_alarm)), 1e-9)
        chart.p0 = p0
        chart.up, chart.down = cusum_increment(p0, p1)

    # ------------------------------------------------------------------ alerts
    def _step(self, key: str, label: str, kind: str, t: float, start: float, r: TestResult, clear_alpha: float) -> None:
        track = self._tracks[(key, label, kind)]
        if track.open is not None:
            alert = track.open
            holding = r.holding if r.holding is not None else r.p_value <= clear_alpha
            if r.fired or holding:
                track.clear = 0
                if r.fired:
                    alert["window_end"], alert["window_end_s"] = iso(t), t
                    alert["steps"] += 1
                    if r.peak > alert.get("peak", -math.inf):
                        self._fill(alert, key, kind, start, t, r)
                    alert["updated"] = iso(t)
                    self.on_alert("update", alert)
                return
            track.clear += 1
            if track.clear >= self.detect.clear_steps:
                alert["status"], alert["closed"], alert["closed_s"], alert["updated"] = "closed", iso(t), t, iso(t)
                track.open, track.last, track.clear = None, alert, 0
                self.on_alert("close", alert)
            return
        if not r.fired:
            return
        if track.last is not None and t - track.last["closed_s"] < self.detect.cooldown:
            alert = track.last  # the same event, back within the cool-down: reopened, not raised again
            alert.update(status="open", closed=None, closed_s=None, reopened=alert.get("reopened", 0) + 1,
                         window_end=iso(t), window_end_s=t, updated=iso(t))
            alert["steps"] += 1
            if r.peak > alert.get("peak", -math.inf):
                self._fill(alert, key, kind, start, t, r)
            track.open, track.last = alert, None
            self.on_alert("reopen", alert)
            return
        alert_id = hashlib.sha1(f"{key}|{kind}|{label}|{t}".encode()).hexdigest()[:16]
        alert = {"alert_id": alert_id, "time": iso(t), "time_s": t, "key": key, "kind": kind, "window": label,
                 "window_start": iso(start), "window_start_s": start, "window_end": iso(t), "window_end_s": t,
                 "status": "open", "closed": None, "closed_s": None, "steps": 1, "reopened": 0, "updated": iso(t)}
        self._fill(alert, key, kind, start, t, r)
        track.open = alert
        self.on_alert("open", alert)

    def _fill(self, alert: dict, key: str, kind: str, start: float, end: float, r: TestResult) -> None:
        alert.update(observed=round(r.observed, 6), expected=round(r.expected, 6), p_value=r.p_value, n=r.n, k=r.k,
                     peak_start=iso(start), peak_end=iso(end), peak=r.peak)
        if r.strength is not None:
            alert["statistic"] = round(r.strength, 4)  # the CUSUM's S at its peak
        top = self.top_stories(key, start, end, negative_only=kind == "negative_share")
        alert["top_ids"] = [s.item_id for s in top]
        alert["stories"] = [{"id": s.item_id, "time": iso(s.time), "text": s.text[:400], "copies": s.copies,
                             "negative": s.negative, "score": s.score} for s in top]

    def top_stories(self, key: str, start: float, end: float, *, negative_only: bool) -> list[Story]:
        found = [s for s in self.stories.values() if start <= s.time < end and key in s.keys
                 and (s.negative or not negative_only)]
        found.sort(key=lambda s: (-s.copies, -(s.score or 0.0), s.time))
        return found[: self.detect.top_stories]


def _daily_spread(n: np.ndarray, k: np.ndarray, res: float) -> float:
    """m̂ of the baseline's whole days (counted back from its end), for the beta-binomial's spread."""
    per_day = round(86400 / res)
    days = len(n) // per_day
    if days < 3:
        return float("inf")
    n_d = n[len(n) - days * per_day:].reshape(days, per_day).sum(axis=1)
    k_d = k[len(k) - days * per_day:].reshape(days, per_day).sum(axis=1)
    return dispersion_strength(n_d, k_d)
