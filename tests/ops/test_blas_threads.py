"""convnet keeps BLAS's own threads asleep: products big enough for OpenBLAS to thread run with
BLAS on one thread (inline or split over convnet's worker pool), and the user's BLAS setting
is restored afterwards. Results are those of a plain ``a @ b``."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

import convnet as cn
import convnet.functional as F
from convnet.ops import _parallel, linear


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 8, 3), (128, 120, 84), (512, 256, 128), (3, 2048, 2048)])
def test_mm_matches_matmul(monkeypatch, dtype, shape):
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    M, K, N = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(dtype)
    bt = rng.standard_normal((N, K)).astype(dtype)               # used transposed, as Linear does
    before = _blas_threads()
    got = linear._mm(a, bt.T)
    assert _blas_threads() == before
    np.testing.assert_allclose(got, a.astype(np.float64) @ bt.T.astype(np.float64),
                               rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-3 if dtype == np.float32 else 1e-10)


def test_mm_takes_each_path(monkeypatch):
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    seen = []
    real_map, real_pin = linear.map_chunks, linear.single_threaded_blas
    monkeypatch.setattr(linear, "map_chunks", lambda *a, **k: seen.append("pool") or real_map(*a, **k))
    monkeypatch.setattr(linear, "single_threaded_blas", lambda: seen.append("pinned") or real_pin())
    rng = np.random.default_rng(1)
    for M, K, N in [(8, 8, 8), (128, 120, 84), (512, 256, 128)]:
        linear._mm(rng.standard_normal((M, K)), rng.standard_normal((K, N)))
    assert seen == ["pinned", "pool"]                            # small: plain; medium: pinned; big: pool


def test_linear_and_conv_restore_the_blas_setting(monkeypatch):
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    before = _blas_threads()
    rng = np.random.default_rng(2)
    x = cn.tensor(rng.standard_normal((128, 16, 5, 5)).astype(np.float32), requires_grad=True)
    w = cn.tensor(rng.standard_normal((120, 16, 5, 5)).astype(np.float32), requires_grad=True)
    h = F.conv2d(x, w)                                           # LeNet's C5: runs inline, BLAS pinned
    fc = cn.tensor(rng.standard_normal((84, 120)).astype(np.float32), requires_grad=True)
    F.linear(h.reshape(128, 120), fc).sum().backward()
    assert _blas_threads() == before
    assert x.grad is not None and fc.grad.shape == (84, 120)


def test_inline_map_chunks_pins_blas_and_keeps_order(monkeypatch):
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    inside = []

    def work(sl):
        inside.append(_blas_threads())
        return sl.start

    slices = [slice(i, i + 1) for i in range(3)]
    out = _parallel.map_chunks(np, work, slices, _parallel.INLINE_PIN_BYTES, 1 << 40)  # too small for the pool
    assert out == [0, 1, 2]
    assert all(all(n == 1 for n in t) for t in inside)
    inside.clear()
    _parallel.map_chunks(np, work, slices, 10, 1 << 40)          # tiny: BLAS left alone
    assert inside and inside[0] == _blas_threads()
