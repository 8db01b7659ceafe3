"""Micro-batching: concurrent requests coalesced into one model call, run on a worker thread.

The event loop never runs the model. One worker thread runs one batch at a time. Batching is continuous: a batch is
closed when the worker is free, not after a fixed wait. A request that finds the worker free starts at once with
whatever is queued beside it (a lone request waits for nothing); while the worker is busy, the next batch stays open
and every request that arrives joins it, until the worker frees up or the batch is full, so batches grow with load on
their own and no request waits longer than the batch ahead of it. `max_wait_ms` (default 0) lets a free worker wait
that long for company, for a model whose call costs much more than its texts. A request's texts are never split
across batches. When a batch's outputs come back, the next batch goes to the worker first, and the answers are sent
while it runs: the model does not wait for the event loop to write responses and read new requests.

Written by hand: the coalescing policy is the server's own (an asyncio event loop handing batches to one thread);
no library offers it for an in-process model.

One request's failure is its own: when a model call fails, its batch is split in halves and each half retried (on the
same worker, at once), down to the single request that fails; every other request gets its answer. A bad request
costs about 2·log2(batch) extra calls, not everyone's answer. `run_batch` may also return an exception in place of one
request's outputs: that request fails with it, without retries (the prediction log's refusal uses this).

With batching off, each request is its own model call on the same single worker (the baseline to compare with).
"""

from __future__ import annotations

import asyncio
from collections import deque
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
    arrived: float = 0.0  # the event loop's clock when it was submitted


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
    """The batcher: requests wait in arrival order; whenever the worker is free, what waits (up to `max_batch_size`
    texts) becomes the next batch. The next batch is handed to the worker thread in the same step that receives the
    last batch's outputs, before those answers are sent: the model computes while the event loop writes responses
    and reads new requests, instead of waiting for it."""

    def __init__(self, run_batch: RunBatch, *, enabled: bool = True, max_batch_size: int = 64, max_wait_ms: float = 0.0,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._run_batch = run_batch
        self.enabled = enabled
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self._on_batch = on_batch or (lambda n: None)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="domainfit-infer")
        self._waiting: deque[_Pending] = deque()
        self._busy = False  # the worker runs a batch
        self._timer: asyncio.TimerHandle | None = None  # a free worker waiting `max_wait` for company
        self._idle: asyncio.Event | None = None  # set while nothing waits and no batch runs
        self._loop: asyncio.AbstractEventLoop | None = None
        self.in_flight = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle = asyncio.Event()
        self._idle.set()

    async def stop(self) -> None:
        """Finish what is queued, then stop the worker."""
        if self._idle is not None:
            await self._idle.wait()
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
            assert self._loop is not None, "MicroBatcher.start() was not awaited"
            future = self._loop.create_future()
            self._waiting.append(_Pending(texts, options, future, self._loop.time()))
            self._idle.clear()
            self._next()
            return await future
        finally:
            self.in_flight -= 1

    def _waiting_texts(self) -> int:
        return sum(len(p.texts) for p in self._waiting)

    def _next(self, *, waited: bool = False) -> None:
        """Start the next batch if the worker is free and something waits (after `max_wait` for company, unless the
        batch is full already). Runs on the event loop, never blocks."""
        if self._busy or not self._waiting:
            return
        if self.max_wait > 0 and not waited and self._waiting_texts() < self.max_batch_size:
            left = self._waiting[0].arrived + self.max_wait - self._loop.time()  # the oldest request's wait so far counts
            if left > 0:
                if self._timer is None:
                    self._timer = self._loop.call_later(left, self._waited)
                return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = [self._waiting.popleft()]  # a first request always goes, whatever its size
        size = len(batch[0].texts)
        while self._waiting and size + len(self._waiting[0].texts) <= self.max_batch_size:
            size += len(self._waiting[0].texts)
            batch.append(self._waiting.popleft())
        try:
            work = self._loop.run_in_executor(self._executor, run_isolated, self._run_batch,
                                              [(p.texts, p.options) for p in batch])
        except RuntimeError as exc:  # the worker is shut down (a request after stop()): these callers get the error
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        self._busy = True
        work.add_done_callback(lambda done: self._finished(done, batch, size))

    def _waited(self) -> None:
        self._timer = None
        self._next(waited=True)

    def _finished(self, done: asyncio.Future, batch: list[_Pending], size: int) -> None:
        self._busy = False
        self._next()  # the worker gets the next batch first; the answers below are sent while it runs
        try:
            outcomes = done.result()
        except Exception as exc:  # a bug in the isolation itself: every caller gets the error; the server goes on
            outcomes = [exc] * len(batch)
        else:
            self._on_batch(size)
        for p, outcome in zip(batch, outcomes):
            if p.future.done():  # the client went away
                continue
            if isinstance(outcome, BaseException):
                p.future.set_exception(outcome)
            else:
                p.future.set_result(BatchResult(outcome[0], outcome[1], size))
        if not self._busy and not self._waiting:
            self._idle.set()
