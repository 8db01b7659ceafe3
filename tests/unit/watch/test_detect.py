"""The tests and the alert logic on synthetic counts whose answers are known."""

import math

import numpy as np
import pytest

from domainfit.apps.watch.config import DetectConfig, WindowConfig
from domainfit.apps.watch.detect import Detector, Story
from domainfit.apps.watch.stats import expected_volume, negative_share_test, volume_test

H = 3600.0


def binom_tail(k, n, p):
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def betabinom_tail(k, n, a, b):
    lbeta = lambda x, y: math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)
    return sum(math.comb(n, i) * math.exp(lbeta(i + a, n - i + b) - lbeta(a, b)) for i in range(k, n + 1))


def test_share_test_is_the_beta_binomial_tail_of_the_baseline():
    r = negative_share_test(8, 20, 100, 1004, alpha=0.01, min_count=10, min_lift=0.05, prior_strength=1e12, min_baseline=30)
    assert r.expected == pytest.approx(0.1, abs=1e-9)
    # the Beta's strength is the baseline's 1004 stories: a = 0.1 * 1004, b = 0.9 * 1004
    assert r.p_value == pytest.approx(betabinom_tail(8, 20, 100.4, 903.6), rel=1e-6)  # 0.00049
    assert r.p_value > binom_tail(8, 20, 0.1)  # 0.00042: wider than the binomial of a known rate
    assert r.fired


def test_share_test_widens_with_a_capped_baseline_and_needs_counts():
    strong = negative_share_test(8, 20, 100, 1004, alpha=0.01, min_count=10, min_lift=0.05, prior_strength=1e12, min_baseline=30)
    capped = negative_share_test(8, 20, 100, 1004, alpha=0.01, min_count=10, min_lift=0.05, prior_strength=20, min_baseline=30)
    assert capped.p_value > 3 * strong.p_value  # overdispersion: the baseline is not taken as exact
    few = negative_share_test(5, 6, 99, 999, alpha=0.01, min_count=10, min_lift=0.05, prior_strength=100, min_baseline=30)
    assert not few.applicable and not few.fired and few.p_value == 1.0


def test_share_test_does_not_fire_on_volume_alone():
    for n in (20, 200, 2000, 20000):  # ten times, a hundred times more stories with the usual 10% negative
        r = negative_share_test(n // 10, n, 99, 999, alpha=1e-4, min_count=10, min_lift=0.05, prior_strength=100, min_baseline=30)
        assert not r.fired and r.p_value > 0.3


def test_volume_test_is_the_poisson_tail():
    r = volume_test(10, 2.0, alpha=1e-3, min_count=5, min_ratio=2.0)
    expected = 1 - sum(math.exp(-2) * 2**i / math.factorial(i) for i in range(10))
    assert r.p_value == pytest.approx(expected, rel=1e-6)  # 4.65e-5
    assert r.fired
    assert not volume_test(10, 6.0, alpha=1e-3, min_count=5, min_ratio=2.0).fired


def test_expected_volume_follows_the_hour_of_day():
    hours = np.tile(np.arange(24), 3)
    counts = hours.astype(float)  # hour h always has h stories
    assert expected_volume(counts, hours, np.array([3, 4]), seasonal=True) == pytest.approx(7.0)
    assert expected_volume(counts, hours, np.array([3, 4]), seasonal=False) == pytest.approx(2 * 11.5)


def stream(detector, start, hours, per_hour, negative_every, key="A"):
    """`per_hour` stories an hour, evenly spaced, one in `negative_every` negative (deterministic)."""
    count = 0
    for h in range(hours):
        for i in range(per_hour):
            t = start + h * H + i * H / per_hour
            count += 1
            detector.add_story(Story(f"{key}{t}", t, "text", count % negative_every == 0, 0.9, [key]))
            detector.advance(t)
    return start + hours * H


def make(**detect):
    events = []
    detect.setdefault("cusum", {"enabled": False})  # the window tests alone (the chart has its own tests)
    cfg = DetectConfig(cooldown=detect.pop("cooldown", 6 * H), clear_steps=2, **detect)
    d = Detector([WindowConfig(size=H, step=900, baseline=2 * 86400)], cfg, on_alert=lambda e, r: events.append((e, dict(r))))
    return d, events


def test_one_surge_raises_one_alert_updated_then_closed():
    d, events = make()
    t = stream(d, 0.0, 72, 40, 10)  # three quiet days: 10% negative
    assert [e for e, _ in events] == []
    t = stream(d, t, 3, 40, 2)  # three hours at 50% negative
    t = stream(d, t, 6, 40, 10)
    kinds = [(e, r["kind"]) for e, r in events]
    assert kinds[0] == ("open", "negative_share")
    assert [e for e, _ in events].count("open") == 1
    assert events[-1][0] == "close"
    alert = events[-1][1]
    assert alert["time_s"] - 72 * H <= H  # within an hour of the surge's start
    assert alert["observed"] >= 0.45 and alert["expected"] == pytest.approx(0.1, abs=0.01)
    assert all(s["negative"] for s in alert["stories"]) and len(alert["stories"]) == 5
    assert not any(r["kind"] == "volume" for _, r in events)


def test_volume_burst_raises_a_volume_alert_and_no_negative_one():
    d, events = make()
    t = stream(d, 0.0, 72, 20, 10)
    t = stream(d, t, 2, 120, 10)  # six times the stories, the same 10% negative
    stream(d, t, 4, 20, 10)
    opened = [r["kind"] for e, r in events if e == "open"]
    assert opened == ["volume"]


def test_cooldown_reopens_the_same_alert():
    d, events = make(cooldown=12 * H)
    t = stream(d, 0.0, 72, 40, 10)
    t = stream(d, t, 2, 40, 2)
    t = stream(d, t, 3, 40, 10)  # closed here
    t = stream(d, t, 2, 40, 2)  # back within the cool-down
    stream(d, t, 3, 40, 10)
    names = [e for e, _ in events]
    assert names.count("open") == 1 and names.count("reopen") == 1
    assert len({r["alert_id"] for _, r in events}) == 1


def test_after_the_cooldown_a_new_alert():
    d, events = make(cooldown=1 * H)
    t = stream(d, 0.0, 72, 40, 10)
    t = stream(d, t, 2, 40, 2)
    t = stream(d, t, 5, 40, 10)
    t = stream(d, t, 2, 40, 2)
    stream(d, t, 3, 40, 10)
    assert [e for e, _ in events].count("open") == 2
    assert len({r["alert_id"] for e, r in events if e == "open"}) == 2


# ---------------------------------------------------------------- dispersion, Bonferroni and the CUSUM chart
def test_dispersion_is_the_method_of_moments_of_daily_shares():
    from domainfit.apps.watch.stats import dispersion_strength

    n = np.full(6, 1000)
    assert dispersion_strength(n, np.full(6, 100)) == math.inf  # identical days: no spread beyond binomial
    k = np.array([50, 150, 50, 150, 50, 150])  # shares 5% / 15%: p0 = 0.1
    var = np.var(k / n, ddof=1)  # 0.003
    expected = 0.1 * 0.9 / (var - 0.1 * 0.9 / 1000) - 1
    assert dispersion_strength(n, k) == pytest.approx(expected)  # ~ 30.0
    assert dispersion_strength(n[:2], k[:2]) == math.inf  # too few days to tell


def test_cusum_increments_are_the_log_likelihood_ratio():
    from domainfit.apps.watch.stats import cusum_increment

    up, down = cusum_increment(0.1, 0.25)
    assert up == pytest.approx(math.log(2.5)) and down == pytest.approx(math.log(0.75 / 0.9))
    # at p0 the expected step per story is negative (-KL(p0 || p1)); at p1 positive (+KL(p1 || p0))
    assert 0.1 * up + 0.9 * down < 0 < 0.25 * up + 0.75 * down


def test_cusum_threshold_keeps_its_false_alarm_rate_on_fresh_quiet_weeks():
    from domainfit.apps.watch.stats import cusum_null_maxima

    volumes = np.tile(np.r_[np.full(32, 2), np.full(40, 12), np.full(24, 4)], 7)  # a daily cycle, 15-min buckets
    days = np.arange(len(volumes)) // 96
    calib = cusum_null_maxima(volumes, days, 0.12, 0.27, math.inf, paths=2000, rng=np.random.default_rng(1))
    h = np.quantile(calib, 0.9)
    fresh = cusum_null_maxima(volumes, days, 0.12, 0.27, math.inf, paths=2000, rng=np.random.default_rng(2))
    assert (fresh >= h).mean() == pytest.approx(0.10, abs=0.025)
    # a drifting rate (strength 50) needs a higher threshold for the same rate
    drifting = cusum_null_maxima(volumes, days, 0.12, 0.27, 50.0, paths=2000, rng=np.random.default_rng(1))
    assert np.quantile(drifting, 0.9) > h


def cusum_detector(**cusum):
    events = []
    cfg = DetectConfig(cooldown=6 * H, clear_steps=2, cusum={"weekly_false_alarm": 0.05, "paths": 400, **cusum},
                       # the chart alone raises alerts; the even synthetic days show no spread, so p0's own
                       # uncertainty (the baseline's stories) is all the chart's simulation draws
                       negative_share={"alpha": 1e-12, "prior_strength": 1e9}, volume={"alpha": 1e-12})
    d = Detector([WindowConfig(size=H, step=900, baseline=2 * 86400)], cfg,
                 on_alert=lambda e, r: events.append((e, dict(r))))
    return d, events


def test_cusum_finds_a_lasting_rise_and_dates_its_start():
    d, events = cusum_detector()
    t = stream(d, 0.0, 96, 30, 8)  # four quiet days at 12.5%
    assert events == []
    surge = t
    t = stream(d, t, 4, 30, 3)  # four hours at 33%: +21 points, too little for one hour's window at alpha 1e-12
    stream(d, t, 10, 30, 8)
    opened = [r for e, r in events if e == "open"]
    assert [(r["key"], r["kind"], r["window"]) for r in opened] == [("A", "negative_share", "cusum")]
    alert = opened[0]
    assert surge < alert["time_s"] <= surge + 3 * H
    assert abs(alert["window_start_s"] - surge) <= H  # the change point: where the statistic left zero
    assert alert["expected"] == pytest.approx(1 / 8, abs=0.01) and alert["observed"] > 0.25
    assert alert["statistic"] >= d._charts["A"].h and 0 < alert["p_value"] < 0.05
    assert events[-1][0] == "close"


def test_cusum_ignores_volume_alone():
    d, events = cusum_detector()
    t = stream(d, 0.0, 96, 30, 8)
    t = stream(d, t, 3, 240, 8)  # eight times the stories, the same share
    stream(d, t, 4, 30, 8)
    assert [r["kind"] for e, r in events if e == "open"] == ["volume"]  # the volume test sees it; the chart does not
    assert d._charts["A"].s < d._charts["A"].h / 4


def test_several_windows_are_tested_at_alpha_over_their_number():
    """Bonferroni: a p-value between alpha/2 and alpha fires one window alone, not the same window among two."""
    def run(windows, correction, alpha):
        events, log = [], []
        cfg = DetectConfig(negative_share={"alpha": alpha, "correction": correction, "min_lift": 0.0,
                                           "estimate_dispersion": False, "prior_strength": 1e9},
                           volume={"alpha": 1e-12}, cusum={"enabled": False})
        d = Detector(windows, cfg, on_alert=lambda e, r: events.append(r))
        d.log = log
        t = stream(d, 0.0, 48, 40, 10)
        stream(d, t, 1, 40, 4)  # one hour at 25%: k = 10 of 40 against 10%
        d.advance(49 * H)  # the clock reaches the hour's end
        hour = [r for r in log if r["window"] == "1h" and r["window_end"] == 49 * H and r["key"] == "A"]
        return [r for r in events if r["kind"] == "negative_share" and r["window"] == "1h"], hour[0]["p_negative_share"]

    one = [WindowConfig(size=H, step=H, baseline=86400)]
    two = one + [WindowConfig(size=3 * H, step=H, baseline=86400)]
    _, p = run(one, "none", 1e-9)  # the hour's p-value: 10 of 40 against the day's 96 of 960, about 6e-3
    p0 = 96.5 / 961
    assert p == pytest.approx(betabinom_tail(10, 40, p0 * 960, (1 - p0) * 960), rel=1e-6)
    alpha = 1.5 * p  # alpha / 2 < p < alpha
    assert len(run(one, "bonferroni", alpha)[0]) == 1
    assert run(two, "bonferroni", alpha)[0] == [] and len(run(two, "none", alpha)[0]) == 1
