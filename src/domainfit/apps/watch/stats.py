"""The tests the monitor runs on every key and window, as pure functions of counts (unit-tested on known answers).

**Negative share** (does the share of negative stories exceed its own history?). Under the null the window's k
negatives among n stories follow a beta-binomial: the binomial with its rate p drawn from a Beta whose mean is the
trailing baseline's share p0 = (k0 + ½) / (n0 + 1) (Jeffreys' prior) and whose strength m = min(n0, prior_strength)
is capped, so a long baseline is never taken as knowing p exactly; the cap absorbs the day-to-day drift of real news
(extra-binomial variation; Williams 1982, "Extra-binomial variation in logistic linear models", *Applied Statistics*
31; Agresti, *Categorical Data Analysis*, 3rd ed., §4.7). The one-sided p-value is P(K ≥ k). The test needs at least
`min_count` stories in the window and `min_baseline` in the baseline, and fires only when p < alpha *and* the share
is `min_lift` above p0. It is conditional on n, so more stories with the usual mix (a volume-only burst) do not make it
fire: their share stays at p0.

*How much the share drifts* (the Beta's strength m) is read from the quiet baseline itself when it spans at least
three whole days: the method-of-moments estimate of the beta-binomial's intra-class correlation from the day-to-day
spread of the daily shares (Kleinman 1973, "Proportions with extraneous variance: single and independent samples",
*JASA* 68; Williams 1982): τ² = max(0, Var(daily share) − mean(p0(1−p0)/n_d)), m̂ = p0(1−p0)/τ² − 1 (∞ when the days
vary no more than binomial counts do). The test uses m = min(n0, prior_strength, m̂): never more than the baseline's
own stories (the uncertainty of p0) nor the configured cap.

*Several windows at once* (1 h for sharp events, 3 h for slower ones): each window's test is one of a family, so with
`correction: bonferroni` each runs at alpha / (number of windows), keeping the chance that any window of a key fires
on quiet data at most alpha per step (Bonferroni's inequality; Holm 1979, "A simple sequentially rejective multiple
test procedure", *Scand. J. Statist.* 6, whose first step — the one that decides whether anything fires — is exactly
this). The volume test's windows are corrected the same way.

**Negative share, CUSUM** (a small, lasting rise found sooner than any fixed window can: Page 1954, "Continuous
inspection schemes", *Biometrika* 41; the Bernoulli CUSUM of Reynolds & Stoumbos 1999, "A CUSUM chart for monitoring
a proportion when inspecting continuously", *J. Quality Technology* 31; Montgomery, *Introduction to Statistical
Quality Control*, ch. 9). Each bucket's k negatives among n stories add their log-likelihood ratio of p1 = p0 + shift
against p0: S ← max(0, S + k·ln(p1/p0) + (n−k)·ln((1−p1)/(1−p0))); the chart signals when S ≥ h. The time S last left
zero is the change-point estimate (the alert's window start). h is not a guess and is not tuned on events: it is set
from the key's own quiet baseline by simulation (`cusum_null_maxima`): a week of the baseline's own bucket volumes (the
daily cycle included), negatives drawn with each day's rate from the Beta(m p0, m (1−p0)) above, the chart run over
it; h is the (1 − weekly_false_alarm) quantile of the simulated weekly maxima of S, so a key raises a false CUSUM
alarm in about `weekly_false_alarm` of quiet weeks. The alert's p-value is the Monte Carlo tail of those maxima at the
observed S, (1 + #{max ≥ S}) / (1 + paths) (Davison & Hinkley 1997, *Bootstrap Methods and their Application*, §4.2).
More stories at the usual share (a volume-only burst) push S down, never up: the drift per story is negative at p0.

**Volume** (are there more stories than usual at this time of day?). The expected count λ is the baseline's mean per
bucket times the window's buckets; with `seasonal_days` of history it follows the hour of the day instead: the
baseline's mean count for each hour of the day (UTC), summed over the window's buckets — the same-period-of-past-cycles
expectation of Farrington et al. 1996, "A statistical algorithm for the early detection of outbreaks of infectious
disease", *JRSS A* 159. The p-value is the Poisson tail P(N ≥ n | λ); the test fires when p < alpha, n ≥ min_count and
n ≥ min_ratio · λ (the ratio guards against the Poisson's too-thin tail on overdispersed counts).

**One event, one alert** (hysteresis and cool-down, as in statistical process control's run rules; Montgomery,
*Introduction to Statistical Quality Control*, ch. 5): an alert opens when a test fires, is *updated* while the event
lasts (its peak, its extent, its stories), closes only after the test's p-value stays above `clear_alpha` for
`clear_steps` steps, and a new trigger within `cooldown` of closing reopens the same alert instead of raising another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["TestResult", "cusum_increment", "cusum_null_maxima", "dispersion_strength", "expected_volume",
           "negative_share_test", "volume_test"]


@dataclass(frozen=True)
class TestResult:
    fired: bool
    applicable: bool
    p_value: float
    observed: float
    expected: float
    n: int
    k: int = 0
    holding: bool | None = None  # whether an open alert stays open (None: p_value <= the kind's clear_alpha)
    strength: float | None = None  # what makes one step of an event its peak (None: the smaller p-value)

    @property
    def peak(self) -> float:
        return self.strength if self.strength is not None else -float(np.log(max(self.p_value, 1e-300)))


def negative_share_test(k: int, n: int, base_k: int, base_n: int, *, alpha: float, min_count: int, min_lift: float,
                        prior_strength: float, min_baseline: int, dispersion: float = float("inf")) -> TestResult:
    """`dispersion`: m̂ of `dispersion_strength` on the baseline's days (inf: no more spread than binomial)."""
    p0 = (base_k + 0.5) / (base_n + 1.0)
    share = k / n if n else 0.0
    if n < min_count or base_n < min_baseline:
        return TestResult(False, False, 1.0, share, p0, n, k)
    m = min(float(base_n), prior_strength, dispersion)
    p_value = float(stats.betabinom.sf(k - 1, n, p0 * m, (1.0 - p0) * m)) if k > 0 else 1.0
    fired = p_value < alpha and share - p0 >= min_lift
    return TestResult(fired, True, p_value, share, p0, n, k)


def dispersion_strength(n_days: np.ndarray, k_days: np.ndarray, *, min_days: int = 3, min_per_day: int = 10) -> float:
    """m̂, the Beta's strength from the spread of daily shares (method of moments); inf when the days vary no more
    than binomial counts would, or when fewer than `min_days` days hold `min_per_day` stories."""
    n_days, k_days = np.asarray(n_days, float), np.asarray(k_days, float)
    keep = n_days >= min_per_day
    if keep.sum() < min_days:
        return float("inf")
    n, k = n_days[keep], k_days[keep]
    p0 = k.sum() / n.sum()
    if p0 <= 0.0 or p0 >= 1.0:
        return float("inf")
    excess = float(np.var(k / n, ddof=1) - np.mean(p0 * (1 - p0) / n))
    return float("inf") if excess <= 0 else max(p0 * (1 - p0) / excess - 1.0, 1.0)


def cusum_increment(p0: float, p1: float) -> tuple[float, float]:
    """(added per negative story, added per other story): the log-likelihood ratio of p1 against p0."""
    return float(np.log(p1 / p0)), float(np.log((1 - p1) / (1 - p0)))


def cusum_null_maxima(volumes: np.ndarray, days: np.ndarray, p0: float, p1: float, strength: float, *, paths: int,
                      rng: np.random.Generator) -> np.ndarray:
    """The chart's maximum over `volumes` (stories per bucket, in order; `days`: each bucket's day, 0-based) on
    `paths` simulated quiet runs: each day's negative rate drawn from Beta(strength·p0, strength·(1−p0)) (the rate
    itself when strength is inf), each bucket's negatives binomial. Sorted, ascending."""
    volumes = np.asarray(volumes, np.int64)
    days = np.asarray(days, np.int64)
    n_days = int(days.max()) + 1 if len(days) else 1
    if np.isfinite(strength):
        rates = rng.beta(strength * p0, strength * (1 - p0), size=(paths, n_days))
    else:
        rates = np.full((paths, n_days), p0)
    k = rng.binomial(np.broadcast_to(volumes, (paths, len(volumes))), rates[:, days])
    up, down = cusum_increment(p0, p1)
    steps = k * up + (volumes - k) * down
    s = np.zeros(paths)
    top = np.zeros(paths)
    for j in range(steps.shape[1]):
        s = np.maximum(0.0, s + steps[:, j])
        np.maximum(top, s, out=top)
    return np.sort(top)


def expected_volume(base_counts: np.ndarray, base_hours: np.ndarray, window_hours: np.ndarray, *, seasonal: bool) -> float:
    """λ for a window: flat (baseline mean per bucket × buckets) or by hour of day (each window bucket gets the
    baseline's mean for its hour; an hour the baseline never saw falls back to the flat mean)."""
    if len(base_counts) == 0:
        return 0.0
    flat = float(base_counts.mean())
    if not seasonal:
        return flat * len(window_hours)
    sums = np.bincount(base_hours, weights=base_counts, minlength=24)
    seen = np.bincount(base_hours, minlength=24)
    profile = np.where(seen > 0, sums / np.maximum(seen, 1), flat)
    return float(profile[window_hours].sum())


def volume_test(n: int, expected: float, *, alpha: float, min_count: int, min_ratio: float) -> TestResult:
    lam = max(expected, 1e-9)
    if n < min_count:
        return TestResult(False, False, 1.0, float(n), expected, n)
    p_value = float(stats.poisson.sf(n - 1, lam))
    fired = p_value < alpha and n >= min_ratio * expected
    return TestResult(fired, True, p_value, float(n), expected, n)
