"""The micro-batcher on a fake model: a request that fails the model call fails alone; the others get their answers."""

from __future__ import annotations

import asyncio

import pytest

from domainfit.serving.batching import MicroBatcher, run_isolated


def _fake_model(calls: list[list[str]]):
    def run_batch(items):
        texts = [t for request_texts, _ in items for t in request_texts]
        calls.append(texts)
        if "poison" in texts:
            raise ValueError("the tokenizer choked")
        return [[t.upper() for t in request_texts] for request_texts, _ in items], "model-v1"
    return run_batch


def test_run_isolated_retries_halves_until_only_the_failing_request_fails():
    calls: list[list[str]] = []
    items = [([f"t{i}"], {}) for i in range(7)] + [(["ok", "poison"], {})]
    outcomes = run_isolated(_fake_model(calls), items)
    assert [o[0] for o in outcomes[:7]] == [[f"T{i}"] for i in range(7)] and all(o[1] == "model-v1" for o in outcomes[:7])
    assert isinstance(outcomes[7], ValueError) and "choked" in str(outcomes[7])
    assert len(calls) <= 1 + 2 * 3, f"{len(calls)} model calls to isolate one bad request of 8"


def test_an_exception_returned_for_one_request_fails_only_that_request_without_retries():
    calls = []

    def run_batch(items):
        calls.append(len(items))
        return [RuntimeError("not logged") if texts == ["b"] else [texts[0]] for texts, _ in items], "m"

    outcomes = run_isolated(run_batch, [(["a"], {}), (["b"], {}), (["c"], {})])
    assert outcomes[0] == (["a"], "m") and isinstance(outcomes[1], RuntimeError) and outcomes[2] == (["c"], "m")
    assert calls == [3]


@pytest.mark.parametrize("enabled", [True, False])
def test_concurrent_requests_with_one_poisoned_all_others_answered(enabled):
    calls: list[list[str]] = []

    async def scenario():
        batcher = MicroBatcher(_fake_model(calls), enabled=enabled, max_batch_size=64, max_wait_ms=20)
        await batcher.start()
        texts = [[f"text {i}"] for i in range(40)]
        texts[17] = ["poison"]
        results = await asyncio.gather(*(batcher.submit(t) for t in texts), return_exceptions=True)
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    failed = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    assert failed == [17] and isinstance(results[17], ValueError)
    assert [r.outputs for i, r in enumerate(results) if i != 17] == [[f"TEXT {i}"] for i in range(40) if i != 17]
    if enabled:
        assert any(len(c) > 1 for c in calls), "nothing was batched: the test did not exercise isolation"


def _scenario_while_busy(max_batch_size: int, followers: int) -> list[int]:
    """One request occupies the worker (its model call blocks until released); `followers` one-text requests arrive
    meanwhile; the sizes of the model calls that follow."""
    import threading

    sizes: list[int] = []
    started, release = threading.Event(), threading.Event()

    def run_batch(items):
        sizes.append(sum(len(texts) for texts, _ in items))
        if len(sizes) == 1:
            started.set()
            release.wait(30)
        return [list(texts) for texts, _ in items], "m"

    async def scenario():
        batcher = MicroBatcher(run_batch, max_batch_size=max_batch_size)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit(["lone"]))
        await asyncio.to_thread(started.wait, 30)  # the lone request went to the worker at once, with no wait
        rest = [asyncio.ensure_future(batcher.submit([f"t{i}"])) for i in range(followers)]
        await asyncio.sleep(0.05)  # every follower reaches the batcher (nothing blocks them: the queue is unbounded)
        release.set()
        results = await asyncio.gather(first, *rest)
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    assert [r.outputs for r in results] == [["lone"], *[[f"t{i}"] for i in range(followers)]]
    return sizes


def test_continuous_batching_runs_a_lone_request_at_once_and_closes_the_next_batch_when_the_worker_frees():
    assert _scenario_while_busy(64, 5) == [1, 5]  # everyone who arrived while the worker was busy: one batch


def test_continuous_batching_starts_a_new_batch_when_the_open_one_is_full():
    assert _scenario_while_busy(4, 6) == [1, 4, 2]


def test_the_next_batch_is_on_the_worker_before_the_last_batch_is_answered():
    """While batch A runs, B waits; when A's outputs come back, B goes to the worker first and A's callers are
    answered while it runs (the model does not wait for the event loop to write A's responses). A max_wait counts
    from a request's arrival: a request that waited behind A is not made to wait again."""
    import threading

    release = threading.Event()
    calls: list[list[str]] = []

    def run_batch(items):
        release.wait(5)
        calls.append([t for texts, _ in items for t in texts])
        return [[t.upper() for t in texts] for texts, _ in items], "m"

    async def main():
        batcher = MicroBatcher(run_batch, max_wait_ms=200)
        await batcher.start()
        loop = asyncio.get_running_loop()
        first = asyncio.create_task(batcher.submit(["a"]))
        await asyncio.sleep(0.3)  # A waited its 200 ms for company, then went to the worker (blocked there)
        second, third = (asyncio.create_task(batcher.submit([t])) for t in ("b", "c"))
        await asyncio.sleep(0.3)  # B and C wait behind A, longer than max_wait
        t0 = loop.time()
        release.set()
        answered = await first
        on_worker = batcher._busy  # B+C were handed over before A's answer reached its caller
        rest = await asyncio.gather(second, third)
        waited = loop.time() - t0
        await batcher.stop()
        return answered, on_worker, rest, waited

    answered, on_worker, rest, waited = asyncio.run(main())
    assert answered.outputs == ["A"] and [r.outputs for r in rest] == [["B"], ["C"]]
    assert on_worker is True
    assert calls == [["a"], ["b", "c"]]  # B and C in one batch
    assert waited < 0.2, f"B and C, already waiting 300 ms, waited {waited:.3f} s more (max_wait again)"


def test_a_request_after_stop_fails_at_once_instead_of_waiting_forever():
    async def main():
        batcher = MicroBatcher(_fake_model([]))
        await batcher.start()
        await batcher.stop()
        with pytest.raises(RuntimeError, match="shutdown"):
            await asyncio.wait_for(batcher.submit(["late"]), 5)

    asyncio.run(main())
