"""Max pooling by the C kernels (ops/_cpool.c via pool.py): values, winners and gradients vs
torch, in both layouts, with ties, NaN and -inf; and where the NumPy code keeps the work."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops import _clib, pool
from convnet.ops._util import is_channels_last

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not _clib.available(), reason="C kernels not built or no AVX-512 on this CPU")
TF = torch.nn.functional


def _last(a):
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1)


@pytest.fixture
def ran(monkeypatch):
    calls = []
    real = pool._c_maxpool2d_forward
    monkeypatch.setattr(pool, "_c_maxpool2d_forward", lambda x, w: calls.append(real(x, w)) or calls[-1])
    return calls


GEOMETRIES = [  # (shape, kernel, stride)
    ((3, 5, 8, 8), 2, 2),
    ((2, 17, 9, 7), 2, 2),            # trailing row/column in no window; 16 + 1 channels
    ((2, 4, 9, 9), 3, 2),             # overlapping windows: gradients add up
    ((2, 3, 7, 10), (2, 3), (1, 2)),
    ((4, 6, 5), 2, 1),                # unbatched (C, H, W)
]


# channels-last only for batched (N, C, H, W) inputs
CASES = [(shape, k, s, layout) for shape, k, s in GEOMETRIES for layout in ("contiguous", "channels_last")
         if layout == "contiguous" or len(shape) == 4]


@pytest.mark.parametrize("shape,k,s,layout", CASES)
@pytest.mark.parametrize("values", ["random", "ties", "special"])
def test_c_max_pool_matches_torch(shape, k, s, layout, values, ran, monkeypatch):
    monkeypatch.setattr(pool, "PARALLEL_MIN_BYTES", 0)              # batch slices on the pool
    monkeypatch.setattr(pool, "C_POOL_MIN_BYTES", 0)
    rng = np.random.default_rng(11)
    x0 = rng.standard_normal(shape).astype(np.float32)
    if values == "ties":
        x0 = rng.integers(0, 3, shape).astype(np.float32)           # many equal maxima: first one wins
    elif values == "special":
        flat = x0.reshape(-1)
        flat[::7] = -np.inf
        flat[::11] = np.nan
    x = cn.Tensor(_last(x0) if layout == "channels_last" else x0, requires_grad=True)
    y = F.max_pool2d(x, k, s)
    assert ran and ran[-1] is not None
    assert is_channels_last(y._data) == (layout == "channels_last")
    g0 = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(cn.tensor(g0))
    xt = torch.tensor(x0, requires_grad=True)
    yt = TF.max_pool2d(xt, k, s)
    yt.backward(torch.tensor(g0))
    np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-6)
    assert is_channels_last(x.grad._data) == (layout == "channels_last")


def test_numpy_keeps_padded_dilated_small_and_float64_pools(ran, monkeypatch):
    F.max_pool2d(cn.tensor(np.ones((1, 6, 28, 28), np.float32)), 2)     # LeNet-5 at batch 1: too small
    monkeypatch.setattr(pool, "C_POOL_MIN_BYTES", 0)
    x = cn.tensor(np.random.default_rng(12).standard_normal((2, 3, 8, 8)).astype(np.float32))
    F.max_pool2d(x, 3, 2, padding=1)
    F.max_pool2d(x, 2, 2, dilation=2)
    F.max_pool2d(x, 3, 2, ceil_mode=True)                           # a window hangs over the edge
    F.max_pool2d(cn.tensor(x.numpy().astype(np.float64)), 2)
    F.max_pool2d(x, 2, return_indices=True)
    assert all(r is None for r in ran)
