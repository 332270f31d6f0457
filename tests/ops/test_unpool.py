"""F.max_unpool1d/2d/3d and nn.MaxUnpool2d against torch: forward and input gradient."""
import numpy as np
import pytest
import torch

import convnet as cn
import convnet.functional as F
from convnet import nn
from helpers import check_against_torch, gradcheck


def _pooled(rng, shape, k, s, p, nd, dtype=np.float32):
    """Pool a tie-free random input with torch to get values and switches for both libraries."""
    x = torch.tensor(rng.permutation(np.prod(shape)).reshape(shape).astype(dtype) / np.prod(shape))
    pool = {1: torch.nn.functional.max_pool1d, 2: torch.nn.functional.max_pool2d,
            3: torch.nn.functional.max_pool3d}[nd]
    y, i = pool(x, k, s, p, return_indices=True)
    return y.numpy(), i.numpy()


@pytest.mark.parametrize("shape,k,s,p,out", [
    ((2, 3, 8, 8), 2, None, 0, None),
    ((1, 2, 9, 7), 3, 2, 1, None),
    ((2, 1, 7, 7), 2, 2, 0, (7, 7)),          # undo a pooling that dropped the last row / column
    ((3, 6, 5), 2, 1, 0, None),                # unbatched, overlapping windows
    ((2, 2, 6, 6), (2, 3), (2, 3), 0, (1, 1, 6, 6)),  # full-shape output_size
])
def test_max_unpool2d_matches_torch(rng, shape, k, s, p, out):
    y, i = _pooled(rng, shape, k, s, p, 2)
    check_against_torch(lambda a, b: F.max_unpool2d(a, b, k, s, p, out),
                        lambda a, b: torch.nn.functional.max_unpool2d(a, b, k, s, p, out), [y, i])


@pytest.mark.parametrize("nd,shape", [(1, (2, 3, 10)), (3, (1, 2, 4, 6, 4))])
def test_max_unpool_1d_3d_match_torch(rng, nd, shape):
    y, i = _pooled(rng, shape, 2, 2, 0, nd)
    ours = {1: F.max_unpool1d, 3: F.max_unpool3d}[nd]
    theirs = {1: torch.nn.functional.max_unpool1d, 3: torch.nn.functional.max_unpool3d}[nd]
    check_against_torch(lambda a, b: ours(a, b, 2), lambda a, b: theirs(a, b, 2), [y, i])


def test_max_unpool2d_gradcheck_float64(rng):
    y, i = _pooled(rng, (2, 2, 6, 6), 2, 2, 0, 2, np.float64)
    gradcheck(lambda a: F.max_unpool2d(a, cn.tensor(i), 2), [y])


def test_pool_then_unpool_module_roundtrip_matches_torch(rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    tpool, tunpool = torch.nn.MaxPool2d(2, return_indices=True), torch.nn.MaxUnpool2d(2)
    check_against_torch(lambda a: unpool(*pool(a)), lambda a: tunpool(*tpool(a)), [x])
    assert "kernel_size=2" in repr(unpool)


def test_max_unpool2d_errors():
    y, i = F.max_pool2d(cn.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(cn.errors.ShapeError, match="output_size"):
        F.max_unpool2d(y, i, 2, output_size=(9, 9))
    with pytest.raises(TypeError, match="indices must be an integer Tensor"):
        F.max_unpool2d(y, y, 2)
    with pytest.raises(cn.errors.ShapeError, match="invalid max index"):
        F.max_unpool2d(y, cn.tensor(np.full((1, 1, 2, 2), 99, np.int64)), 2)
    with pytest.raises(cn.errors.ShapeError, match="indices of the input's shape"):
        F.max_unpool2d(y, i[..., :1], 2)
