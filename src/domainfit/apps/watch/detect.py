"""The detector: story counts per key in buckets, every window tested at each of its steps, alerts opened, updated
and closed (the statistics are in `stats.py`).

Time is the stream's own (event time): the detector advances to the newest item's time, so a replay of last month
and a live feed follow the same rules, and a restart resumes from the clock saved in the store. Counts are of distinct
stories (`dedup.py`): copies add to a story's copy count, never to the counts tested.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from domainfit.apps.watch.config import DetectConfig, WindowConfig
from domainfit.apps.watch.stats import TestResult, expected_volume, negative_share_test, volume_test

__all__ = ["Detector", "Series", "iso", "window_label"]

ALL = "all"


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
class Detector:
    windows: list[WindowConfig]
    detect: DetectConfig
    on_alert: Callable[[str, dict], None] = lambda event, record: None  # event: open | update | close | reopen
    clock: float | None = None
    series: Series = field(init=False)
    stories: dict[str, Story] = field(default_factory=dict)
    _recent: deque = field(default_factory=deque)
    _tracks: dict = field(default_factory=lambda: defaultdict(_Track))
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
            tested = negative_share_test(k, n, base_k, base_n, alpha=share.alpha, min_count=share.min_count,
                                         min_lift=share.min_lift, prior_strength=share.prior_strength,
                                         min_baseline=share.min_baseline)
            share_p = tested.p_value
            self._step(key, w, "negative_share", t, tested, share.clear_alpha)
            vol = self.detect.volume
            history = t - self.series.start
            seasonal = history >= vol.seasonal_days * 86400 and w.baseline >= 86400
            hours = lambda idx: ((idx * self.res) // 3600 % 24).astype(np.int64)
            lam = expected_volume(n_b.astype(float), hours(idx_b), hours(idx_w), seasonal=seasonal) if base_n else 0.0
            result = volume_test(n, lam, alpha=vol.alpha, min_count=vol.min_count, min_ratio=vol.min_ratio) \
                if base_n >= share.min_baseline else TestResult(False, False, 1.0, float(n), lam, n)
            self._step(key, w, "volume", t, result, vol.clear_alpha)
            if self.log is not None and (n or base_n):
                self.log.append({"key": key, "window": window_label(w.size), "window_end": t, "stories": n,
                                 "negative": k, "negative_share": k / n if n else None,
                                 "baseline_share": (base_k + 0.5) / (base_n + 1.0), "expected_stories": lam,
                                 "p_negative_share": share_p, "p_volume": result.p_value})

    # ------------------------------------------------------------------ alerts
    def _step(self, key: str, w: WindowConfig, kind: str, t: float, r: TestResult, clear_alpha: float) -> None:
        label = window_label(w.size)
        track = self._tracks[(key, label, kind)]
        if track.open is not None:
            alert = track.open
            if r.fired or r.p_value <= clear_alpha:
                track.clear = 0
                if r.fired:
                    alert["window_end"], alert["window_end_s"] = iso(t), t
                    alert["steps"] += 1
                    if r.p_value < alert["p_value"]:
                        self._fill(alert, key, kind, t - w.size, t, r)
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
            if r.p_value < alert["p_value"]:
                self._fill(alert, key, kind, t - w.size, t, r)
            track.open, track.last = alert, None
            self.on_alert("reopen", alert)
            return
        alert_id = hashlib.sha1(f"{key}|{kind}|{label}|{t}".encode()).hexdigest()[:16]
        alert = {"alert_id": alert_id, "time": iso(t), "time_s": t, "key": key, "kind": kind, "window": label,
                 "window_start": iso(t - w.size), "window_start_s": t - w.size, "window_end": iso(t), "window_end_s": t,
                 "status": "open", "closed": None, "closed_s": None, "steps": 1, "reopened": 0, "updated": iso(t)}
        self._fill(alert, key, kind, t - w.size, t, r)
        track.open = alert
        self.on_alert("open", alert)

    def _fill(self, alert: dict, key: str, kind: str, start: float, end: float, r: TestResult) -> None:
        alert.update(observed=round(r.observed, 6), expected=round(r.expected, 6), p_value=r.p_value, n=r.n, k=r.k,
                     peak_start=iso(start), peak_end=iso(end))
        top = self.top_stories(key, start, end, negative_only=kind == "negative_share")
        alert["top_ids"] = [s.item_id for s in top]
        alert["stories"] = [{"id": s.item_id, "time": iso(s.time), "text": s.text[:400], "copies": s.copies,
                             "negative": s.negative, "score": s.score} for s in top]

    def top_stories(self, key: str, start: float, end: float, *, negative_only: bool) -> list[Story]:
        found = [s for s in self.stories.values() if start <= s.time < end and key in s.keys
                 and (s.negative or not negative_only)]
        found.sort(key=lambda s: (-s.copies, -(s.score or 0.0), s.time))
        return found[: self.detect.top_stories]
