"""Micro-batching: concurrent requests coalesced into one model call, run on a worker thread.

The event loop never runs the model. One worker thread runs one batch at a time, and one more batch may wait ready
behind it (double buffering: the next batch's HTTP parsing overlaps the current batch's inference). While both
places are taken, new requests queue up and become the batch after, so batches grow with load on their own
(adaptive batching). A request waits at most `max_wait_ms` for others to join its batch. A request's texts are
never split across batches.

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
    def __init__(self, run_batch: RunBatch, *, enabled: bool = True, max_batch_size: int = 64, max_wait_ms: float = 2.0,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._run_batch = run_batch
        self.enabled = enabled
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self._on_batch = on_batch or (lambda n: None)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="domainfit-infer")
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task | None = None
        self._slots: asyncio.Semaphore | None = None
        self._running: set[asyncio.Task] = set()
        self.in_flight = 0

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._slots = asyncio.Semaphore(2)  # one batch running on the worker, one ready behind it
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
        while True:
            await self._slots.acquire()
            batch = [await self._queue.get()]
            size = len(batch[0].texts)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch_size:
                if self._queue.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                else:
                    item = self._queue.get_nowait()
                if size + len(item.texts) > self.max_batch_size:
                    self._launch(loop, batch, size)  # the newcomer starts the next batch
                    await self._slots.acquire()
                    batch, size = [item], len(item.texts)
                    deadline = loop.time() + self.max_wait
                    continue
                batch.append(item)
                size += len(item.texts)
            self._launch(loop, batch, size)

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
            self._slots.release()
            for _ in batch:
                self._queue.task_done()
