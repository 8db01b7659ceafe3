"""Micro-batching: concurrent requests coalesced into one model call, run on a worker thread.

The event loop never runs the model. One worker thread runs one batch at a time. Batching is continuous: a batch is
closed when the worker is free, not after a fixed wait. A request that finds the worker free starts at once with
whatever is queued beside it (a lone request waits for nothing); while the worker is busy, the next batch stays open
and every request that arrives joins it, until the worker frees up or the batch is full, so batches grow with load on
their own and no request waits longer than the batch ahead of it. `max_wait_ms` (default 0) lets a free worker wait
that long for company, for a model whose call costs much more than its texts. A request's texts are never split
across batches.

One request's failure is its own: when a model call fails, its batch is split in halves and each half retried (on the
same worker, at once), down to the single request that fails; every other request gets its answer. A bad request
costs about 2·log2(batch) extra calls, not everyone's answer. `run_batch` may also return an exception in place of one
request's outputs: that request fails with it, without retries (the prediction log's refusal uses this).

With batching off, each request is its own model call on the same single worker (the baseline to compare with).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatchResult", "MicroBatcher", "run_isolated"]


@dataclass
class BatchResult:
    """What one model call returns for the texts of one request."""

    outputs: list[Any]
    model: Any  # the loaded model that produced them (its name/version go into the response)
    batch_size: int


@dataclass
class _Pending:
    texts: Sequence[str]
    options: dict
    future: asyncio.Future = field(repr=False)


# run_batch(list of (texts, options)) -> (list of outputs per request (or an exception for that request), model)
RunBatch = Callable[[list[tuple[Sequence[str], dict]]], tuple[list[list[Any] | BaseException], Any]]
Outcome = tuple[Any, Any] | BaseException  # (outputs, model) for one request, or why it failed


def run_isolated(run_batch: RunBatch, items: list[tuple[Sequence[str], dict]]) -> list[Outcome]:
    """One call for every request; if it fails, each half is retried, so that only a request that fails on its own
    gets an error. Runs on the worker thread."""
    try:
        outputs, model = run_batch(items)
    except Exception as exc:
        if len(items) == 1:
            return [exc]
        mid = len(items) // 2
        return run_isolated(run_batch, items[:mid]) + run_isolated(run_batch, items[mid:])
    return [out if isinstance(out, BaseException) else (out, model) for out in outputs]


class MicroBatcher:
    def __init__(self, run_batch: RunBatch, *, enabled: bool = True, max_batch_size: int = 64, max_wait_ms: float = 0.0,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._run_batch = run_batch
        self.enabled = enabled
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self._on_batch = on_batch or (lambda n: None)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="domainfit-infer")
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task | None = None
        self._free: asyncio.Event | None = None  # set while the worker runs no batch
        self._running: set[asyncio.Task] = set()
        self.in_flight = 0

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._free = asyncio.Event()
        self._free.set()
        if self.enabled:
            self._task = asyncio.create_task(self._collect(), name="domainfit-batcher")

    async def stop(self) -> None:
        """Finish what is queued, then stop the worker."""
        if self._queue is not None and self.enabled:
            await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def submit(self, texts: Sequence[str], options: dict | None = None) -> BatchResult:
        options = options or {}
        self.in_flight += 1
        try:
            if not self.enabled:
                loop = asyncio.get_running_loop()
                outputs, model = await loop.run_in_executor(self._executor, self._run_batch, [(texts, options)])
                self._on_batch(len(texts))
                if isinstance(outputs[0], BaseException):
                    raise outputs[0]
                return BatchResult(outputs[0], model, len(texts))
            assert self._queue is not None, "MicroBatcher.start() was not awaited"
            future = asyncio.get_running_loop().create_future()
            await self._queue.put(_Pending(texts, options, future))
            return await future
        finally:
            self.in_flight -= 1

    async def _collect(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        carry: _Pending | None = None  # the request that did not fit the last batch starts the next one
        while True:
            first = carry if carry is not None else await self._queue.get()
            carry = None
            batch, size = [first], len(first.texts)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch_size:
                if self._queue.empty():
                    if self._free.is_set() and loop.time() >= deadline:
                        break  # the worker is free: go now
                    item = await self._next_or_free(loop, deadline if self._free.is_set() else None)
                    if item is None:
                        continue  # the worker became free (or the idle wait ended): look again
                else:
                    item = self._queue.get_nowait()
                if size + len(item.texts) > self.max_batch_size:
                    carry = item
                    break
                batch.append(item)
                size += len(item.texts)
            await self._free.wait()
            self._free.clear()
            self._launch(loop, batch, size)

    async def _next_or_free(self, loop, deadline: float | None) -> _Pending | None:
        """The next request, or None when the worker becomes free (or `deadline` passes) first."""
        get = asyncio.ensure_future(self._queue.get())
        waiters = {get}
        if deadline is None:
            waiters.add(asyncio.ensure_future(self._free.wait()))
        timeout = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters - {get}:
                waiter.cancel()
        if get.done():
            return get.result()
        get.cancel()  # a cancelled Queue.get leaves its item in the queue
        return None

    def _launch(self, loop, batch: list[_Pending], size: int) -> None:
        task = asyncio.create_task(self._run(loop, batch, size))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, loop, batch: list[_Pending], size: int) -> None:
        try:
            outcomes = await loop.run_in_executor(self._executor, run_isolated, self._run_batch,
                                                  [(p.texts, p.options) for p in batch])
        except Exception as exc:  # a bug in the isolation itself: every caller gets the error; the server goes on
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
        else:
            self._on_batch(size)
            for p, outcome in zip(batch, outcomes):
                if p.future.done():  # the client went away
                    continue
                if isinstance(outcome, BaseException):
                    p.future.set_exception(outcome)
                else:
                    p.future.set_result(BatchResult(outcome[0], outcome[1], size))
        finally:
            self._free.set()
            for _ in batch:
                self._queue.task_done()
