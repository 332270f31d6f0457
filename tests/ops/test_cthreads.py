"""The C kernels' worker pool (``_cthreads.c`` through ``convnet.ops._clib.run``) and the layout
tasks it runs before and after the conv kernels (``_clayout.c``)."""
import multiprocessing
import threading

import numpy as np
import pytest

from convnet.ops import _clib

pytestmark = pytest.mark.skipif(not _clib.available(),
                                reason="C kernels not built or no AVX-512 on this CPU (NumPy kernels run)")


def _relu_grad_job(out, g, gx, parts):
    """One ReLU-gradient call per row block of (rows, cols) float32 arrays."""
    bounds = np.linspace(0, out.shape[0], parts + 1).astype(int)
    return [[("cc_relu_backward", out[a:b].ctypes.data, g[a:b].ctypes.data, gx[a:b].ctypes.data, out[a:b].size)]
            for a, b in zip(bounds, bounds[1:])]


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("parts", [1, 2, 7, 64])
def test_every_chunk_runs_once(parts, parallel, rng, monkeypatch):
    monkeypatch.setenv("CONVNET_NUM_THREADS", "4")
    out = rng.standard_normal((640, 33)).astype(np.float32)
    g = rng.standard_normal((640, 33)).astype(np.float32)
    expected = np.where(out > 0, g, 0).astype(np.float32)
    for _ in range(20):                                       # stale workers of earlier jobs take nothing
        gx = np.full_like(g, np.nan)
        _clib.run(_relu_grad_job(out, g, gx, parts), parallel)
        np.testing.assert_array_equal(gx, expected)


def _finishes(fn, timeout=30.0):
    """Run ``fn()`` on a daemon thread; fail (instead of hanging the suite) if it has not returned
    within ``timeout`` seconds; re-raise its exception; return its result."""
    box = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{fn} did not return within {timeout} s (a pool deadlock?)"
    if "error" in box:
        raise box["error"]
    return box["result"]


def test_an_empty_job_does_nothing(rng):
    """No chunks, or only empty chunks, return at once; empty chunks among real ones are skipped;
    the pool still runs the next job right."""
    assert _finishes(lambda: _clib.run([])) is None
    assert _finishes(lambda: _clib.run([[], []])) is None
    out = rng.standard_normal((64, 9)).astype(np.float32)
    g = rng.standard_normal((64, 9)).astype(np.float32)
    expected = np.where(out > 0, g, 0).astype(np.float32)
    for parallel in (True, False):
        gx = np.full_like(g, np.nan)
        job = _relu_grad_job(out, g, gx, 3)
        _finishes(lambda: _clib.run([[]] + job[:2] + [[], []] + job[2:] + [[]], parallel))
        np.testing.assert_array_equal(gx, expected)


def test_calls_of_a_chunk_run_in_order(rng):
    """A chunk's calls run one after another on one thread: the bias goes onto the finished copy."""
    x = rng.standard_normal((6, 3, 4, 5)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    y = np.empty((6, 4, 5, 3), np.float32)
    geo = np.array([3, 4, 5, *(s // 4 for s in x.strides), 0, 0, 0, 0], np.int64)
    chunks = [[("cc_pad_last", x[i:i + 2].ctypes.data, y[i:i + 2].ctypes.data, 2, geo.ctypes.data),
               ("cc_bias_last", y[i:i + 2].ctypes.data, bias.ctypes.data, 2 * 4 * 5, 3)] for i in (0, 2, 4)]
    _clib.run(chunks)
    np.testing.assert_array_equal(y, np.moveaxis(x, 1, -1) + bias)


def test_jobs_from_several_python_threads(rng):
    """A caller that finds the pool busy runs its job on its own thread: every result is right."""
    out = rng.standard_normal((256, 40)).astype(np.float32)
    g = rng.standard_normal((256, 40)).astype(np.float32)
    expected = np.where(out > 0, g, 0).astype(np.float32)
    errors, done = [], []

    def caller():
        gx = np.empty_like(g)
        try:
            for _ in range(200):
                gx[:] = np.nan
                _clib.run(_relu_grad_job(out, g, gx, 8))
                if not np.array_equal(gx, expected):
                    errors.append("mismatch")
                    return
        except Exception as e:  # noqa: BLE001 - a raising job must fail the test, not end the thread quietly
            errors.append(repr(e))
            return
        done.append(True)

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a caller did not finish within 60 s (a pool deadlock?)"
    assert errors == [] and len(done) == 4


def _child(conn):
    out = np.linspace(-1, 1, 4000, dtype=np.float32).reshape(100, 40)
    g = np.ones_like(out)
    gx = np.empty_like(g)
    _clib.run(_relu_grad_job(out, g, gx, 4))
    conn.send(float(gx.sum()))
    conn.close()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_pool_works_in_a_forked_child():
    """Threads do not survive a fork: the child starts its own workers (a data loader's workers)."""
    out = np.ones((64, 16), np.float32)
    gx = np.empty_like(out)                                   # alive until the job is done
    _clib.run(_relu_grad_job(out, out, gx, 4))                # the parent's workers exist now
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(child,))
    p.start()
    assert parent.poll(30), "the forked child did not answer (a pool deadlock?)"
    assert parent.recv() == float(np.sum(np.linspace(-1, 1, 4000, dtype=np.float32) > 0))
    p.join(30)
    assert p.exitcode == 0


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided", "flipped"])
def test_pad_last_copies_any_layout(layout, rng):
    x0 = rng.standard_normal((3, 5, 6, 7)).astype(np.float32)
    x = {"nchw": x0, "channels_last": np.moveaxis(np.ascontiguousarray(np.moveaxis(x0, 1, -1)), -1, 1),
         "strided": x0[:, :, ::2, 1:], "flipped": x0[:, ::-1, :, ::-1]}[layout]
    pads = (1, 2, 0, 3)                                       # top, bottom, left, right
    N, C, H, W = x.shape
    out = np.full((N, H + 3, W + 3, C), np.nan, np.float32)
    geo = np.array([C, H, W, *(s // 4 for s in x.strides), *pads], np.int64)
    _clib.run([[("cc_pad_last", x.ctypes.data, out.ctypes.data, N, geo.ctypes.data)]], False)
    expected = np.pad(np.moveaxis(x, 1, -1), ((0, 0), (1, 2), (0, 3), (0, 0)))
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("pads", [(0, 0, 0, 0), (2, 1, 1, 3)])
def test_pad_planes_and_bias_planes(pads, rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    pt, pb, pl, pr = pads
    out = np.full((2, 3, 4 + pt + pb, 5 + pl + pr), np.nan, np.float32)
    geo = np.array([4, 5, *pads], np.int64)
    bias = rng.standard_normal(3).astype(np.float32)
    L = out.shape[2] * out.shape[3]
    _clib.run([[("cc_pad_planes", x.ctypes.data, out.ctypes.data, 6, geo.ctypes.data),
                ("cc_bias_planes", out.ctypes.data, bias.ctypes.data, 2, 3, L)]], False)
    expected = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr))) + bias.reshape(3, 1, 1)
    np.testing.assert_allclose(out, expected, rtol=0, atol=0)
