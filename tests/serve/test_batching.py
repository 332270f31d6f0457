"""MicroBatcher: concurrent submissions share forward passes, in order, off the event loop."""
import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from convnet.serve.batching import MicroBatcher


def run(max_batch, max_wait_ms, n, fn=None):
    calls = []

    def double(batch):  # (N, 2) -> (N, 2); records the batch size and the thread it ran in
        calls.append((len(batch), threading.current_thread().name))
        return batch * 2

    async def main():
        with ThreadPoolExecutor(1, thread_name_prefix="infer") as ex:
            b = MicroBatcher(fn or double, ex, max_batch=max_batch, max_wait_ms=max_wait_ms)
            b.start()
            out = await asyncio.gather(*(b.submit(np.array([i, -i], np.float32)) for i in range(n)),
                                       return_exceptions=True)
            await b.stop()
            return out, b

    out, b = asyncio.run(main())
    return out, calls, b


def test_concurrent_requests_share_one_forward_pass():
    out, calls, b = run(max_batch=32, max_wait_ms=50, n=10)
    assert [c[0] for c in calls] == [10]
    assert all(name.startswith("infer") for _, name in calls)  # off the event loop
    for i, row in enumerate(out):
        np.testing.assert_array_equal(row, [2 * i, -2 * i])
    assert (b.batches, b.items) == (1, 10)


def test_max_batch_splits_and_batching_off():
    assert [c[0] for c in run(max_batch=4, max_wait_ms=50, n=10)[1]] == [4, 4, 2]
    assert [c[0] for c in run(max_batch=1, max_wait_ms=0, n=5)[1]] == [1] * 5


def test_an_error_reaches_every_waiting_request_and_the_batcher_goes_on():
    state = {"calls": 0}

    def flaky(batch):
        state["calls"] += 1
        if state["calls"] == 1:
            raise RuntimeError("boom")
        return batch

    out, _, b = run(max_batch=3, max_wait_ms=50, n=6, fn=flaky)
    assert all(isinstance(o, RuntimeError) for o in out[:3])
    np.testing.assert_array_equal(np.stack(out[3:]), [[3, -3], [4, -4], [5, -5]])


@pytest.mark.parametrize("kwargs", [{"max_batch": 0}, {"max_wait_ms": -1}, {"max_wait_ms": float("nan")}])
def test_bad_settings(kwargs):
    with pytest.raises(ValueError, match="MicroBatcher"):
        MicroBatcher(lambda b: b, None, **kwargs)
