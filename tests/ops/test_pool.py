"""Pooling (max, min, avg, adaptive, lp) vs torch, by finite differences, and fast vs loop reference."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops import pool_ref
from helpers import away_from_ties, check_against_torch, gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
DTYPES = [np.float32, np.float64]


def check_indices(ours, theirs, x):
    """The arg-max indices returned with ``return_indices=True`` equal torch's exactly."""
    i_o = ours(cn.tensor(x))[1].numpy()
    i_t = theirs(torch.tensor(x))[1].numpy()
    assert i_o.dtype == np.int64
    np.testing.assert_array_equal(i_o, i_t)


# (input shape, kernel_size, stride, padding, dilation, ceil_mode)
MAX2D = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),            # non-overlapping, tiles the input
    ((2, 3, 9, 7), 2, None, 0, 1, False),            # non-divisible: trailing row/col unused
    ((2, 3, 9, 7), 2, None, 0, 1, True),             # ceil_mode partial last windows
    ((1, 2, 9, 9), 3, 2, 1, 1, False),               # ResNet stem
    ((2, 3, 9, 9), 3, 2, 0, 1, False),               # overlapping, unpadded (gradient summed in place)
    ((2, 3, 9, 8), (1, 2), 3, 0, 1, False),          # unpadded, rows between windows get no gradient
    ((1, 2, 10, 10), 3, 2, 1, 1, True),              # ceil_mode with padding
    ((1, 2, 7, 9), (3, 2), (2, 1), (1, 0), 1, False),
    ((1, 2, 9, 10), 3, 1, 1, 2, False),              # dilation
    ((1, 2, 11, 9), (2, 3), (3, 2), (1, 1), (2, 1), True),
    ((3, 8, 6), 3, 2, 1, 1, True),                   # unbatched (C, H, W)
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX2D)
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d(shape, k, s, p, d, ceil, dtype, rng):
    x = away_from_ties(shape, rng, dtype=dtype)
    ours = lambda t: F.max_pool2d(t, k, s, p, d, ceil, return_indices=True)  # noqa: E731
    theirs = lambda t: TF.max_pool2d(t, k, s, p, d, ceil, return_indices=True)  # noqa: E731
    check_against_torch(ours, theirs, [x])
    check_indices(ours, theirs, x)
    if dtype == np.float64:
        gradcheck(lambda t: F.max_pool2d(t, k, s, p, d, ceil), [x])


@pytest.mark.parametrize("shape,k,s,p,d,ceil", [
    ((2, 3, 10), 2, None, 0, 1, False), ((2, 3, 11), 3, 2, 1, 1, True), ((2, 3, 12), 3, 1, 1, 3, False),
    ((4, 9), 4, 3, 2, 1, True),  # unbatched (C, L)
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool1d(shape, k, s, p, d, ceil, dtype, rng):
    x = away_from_ties(shape, rng, dtype=dtype)
    ours = lambda t: F.max_pool1d(t, k, s, p, d, ceil, return_indices=True)  # noqa: E731
    theirs = lambda t: TF.max_pool1d(t, k, s, p, d, ceil, return_indices=True)  # noqa: E731
    check_against_torch(ours, theirs, [x])
    check_indices(ours, theirs, x)
    gradcheck(lambda t: F.max_pool1d(t, k, s, p, d, ceil), [x])


@pytest.mark.parametrize("shape,k,s,p,d,ceil", [
    ((1, 2, 4, 6, 6), 2, None, 0, 1, False), ((1, 2, 5, 6, 7), 3, 2, 1, 1, True),
    ((1, 2, 5, 7, 6), (1, 3, 2), (1, 2, 2), (0, 1, 1), (1, 2, 1), False),
    ((2, 5, 5, 5), 2, 2, 1, 1, True),  # unbatched (C, D, H, W)
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool3d(shape, k, s, p, d, ceil, dtype, rng):
    x = away_from_ties(shape, rng, dtype=dtype)
    ours = lambda t: F.max_pool3d(t, k, s, p, d, ceil, return_indices=True)  # noqa: E731
    theirs = lambda t: TF.max_pool3d(t, k, s, p, d, ceil, return_indices=True)  # noqa: E731
    check_against_torch(ours, theirs, [x])
    check_indices(ours, theirs, x)
    if dtype == np.float64:
        gradcheck(lambda t: F.max_pool3d(t, k, s, p, d, ceil), [x], max_coords=30)


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX2D[:6])
def test_min_pool2d_is_negated_max_of_negation(shape, k, s, p, d, ceil, rng):
    x = away_from_ties(shape, rng)
    check_against_torch(lambda t: F.min_pool2d(t, k, s, p, d, ceil),
                        lambda t: -TF.max_pool2d(-t, k, s, p, d, ceil), [x])
    gradcheck(lambda t: F.min_pool2d(t, k, s, p, d, ceil), [x])


def test_min_pool2d_padding_never_wins():
    x = np.full((1, 1, 2, 2), 5.0)
    out = F.min_pool2d(cn.tensor(x), 2, padding=1).numpy()
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 5.0))


def test_max_pool_ties_nan_and_all_inf_windows_match_torch():
    """Off the tie-free path: first max wins a tie, the last NaN wins, an all -inf window points
    at its first in-bounds element; gradients follow the same choice."""
    zeros = np.zeros((1, 2, 4, 4))
    nan = np.arange(32.0).reshape(1, 2, 4, 4)
    nan[0, 0, 0, 1] = nan[0, 0, 1, 0] = np.nan
    for x, args in [(zeros, (2,)), (zeros, (3, 1, 1)), (nan, (2,)), (np.full((1, 1, 3, 3), -np.inf), (2, 1, 1))]:
        ours = lambda t: F.max_pool2d(t, *args, return_indices=True)  # noqa: E731
        theirs = lambda t: TF.max_pool2d(t, *args, return_indices=True)  # noqa: E731
        check_against_torch(lambda t: F.max_pool2d(t, *args), lambda t: TF.max_pool2d(t, *args), [x])
        check_against_torch(ours, theirs, [x])
        check_indices(ours, theirs, x)
    check_against_torch(lambda t: F.adaptive_max_pool2d(t, 3), lambda t: TF.adaptive_max_pool2d(t, 3), [nan])
    check_indices(lambda t: F.adaptive_max_pool2d(t, 3, True), lambda t: TF.adaptive_max_pool2d(t, 3, True), zeros)


# (input shape, kernel_size, stride, padding, ceil_mode)
AVG2D = [
    ((2, 3, 8, 8), 2, None, 0, False),
    ((2, 3, 9, 7), 2, None, 0, True),
    ((1, 2, 9, 9), 3, 2, 1, False),
    ((1, 2, 6, 6), 3, 2, 1, True),     # ceil_mode window hangs past the padded border
    ((1, 2, 5, 5), 2, 2, 1, True),
    ((1, 2, 7, 10), (3, 2), (2, 3), (1, 1), True),
    ((2, 7, 6), 3, 1, 1, False),       # unbatched, overlapping
]


@pytest.mark.parametrize("shape,k,s,p,ceil", AVG2D)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool2d(shape, k, s, p, ceil, count_include_pad, divisor_override, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    args = (k, s, p, ceil, count_include_pad, divisor_override)
    check_against_torch(lambda t: F.avg_pool2d(t, *args), lambda t: TF.avg_pool2d(t, *args), [x])
    if dtype == np.float64 and divisor_override is None:
        gradcheck(lambda t: F.avg_pool2d(t, *args), [x], max_coords=30)


@pytest.mark.parametrize("shape,k,s,p,ceil", [
    ((2, 3, 10), 2, None, 0, False), ((2, 3, 6), 3, 2, 1, True), ((2, 3, 11), 4, 3, 2, True), ((3, 9), 3, 1, 1, False),
])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool1d(shape, k, s, p, ceil, count_include_pad, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    args = (k, s, p, ceil, count_include_pad)
    check_against_torch(lambda t: F.avg_pool1d(t, *args), lambda t: TF.avg_pool1d(t, *args), [x])
    gradcheck(lambda t: F.avg_pool1d(t, *args), [x])


@pytest.mark.parametrize("shape,k,s,p,ceil", [
    ((1, 2, 4, 6, 6), 2, None, 0, False), ((1, 2, 5, 6, 7), 3, 2, 1, True),
    ((2, 4, 5, 6), (1, 3, 2), (1, 2, 2), (0, 1, 1), True),
])
@pytest.mark.parametrize("count_include_pad,divisor_override", [(True, None), (False, None), (True, 5)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool3d(shape, k, s, p, ceil, count_include_pad, divisor_override, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    args = (k, s, p, ceil, count_include_pad, divisor_override)
    check_against_torch(lambda t: F.avg_pool3d(t, *args), lambda t: TF.avg_pool3d(t, *args), [x])
    if dtype == np.float64:
        gradcheck(lambda t: F.avg_pool3d(t, *args), [x], max_coords=30)


@pytest.mark.parametrize("fn,shape,args", [
    ("lp_pool1d", (2, 3, 9), (2, 3, 2, True)), ("lp_pool2d", (1, 2, 6, 7), (2, 2, None, False)),
    ("lp_pool2d", (1, 2, 7, 7), (3.0, (3, 2), 2, True)), ("lp_pool3d", (1, 2, 4, 4, 5), (2, 2, None, False)),
])
def test_lp_pool(fn, shape, args, rng):
    x = rng.uniform(0.5, 2.0, shape)
    check_against_torch(lambda t: getattr(F, fn)(t, *args), lambda t: getattr(TF, fn)(t, *args), [x])
    gradcheck(lambda t: getattr(F, fn)(t, *args), [x], max_coords=30)


def test_lp_pool_zero_window_has_zero_gradient_like_torch():
    x = np.array([[[0.0, 0.0, 1.0, 2.0, 0.0, 3.0]]])
    for p in (1, 2):
        check_against_torch(lambda t: F.lp_pool1d(t, p, 2), lambda t: TF.lp_pool1d(t, p, 2), [x])


ADAPTIVE = [  # (input shape, output_size)
    ((2, 3, 8, 6), (4, 3)),         # divisible
    ((2, 3, 7, 5), (3, 2)),         # non-divisible: overlapping windows of different sizes
    ((2, 3, 7, 5), 1),              # global pooling
    ((2, 3, 5, 7), (None, 3)),      # None keeps the input size
    ((1, 2, 3, 4), (5, 7)),         # larger than the input: repeated elements
    ((3, 7, 9), 4),                 # unbatched
]


@pytest.mark.parametrize("shape,size", ADAPTIVE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_pool2d(shape, size, dtype, rng):
    x = away_from_ties(shape, rng, dtype=dtype)
    check_against_torch(lambda t: F.adaptive_avg_pool2d(t, size), lambda t: TF.adaptive_avg_pool2d(t, size), [x])
    ours = lambda t: F.adaptive_max_pool2d(t, size, return_indices=True)  # noqa: E731
    theirs = lambda t: TF.adaptive_max_pool2d(t, size, return_indices=True)  # noqa: E731
    check_against_torch(ours, theirs, [x])
    check_indices(ours, theirs, x)
    if dtype == np.float64:
        gradcheck(lambda t: F.adaptive_avg_pool2d(t, size), [x], max_coords=30)
        gradcheck(lambda t: F.adaptive_max_pool2d(t, size), [x], max_coords=30)


@pytest.mark.parametrize("nd,shape,size", [
    (1, (2, 3, 10), 5), (1, (2, 3, 10), 4), (1, (3, 7), 1), (1, (2, 3, 5), (3,)),
    (3, (1, 2, 4, 6, 6), (2, 3, 3)), (3, (1, 2, 5, 7, 6), (2, None, 4)), (3, (2, 3, 4, 5), 1),
])
def test_adaptive_pool_1d_3d(nd, shape, size, rng):
    x = away_from_ties(shape, rng)
    avg, mx = f"adaptive_avg_pool{nd}d", f"adaptive_max_pool{nd}d"
    check_against_torch(lambda t: getattr(F, avg)(t, size), lambda t: getattr(TF, avg)(t, size), [x])
    ours = lambda t: getattr(F, mx)(t, size, return_indices=True)  # noqa: E731
    theirs = lambda t: getattr(TF, mx)(t, size, return_indices=True)  # noqa: E731
    check_against_torch(ours, theirs, [x])
    check_indices(ours, theirs, x)
    gradcheck(lambda t: getattr(F, avg)(t, size), [x], max_coords=30)
    gradcheck(lambda t: getattr(F, mx)(t, size), [x], max_coords=30)


def test_empty_batch_and_empty_output():
    x = np.zeros((0, 2, 4, 4), np.float32)
    assert F.max_pool2d(cn.tensor(x), 2).shape == (0, 2, 2, 2)
    assert F.avg_pool2d(cn.tensor(x), 2).shape == (0, 2, 2, 2)
    y = np.ones((2, 3, 4), np.float32)
    assert F.adaptive_avg_pool2d(cn.tensor(y), 0).shape == tuple(TF.adaptive_avg_pool2d(torch.tensor(y), 0).shape)
    assert F.adaptive_max_pool2d(cn.tensor(y), (0, 2)).shape == (2, 0, 2)


def test_with_indices_aliases(rng):
    x = away_from_ties((1, 2, 6, 6), rng)
    check_indices(lambda t: F.max_pool2d_with_indices(t, 2), lambda t: TF.max_pool2d_with_indices(t, 2), x)
    check_indices(lambda t: F.adaptive_max_pool2d_with_indices(t, 4),
                  lambda t: TF.adaptive_max_pool2d_with_indices(t, 4), x)


def test_no_grad_returns_plain_tensor(rng):
    x = cn.tensor(away_from_ties((1, 1, 4, 4), rng), requires_grad=True)
    with cn.no_grad():
        y = F.max_pool2d(x, 2)
    assert not y.requires_grad


# ----------------------------------------------------------------- fast kernels vs the loop reference
REF = [((2, 2, 6, 7), (2, 2), (2, 2), (0, 0), (1, 1), False), ((1, 2, 7, 6), (3, 3), (2, 2), (1, 1), (1, 1), True),
       ((1, 2, 8, 9), (3, 2), (1, 2), (1, 1), (2, 1), False), ((1, 1, 6, 6), (3, 3), (2, 2), (1, 0), (1, 1), True)]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", REF)
def test_max_pool2d_matches_loop_reference(shape, k, s, p, d, ceil, rng):
    x = away_from_ties(shape, rng)
    t = cn.tensor(x, requires_grad=True)
    out, idx = F.max_pool2d(t, k, s, p, d, ceil, return_indices=True)
    ref_out, ref_idx = pool_ref.max_pool2d_ref(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(out.detach().numpy(), ref_out)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    g = rng.standard_normal(out.shape)
    out.backward(cn.tensor(g))
    np.testing.assert_allclose(t.grad.numpy(), pool_ref.max_pool2d_ref_grad(x, g, k, s, p, d, ceil), atol=1e-12)


@pytest.mark.parametrize("shape,k,s,p,d,ceil", REF)
@pytest.mark.parametrize("count_include_pad,divisor_override", [(True, None), (False, None), (True, 2)])
def test_avg_pool2d_matches_loop_reference(shape, k, s, p, d, ceil, count_include_pad, divisor_override, rng):
    x = rng.standard_normal(shape)
    t = cn.tensor(x, requires_grad=True)
    args = (k, s, p, ceil, count_include_pad, divisor_override)
    out = F.avg_pool2d(t, *args)
    np.testing.assert_allclose(out.detach().numpy(), pool_ref.avg_pool2d_ref(x, *args), atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(cn.tensor(g))
    np.testing.assert_allclose(t.grad.numpy(), pool_ref.avg_pool2d_ref_grad(x, g, *args), atol=1e-12)


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 2, 1)])
def test_max_pool_threaded_path(monkeypatch, kernel, stride, padding, rng):
    """The batch-parallel path (forced on small inputs) agrees with torch, ties included."""
    from convnet.ops import pool as pool_ops

    monkeypatch.setattr(pool_ops, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    x = np.maximum(rng.standard_normal((5, 3, 8, 8)), 0).astype(np.float32)  # post-ReLU ties
    check_against_torch(lambda t: F.max_pool2d(t, kernel, stride, padding),
                        lambda t: torch.nn.functional.max_pool2d(t, kernel, stride, padding), [x])
