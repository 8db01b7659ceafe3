"""Inference batch planning: length-sorted batches, cut at the cheapest points when a model call's fixed cost is known,
and that cost measured from timings."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from domainfit.backbones.encoder import measure_call_overhead, sorted_batches


def _cost(batches, lengths, overhead):
    return sum(overhead + len(b) * max(lengths[i] for i in b) for b in batches)


def _brute_force(lengths, batch_size, overhead):
    """The cheapest cut of the descending-sorted texts, trying every set of cut points."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    best = None
    for mask in itertools.product([0, 1], repeat=len(order) - 1):
        batches, cur = [], [order[0]]
        for cut, i in zip(mask, order[1:]):
            if cut:
                batches.append(cur)
                cur = []
            cur.append(i)
        batches.append(cur)
        if max(map(len, batches)) <= batch_size:
            c = _cost(batches, lengths, overhead)
            best = c if best is None else min(best, c)
    return best


def test_without_overhead_batches_are_fixed_runs_in_length_order():
    lengths = [3, 9, 1, 7, 5]
    assert sorted_batches(lengths, 2) == [[1, 3], [4, 0], [2]]


@pytest.mark.parametrize("overhead", [0.0, 2.0, 8.0, 40.0])
@pytest.mark.parametrize("seed", range(6))
def test_cuts_are_the_cheapest_and_cover_every_text_once(overhead, seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 60, size=9).tolist()
    batches = sorted_batches(lengths, 4, overhead)
    assert sorted(i for b in batches for i in b) == list(range(9))
    assert max(map(len, batches)) <= 4
    assert _cost(batches, lengths, overhead) == pytest.approx(_brute_force(lengths, 4, overhead))


def test_mixed_lengths_split_only_when_padding_costs_more_than_a_call():
    lengths = [60, 10, 10, 10, 10, 10, 10, 10]
    assert len(sorted_batches(lengths, 64, call_overhead=5)) == 2  # the long text alone, the short ones together
    assert len(sorted_batches(lengths, 64, call_overhead=10_000)) == 1  # calls so dear that padding is cheaper


def test_call_overhead_is_recovered_from_timings():
    per_token, fixed = 2e-5, 1e-3  # a model whose call costs 1 ms plus 20 us per token: 50 tokens' worth

    def run(batch):
        time.sleep(fixed + per_token * sum(len(x) for x in batch))

    assert measure_call_overhead(run, list(range(40)), batch=8, repeats=3) == pytest.approx(50, rel=0.35)
