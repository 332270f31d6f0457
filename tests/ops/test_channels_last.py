"""Channels-last layout (PyTorch's ``channels_last`` memory format): the channels-last conv
kernel returns it, batch norm / ReLU / add keep it, gradients follow it; values never depend on
it. Also the per-thread scratch buffers and the chunk pool those kernels use."""
import threading

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops import _parallel, conv_nhwc
from convnet.ops._scratch import scratch
from convnet.ops._util import is_channels_last

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _last(a):
    """The same values as ``a`` (N, C, *S), laid out channels-last."""
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1)


def test_is_channels_last():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4, 5))
    assert not is_channels_last(a)                               # NCHW contiguous
    assert is_channels_last(_last(a))
    assert is_channels_last(_last(a)[1:])                        # a batch slice keeps it
    assert not is_channels_last(_last(a)[:, :2])                 # channel slice: not a plain layout
    assert not is_channels_last(a.transpose(0, 1, 3, 2))         # some other permutation
    assert not is_channels_last(_last(rng.standard_normal((2, 1, 4, 5))))  # one channel: both layouts
    assert not is_channels_last(rng.standard_normal((3, 4)))
    assert is_channels_last(_last(rng.standard_normal((2, 3, 7))))         # 1-D and 3-D too
    assert is_channels_last(_last(rng.standard_normal((2, 3, 2, 3, 4))))


def test_channels_last_conv_returns_that_layout():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 16, 12, 12)).astype(np.float32)
    w = (rng.standard_normal((16, 16, 3, 3)) / 12).astype(np.float32)
    assert conv_nhwc.applies(np, 16, 16, 1, 4 * 144)
    y = F.conv2d(cn.tensor(x), cn.tensor(w), padding=1)
    assert is_channels_last(y._data)
    ref = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy()
    np.testing.assert_allclose(y._data, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (16, 8, 16, 16), (3, 4, 7), (2, 3, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_channels_last_matches_torch(dtype, shape, training):
    """Forward, input/weight/bias gradients and running statistics, channels-last input vs torch."""
    rng = np.random.default_rng(2)
    C = shape[1]
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w, b = rng.uniform(0.5, 1.5, C).astype(dtype), rng.standard_normal(C).astype(dtype)
    rm, rv = rng.standard_normal(C).astype(dtype), rng.uniform(0.5, 2, C).astype(dtype)

    xo = cn.Tensor(_last(x), requires_grad=True)
    assert is_channels_last(xo._data)
    wo, bo = cn.tensor(w, requires_grad=True), cn.tensor(b, requires_grad=True)
    rmo, rvo = cn.tensor(rm.copy()), cn.tensor(rv.copy())
    yo = F.batch_norm(xo, rmo, rvo, wo, bo, training=training)
    assert is_channels_last(yo._data)
    yo.backward(cn.tensor(g))

    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    rmt, rvt = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    yt = TF.batch_norm(xt, rmt, rvt, wt, bt, training=training)
    yt.backward(torch.from_numpy(g))

    tol = dict(atol=1e-4, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-10, rtol=1e-9)
    np.testing.assert_allclose(yo._data, yt.detach().numpy(), **tol)
    np.testing.assert_allclose(xo.grad._data, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(wo.grad._data, wt.grad.numpy(), **tol)
    np.testing.assert_allclose(bo.grad._data, bt.grad.numpy(), **tol)
    assert wo.grad.shape == (C,) and bo.grad.shape == (C,)
    np.testing.assert_allclose(rmo._data, rmt.numpy(), **tol)
    np.testing.assert_allclose(rvo._data, rvt.numpy(), **tol)


def test_batch_norm_channels_last_without_affine():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 4, 6, 6))
    g = rng.standard_normal(x.shape)
    xo = cn.Tensor(_last(x), requires_grad=True)
    F.batch_norm(xo, None, None, training=True).backward(cn.tensor(g))
    xt = torch.tensor(x, requires_grad=True)
    TF.batch_norm(xt, None, None, training=True).backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad._data, xt.grad.numpy(), atol=1e-10, rtol=1e-9)


def test_relu_and_add_keep_the_layout_and_values():
    rng = np.random.default_rng(4)
    shape = (16, 8, 32, 32)                                      # big enough for the parallel paths
    a = (rng.standard_normal(shape) + 0.01).astype(np.float32)
    b = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)            # NCHW gradient into a channels-last op
    ao, bo = cn.Tensor(_last(a), requires_grad=True), cn.Tensor(_last(b), requires_grad=True)
    s = ao + bo
    r = F.relu(s)
    assert is_channels_last(s._data) and is_channels_last(r._data)
    r.backward(cn.tensor(g))
    expect = np.maximum(a + b, 0)
    np.testing.assert_array_equal(r._data, expect)
    np.testing.assert_array_equal(ao.grad._data, g * (a + b > 0))
    np.testing.assert_array_equal(bo.grad._data, g * (a + b > 0))


def test_conv_bn_relu_chain_in_channels_last_matches_torch():
    """conv -> BN -> ReLU -> conv (stride 2) -> sum: the layout propagates; values and every gradient
    agree with torch."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 16, 16, 16)).astype(np.float32)
    w1 = (rng.standard_normal((16, 16, 3, 3)) / 12).astype(np.float32)
    w2 = (rng.standard_normal((32, 16, 3, 3)) / 12).astype(np.float32)
    gamma, beta = rng.uniform(0.5, 1.5, 16).astype(np.float32), rng.standard_normal(16).astype(np.float32)

    def run(lib, mod, tensor):
        ts = [tensor(a) for a in (x, w1, w2, gamma, beta)]
        h = mod.conv2d(ts[0], ts[1], padding=1)
        h = mod.relu(mod.batch_norm(h, None, None, ts[3], ts[4], training=True))
        out = mod.conv2d(h, ts[2], stride=2, padding=1)
        (out * out).sum().backward()
        return out, ts

    out_o, to = run(cn, F, lambda a: cn.tensor(a, requires_grad=True))
    out_t, tt = run(torch, TF, lambda a: torch.tensor(a, requires_grad=True))
    assert is_channels_last(out_o._data)
    np.testing.assert_allclose(out_o._data, out_t.detach().numpy(), atol=2e-4, rtol=2e-4)
    for a, b in zip(to, tt):
        np.testing.assert_allclose(a.grad._data, b.grad.numpy(), atol=2e-3, rtol=2e-3)


def test_scratch_reuses_memory_per_name_and_thread():
    a = scratch(np, "t1", (4, 5), np.float32)
    a[...] = 7
    b = scratch(np, "t1", (2, 3), np.float32)                    # smaller: a view of the same memory
    assert np.shares_memory(a, b) and b.shape == (2, 3)
    c = scratch(np, "t1", (50, 50), np.float32)                  # larger: grows, new memory
    assert c.shape == (50, 50) and not np.shares_memory(a, c)
    assert not np.shares_memory(scratch(np, "t2", (4, 5), np.float32), scratch(np, "t1", (4, 5), np.float32))
    assert scratch(np, "t1", (3,), np.float64).dtype == np.float64
    other = []
    t = threading.Thread(target=lambda: other.append(scratch(np, "t1", (4, 5), np.float32)))
    t.start()
    t.join()
    assert not np.shares_memory(other[0], scratch(np, "t1", (4, 5), np.float32))


def test_map_chunks_keeps_order_and_runs_every_slice(monkeypatch):
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    slices = [slice(i, i + 1) for i in range(7)]
    seen = []

    def work(sl):
        seen.append(threading.current_thread().name)
        return sl.start

    out = _parallel.map_chunks(np, work, slices, 1 << 30, 0)
    assert out == list(range(7))
    assert len(seen) == 7


def test_pool_recycles_only_unreferenced_buffers():
    from convnet.ops import _pool

    shape = (_pool.MIN_BYTES // 4 + 8,)                          # just over the pool's threshold
    a = _pool.empty(np, shape, np.float32)
    a[...] = 1
    view = a[::3]                                                # a derived view keeps the buffer busy
    del a
    b = _pool.empty(np, shape, np.float32)
    assert not np.shares_memory(b, view)
    b[...] = 2
    assert np.all(view == 1)                                     # nothing wrote into the live view
    address = view.base.__array_interface__["data"][0]
    del view
    c = _pool.empty(np, shape, np.float32)                       # now free: handed out again
    assert c.base.__array_interface__["data"][0] == address
    assert b.ctypes.data % _pool.ALIGN == 0 and c.ctypes.data % _pool.ALIGN == 0  # cache-line aligned
    small = _pool.empty(np, (4,), np.float32)                    # small arrays bypass the pool
    assert small.base is None
    x = _last(np.zeros((4, 64, 32, 32), np.float32))
    assert is_channels_last(_pool.empty_like(x)) and _pool.empty_like(x).shape == x.shape
    assert _pool.empty_like(np.zeros((4, 64, 32, 32), np.float32)).flags.c_contiguous
    del b, c
    held = _pool.held_bytes()
    _pool.clear()
    assert _pool.held_bytes() < held


def test_pad_and_strided_slice_keep_the_layout():
    """ResNet's option-A shortcut, x[:, :, ::2, ::2] padded with zero channels, on channels-last x."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 6, 8, 8))
    xo = cn.Tensor(_last(x), requires_grad=True)
    sub = xo[:, :, ::2, ::2]
    out = F.pad(sub, (0, 0, 0, 0, 3, 3))
    assert is_channels_last(out._data)
    expect = np.pad(x[:, :, ::2, ::2], ((0, 0), (3, 3), (0, 0), (0, 0)))
    np.testing.assert_array_equal(out._data, expect)
    g = rng.standard_normal(out.shape)
    out.backward(cn.Tensor(_last(g)))
    gx = np.zeros_like(x)
    gx[:, :, ::2, ::2] = g[:, 3:9]
    np.testing.assert_array_equal(xo.grad._data, gx)


def test_pool_stays_under_its_cap(monkeypatch):
    from convnet.ops import _pool

    monkeypatch.setattr(_pool, "MAX_BYTES", _pool.held_bytes() + 3 * _pool.MIN_BYTES)
    n = _pool.MIN_BYTES // 4
    a = [_pool.empty(np, (n + 16 * i,), np.float32) for i in range(3)]   # three sizes, all kept
    held = _pool.held_bytes()
    del a
    b = _pool.empty(np, (n + 1000,), np.float32)                 # a fourth size: unused ones dropped first
    assert _pool.held_bytes() <= _pool.MAX_BYTES
    assert _pool.held_bytes() < held + b.nbytes


@pytest.mark.parametrize("shape", [(4, 6, 5, 16), (3, 7, 3), (2, 3, 3, 2000), (1, 1, 1, 5), (64, 9, 8)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_per_channel_sums(shape, dtype):
    """The folded-row sums over all axes but the last equal float64 sums (odd row counts, C wider
    than a folded row, one row)."""
    from convnet.ops.norm import sum_over
    rng = np.random.default_rng(5)
    a, b = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    axes = tuple(range(len(shape) - 1))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    want = a.astype(np.float64).sum(axis=axes, keepdims=True)
    np.testing.assert_allclose(sum_over(a, axes), want, rtol=tol, atol=tol * np.sqrt(a.size))
    want = (a.astype(np.float64) * b).sum(axis=axes, keepdims=True)
    np.testing.assert_allclose(sum_over(a, axes, b), want, rtol=tol, atol=tol * np.sqrt(a.size))


def test_engine_sums_large_gradients_into_fresh_memory(monkeypatch):
    """A large channels-last activation used twice gets the sum of both gradients, in a new array
    that aliases neither branch's gradient, in the layout of the first, from the ops layer's accumulator."""
    from convnet import autograd
    calls = []
    real = autograd._accumulate[0]

    def spy(a, b):
        out = real(a, b)
        calls.append((a, b, out))
        return out
    monkeypatch.setattr(autograd, "_accumulate", [spy])
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((16, 16, 32, 32)).astype(np.float32)  # 1 MB: a pooled, parallel add
    x = cn.tensor(_last(x0), requires_grad=True)
    h = F.relu(x)                                                  # channels-last, used twice below
    y = h * 2.0 + F.relu(h)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.where(x0 > 0, 3.0, 0.0))
    big = [(a, b, out) for a, b, out in calls if out.nbytes >= (1 << 20)]
    assert big, "the two gradients of h were not summed by the accumulator"
    for a, b, out in big:
        assert not np.shares_memory(out, a) and not np.shares_memory(out, b)
        assert is_channels_last(out) == is_channels_last(a)         # the first gradient's layout


def test_leaf_keeps_a_gradient_nothing_else_refers_to():
    """keep_gradient returns g itself only when the caller's variable is its sole reference (and, for
    a view, its memory's owner is referred to by that view alone, or that view and the pool)."""
    from convnet.ops import _pool
    a = np.ones(3, np.float32)
    kept = _pool.keep_gradient(a, np.float32)
    same = kept is a
    assert same
    del kept
    b = np.ones(3, np.float32)
    other = b                                                      # a second reference: copy
    kept = _pool.keep_gradient(b, np.float32)
    assert kept is not b and not np.shares_memory(kept, other)
    owner = np.ones(6, np.float32)
    v = owner[:3]                                                  # a view of memory someone else holds: copy
    kept = _pool.keep_gradient(v, np.float32)
    assert not np.shares_memory(kept, owner)
    c = np.ones(3, np.float32)
    kept = _pool.keep_gradient(c, np.float64)                      # another dtype: a converted copy
    assert kept.dtype == np.float64 and not np.shares_memory(kept, c)
    p = _pool.empty(np, (512, 1024), np.float32)                   # 2 MB: from the pool, a view of its buffer
    kept = _pool.keep_gradient(p, np.float32)
    same = kept is p
    assert same
    del p
    q = _pool.empty(np, (512, 1024), np.float32)                   # the kept gradient still holds its buffer
    assert not np.shares_memory(q, kept)


def test_leaf_gradients_never_share_memory():
    """Through the engine: two leaves fed one upstream gradient, a user-supplied gradient, and a
    retained graph never end up sharing memory with anything."""
    rng = np.random.default_rng(7)
    a, b = (cn.tensor(rng.standard_normal((512, 600)).astype(np.float32), requires_grad=True) for _ in range(2))
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    g = np.ones((512, 600), np.float32)
    c = cn.tensor(rng.standard_normal((512, 600)).astype(np.float32), requires_grad=True)
    (c * 1.0).backward(cn.tensor(g))
    assert not np.shares_memory(c.grad.numpy(), g)
    x = cn.tensor(rng.standard_normal((16, 16, 32, 32)).astype(np.float32), requires_grad=True)
    y = F.max_pool2d(x, 2)
    up = np.ones(y.shape, np.float32)
    y.backward(cn.tensor(up), retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    y.backward(cn.tensor(up))
    np.testing.assert_array_equal(x.grad.numpy(), first)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_global_average_pool_in_either_layout_matches_torch(layout):
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((3, 5, 4, 6)).astype(np.float32)
    x = cn.Tensor(_last(x0) if layout == "channels_last" else x0, requires_grad=True)
    assert is_channels_last(x._data) == (layout == "channels_last")
    g0 = rng.standard_normal((3, 5, 1, 1)).astype(np.float32)
    y = F.adaptive_avg_pool2d(x, 1)
    y.backward(cn.tensor(g0))
    xt = torch.tensor(x0, requires_grad=True)
    yt = TF.adaptive_avg_pool2d(xt, 1)
    yt.backward(torch.tensor(g0))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.skipif(not __import__("convnet.ops._clib", fromlist=["available"]).available(),
                    reason="C kernels not built or no AVX-512 on this CPU")
@pytest.mark.parametrize("C", [3, 16, 20, 70])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_c_kernels_match_torch(C, training, affine, monkeypatch):
    """The C batch-norm kernels (channel counts off the 16-lane vectors too), forward, running
    statistics and every gradient vs torch; blocks small enough that several run on the pool."""
    from convnet.ops import norm
    monkeypatch.setattr(norm, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(norm, "PARALLEL_MIN_BYTES", 0)
    ran = []
    for name in ("_c_moments", "_channel_vector"):
        real = getattr(norm, name)
        monkeypatch.setattr(norm, name, lambda *a, _r=real, _n=name: ran.append(_n) or _r(*a))
    rng = np.random.default_rng(9)
    shape = (6, C, 5, 7)
    x = (rng.standard_normal(shape) * 1.5 + 0.5).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    w, b = rng.uniform(0.5, 1.5, C).astype(np.float32), rng.standard_normal(C).astype(np.float32)
    rm, rv = rng.standard_normal(C).astype(np.float32), rng.uniform(0.5, 2, C).astype(np.float32)
    xo = cn.Tensor(_last(x), requires_grad=True)
    wo, bo = (cn.tensor(w, requires_grad=True), cn.tensor(b, requires_grad=True)) if affine else (None, None)
    rmo, rvo = cn.tensor(rm.copy()), cn.tensor(rv.copy())
    yo = F.batch_norm(xo, rmo, rvo, wo, bo, training=training)
    yo.backward(cn.tensor(g))
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) if affine else (None, None)
    rmt, rvt = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    yt = TF.batch_norm(xt, rmt, rvt, wt, bt, training=training)
    yt.backward(torch.tensor(g))
    tol = dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), **tol)
    np.testing.assert_allclose(rmo.numpy(), rmt.numpy(), **tol)
    np.testing.assert_allclose(rvo.numpy(), rvt.numpy(), **tol)
    if affine:
        np.testing.assert_allclose(wo.grad.numpy(), wt.grad.numpy(), rtol=2e-4, atol=1e-4)
        np.testing.assert_allclose(bo.grad.numpy(), bt.grad.numpy(), rtol=2e-4, atol=1e-4)
    assert "_channel_vector" in ran and (("_c_moments" in ran) == training)


@pytest.mark.skipif(not __import__("convnet.ops._clib", fromlist=["available"]).available(),
                    reason="C kernels not built or no AVX-512 on this CPU")
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "mixed"])
def test_relu_c_kernels(layout, monkeypatch):
    """ReLU by the C kernels (both layouts; a mixed pair falls back to NumPy): the forward is
    np.maximum(x, 0) (NaN stays NaN; -0.0 stays -0.0, as in torch.relu); the gradient is g where the output is > 0, zero
    elsewhere, also where the input was 0 or NaN and where g is inf."""
    from convnet.ops import activation
    monkeypatch.setattr(activation, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(activation._pool, "MIN_BYTES", 0)
    calls = []
    real = activation._same_layout_rows
    monkeypatch.setattr(activation, "_same_layout_rows", lambda *a: calls.append(real(*a)) or calls[-1])
    rng = np.random.default_rng(10)
    x0 = rng.standard_normal((5, 6, 7, 9)).astype(np.float32)     # 6*7*9 = 378 elements per image: a tail
    x0[0, 0, 0, :3] = [0.0, np.nan, -0.0]
    g0 = rng.standard_normal(x0.shape).astype(np.float32)
    g0[1, 1, 1, 1] = np.inf
    x = cn.Tensor(x0 if layout == "contiguous" else _last(x0), requires_grad=True)
    y = F.relu(x)
    np.testing.assert_array_equal(y.detach().numpy(), np.maximum(x0, np.float32(0)))
    assert np.signbit(y.detach().numpy()[0, 0, 0, 2])
    y.backward(cn.Tensor(_last(g0) if layout == "channels_last" else g0))  # mixed: x channels-last, g not
    want = np.where(x0 > 0, g0, 0.0)
    np.testing.assert_array_equal(x.grad.numpy()[~np.isnan(x0)], want[~np.isnan(x0)])
    assert x.grad.numpy()[0, 0, 0, 1] == 0 or layout == "mixed"
    assert (calls[-1] is not None) == (layout != "mixed")
