"""The two tests the monitor runs on every key and window, as pure functions of counts (unit-tested on known answers).

**Negative share** (does the share of negative stories exceed its own history?). Under the null the window's k
negatives among n stories follow a beta-binomial: the binomial with its rate p drawn from a Beta whose mean is the
trailing baseline's share p0 = (k0 + ½) / (n0 + 1) (Jeffreys' prior) and whose strength m = min(n0, prior_strength)
is capped, so a long baseline is never taken as knowing p exactly; the cap absorbs the day-to-day drift of real news
(extra-binomial variation; Williams 1982, "Extra-binomial variation in logistic linear models", *Applied Statistics*
31; Agresti, *Categorical Data Analysis*, 3rd ed., §4.7). The one-sided p-value is P(K ≥ k). The test needs at least
`min_count` stories in the window and `min_baseline` in the baseline, and fires only when p < alpha *and* the share
is `min_lift` above p0. It is conditional on n, so more stories with the usual mix (a volume-only burst) do not make it
fire: their share stays at p0.

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

__all__ = ["TestResult", "expected_volume", "negative_share_test", "volume_test"]


@dataclass(frozen=True)
class TestResult:
    fired: bool
    applicable: bool
    p_value: float
    observed: float
    expected: float
    n: int
    k: int = 0


def negative_share_test(k: int, n: int, base_k: int, base_n: int, *, alpha: float, min_count: int, min_lift: float,
                        prior_strength: float, min_baseline: int) -> TestResult:
    p0 = (base_k + 0.5) / (base_n + 1.0)
    share = k / n if n else 0.0
    if n < min_count or base_n < min_baseline:
        return TestResult(False, False, 1.0, share, p0, n, k)
    m = min(float(base_n), prior_strength)
    p_value = float(stats.betabinom.sf(k - 1, n, p0 * m, (1.0 - p0) * m)) if k > 0 else 1.0
    fired = p_value < alpha and share - p0 >= min_lift
    return TestResult(fired, True, p_value, share, p0, n, k)


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
