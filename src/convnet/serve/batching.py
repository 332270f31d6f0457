"""Micro-batching: concurrent requests share one forward pass, run off the event loop.

A request puts its prepared image on a queue and awaits a future. One collector task takes the
first waiting image, then keeps collecting for up to ``max_wait_ms`` milliseconds or until
``max_batch`` images are in hand, stacks them into one ``(N, C, H, W)`` batch and runs
``fn(batch)`` in the single inference thread (``executor``); row ``i`` of the result answers
request ``i``. With ``max_batch=1`` every request is its own forward pass (batching off), still
off the event loop.

All model work (batched predictions and the page's per-layer maps) goes through the same
one-thread executor, so the model is never run by two threads at once.
"""
from __future__ import annotations

import asyncio
import time

import numpy as np

__all__ = ["MicroBatcher"]


class MicroBatcher:
    """Collect up to ``max_batch`` requests for up to ``max_wait_ms`` ms; one ``fn`` call per batch.

    Args:
        fn: ``(N, C, H, W) array -> (N, ...) array``, run in ``executor``.
        executor: a ``concurrent.futures`` executor with one worker thread.
        max_batch: most requests per forward pass (1 = no batching).
        max_wait_ms: how long the first request of a batch waits for company.

    Attributes:
        batches, items: forward passes run and requests answered (``items / batches`` = mean batch size).
    """

    def __init__(self, fn, executor, max_batch=32, max_wait_ms=5.0):
        if int(max_batch) < 1:
            raise ValueError(f"MicroBatcher: max_batch must be at least 1, received {max_batch}")
        if not max_wait_ms >= 0:
            raise ValueError(f"MicroBatcher: max_wait_ms must be >= 0, received {max_wait_ms}")
        self.fn, self.executor = fn, executor
        self.max_batch, self.max_wait = int(max_batch), float(max_wait_ms) / 1000.0
        self.batches = self.items = 0
        self._queue = None
        self._task = None

    def start(self):
        """Start the collector on the running event loop (the app's startup)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def stop(self):
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def submit(self, x):
        """One input ``(C, H, W)`` -> its row of ``fn``'s output."""
        if self._task is None:
            self.start()
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((x, future))
        return await future

    async def _collect(self):
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:  # poll (never cancel a pending get: no request is lost)
                while len(batch) < self.max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                left = deadline - time.monotonic()
                if len(batch) >= self.max_batch or left <= 0:
                    break
                await asyncio.sleep(min(left, 0.0005))
            batch = [(x, f) for x, f in batch if not f.done()]  # a client that went away
            if not batch:
                continue
            try:
                out = await loop.run_in_executor(self.executor, self.fn, np.stack([x for x, _ in batch]))
            except Exception as e:  # noqa: BLE001 - every waiting request gets the error, the loop goes on
                for _, f in batch:
                    if not f.done():
                        f.set_exception(e)
                continue
            self.batches += 1
            self.items += len(batch)
            for row, (_, f) in zip(out, batch):
                if not f.done():
                    f.set_result(row)
