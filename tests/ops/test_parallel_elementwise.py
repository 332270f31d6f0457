"""Batch-parallel batch norm, ReLU and residual add: vs torch, by finite differences, and
deterministic (bit-for-bit the same with 1 or 2 worker threads, and run to run)."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops import activation, elementwise, norm
from helpers import check_against_torch, gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

MODULES = (norm, activation, elementwise)


@pytest.fixture
def pool_calls(monkeypatch):
    """Two worker threads; records ``(number of slices, over the threshold)`` of every call the
    three op modules make to the worker pool."""
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    calls = []
    for mod in MODULES:
        def spy(xp, work, slices, total_bytes, min_bytes, _real=mod.map_chunks):
            calls.append((len(slices), total_bytes >= min_bytes))
            return _real(xp, work, slices, total_bytes, min_bytes)
        monkeypatch.setattr(mod, "map_chunks", spy)
    return calls


@pytest.fixture
def tiny_threshold(monkeypatch, pool_calls):
    """Force the parallel path on small float64 inputs, with many small batch blocks."""
    for mod in MODULES:
        monkeypatch.setattr(mod, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(norm, "BLOCK_BYTES", 256)
    return pool_calls


def _went_parallel(calls):
    return any(n >= 2 and over for n, over in calls)


def _bn_inputs(rng, shape, dtype):
    C = shape[1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    return x, rng.uniform(0.5, 1.5, C).astype(dtype), rng.uniform(-1, 1, C).astype(dtype)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_large_batch_vs_torch(training, rng, pool_calls):
    shape = (64, 8, 32, 32)  # 2 MiB of float32: over the threshold
    x, w, b = _bn_inputs(rng, shape, np.float32)
    rm, rv = rng.uniform(-1, 1, 8).astype(np.float32), rng.uniform(0.5, 2, 8).astype(np.float32)
    rm_o, rv_o, rm_t, rv_t = cn.tensor(rm.copy()), cn.tensor(rv.copy()), torch.tensor(rm), torch.tensor(rv)
    check_against_torch(lambda x, w, b: F.batch_norm(x, rm_o, rv_o, w, b, training=training),
                        lambda x, w, b: TF.batch_norm(x, rm_t, rv_t, w, b, training=training), [x, w, b])
    np.testing.assert_allclose(rm_o.numpy(), rm_t.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv_o.numpy(), rv_t.numpy(), rtol=1e-5, atol=1e-6)
    assert _went_parallel(pool_calls)


def test_relu_and_add_large_batch_vs_torch(rng, pool_calls):
    shape = (64, 8, 32, 32)
    a, b = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    check_against_torch(lambda a, b: F.relu(a) + b, lambda a, b: TF.relu(a) + b, [a, b])
    assert _went_parallel(pool_calls)


@pytest.mark.parametrize("shape", [(10, 3, 4, 5), (9, 4, 6), (12, 5)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_parallel_path(shape, training, affine, rng, tiny_threshold):
    x, w, b = _bn_inputs(rng, shape, np.float64)
    C = shape[1]
    rm, rv = rng.uniform(-1, 1, C), rng.uniform(0.5, 2, C)
    params = [w, b] if affine else []
    check_against_torch(
        lambda x, *p: F.batch_norm(x, cn.tensor(rm.copy()), cn.tensor(rv.copy()), *p, training=training),
        lambda x, *p: TF.batch_norm(x, torch.tensor(rm), torch.tensor(rv), *p, training=training),
        [x] + params)
    gradcheck(lambda x, *p: F.batch_norm(x, cn.tensor(rm.copy()), cn.tensor(rv.copy()), *p, training=training,
                                         momentum=0.0), [x] + params)
    assert _went_parallel(tiny_threshold)


def test_relu_add_parallel_path(rng, tiny_threshold):
    shape = (6, 3, 4, 4)
    a = rng.uniform(0.05, 1, shape) * rng.choice([-1, 1], shape)  # off the kink at 0
    b = rng.standard_normal(shape)
    check_against_torch(lambda a, b: F.relu(a) + b, lambda a, b: TF.relu(a) + b, [a, b])
    gradcheck(lambda a, b: F.relu(a) + b, [a, b])
    assert _went_parallel(tiny_threshold)


def test_relu_nan_and_no_grad(rng, pool_calls):
    x = rng.standard_normal((64, 8, 32, 32)).astype(np.float32)
    x[0, 0, 0, :3] = [np.nan, -0.5, 0.5]
    with cn.no_grad():
        y = F.relu(cn.tensor(x)).numpy()
    np.testing.assert_array_equal(y, TF.relu(torch.tensor(x)).numpy())
    t = cn.tensor(x, requires_grad=True)
    F.relu(t).sum().backward()
    assert t.grad.numpy()[0, 0, 0, :3].tolist() == [0.0, 0.0, 1.0]  # no gradient through NaN
    assert _went_parallel(pool_calls)


def _bn_relu_add_step(x, w, b):
    """Forward and backward of relu(batch_norm(x)) + x: the arrays that come out."""
    xt, wt, bt = (cn.tensor(a.copy(), requires_grad=True) for a in (x, w, b))
    rm, rv = cn.zeros(x.shape[1]), cn.ones(x.shape[1])
    out = F.relu(F.batch_norm(xt, rm, rv, wt, bt, training=True)) + xt
    out.backward(cn.tensor(np.cos(np.arange(out.numel(), dtype=np.float32)).reshape(out.shape)))
    return [out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy(), rm.numpy(), rv.numpy()]


def test_bit_for_bit_deterministic(rng, monkeypatch, pool_calls):
    x, w, b = _bn_inputs(rng, (128, 16, 16, 16), np.float32)  # 2 MiB, several batch blocks
    first = _bn_relu_add_step(x, w, b)
    assert _went_parallel(pool_calls)
    again = _bn_relu_add_step(x, w, b)
    monkeypatch.setenv("CONVNET_NUM_THREADS", "1")  # everything inline: the same blocks, same sums
    inline = _bn_relu_add_step(x, w, b)
    for u, v, s in zip(first, again, inline):
        assert u.tobytes() == v.tobytes() == s.tobytes()
