"""Normalizations vs torch (forward, every gradient, running statistics) and by finite differences."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops.norm import WindowSum1d
from helpers import assert_same, check_against_torch, gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

BN_SHAPES = [(6, 3), (3, 3, 5), (2, 3, 4, 3), (2, 3, 2, 3, 2)]
DTYPES = [np.float32, np.float64]


def _vec(rng, dtype, low=-1.0, high=1.0, n=3):
    return rng.uniform(low, high, n).astype(dtype)


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", ["none", "weight", "both"])
@pytest.mark.parametrize("momentum", [0.1, 0.7])
@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_vs_torch(shape, training, affine, momentum, dtype, rng):
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    rm, rv = _vec(rng, dtype), _vec(rng, dtype, 0.5, 2.0)
    rm_o, rv_o = cn.tensor(rm.copy()), cn.tensor(rv.copy())
    rm_t, rv_t = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    inputs = [x] + {"none": [], "weight": [_vec(rng, dtype)], "both": [_vec(rng, dtype), _vec(rng, dtype)]}[affine]

    def ours(x, *p):
        return F.batch_norm(x, rm_o, rv_o, *p, training=training, momentum=momentum)

    def theirs(x, *p):
        return TF.batch_norm(x, rm_t, rv_t, *p, training=training, momentum=momentum)

    check_against_torch(ours, theirs, inputs)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(rm_o.numpy(), rm_t.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(rv_o.numpy(), rv_t.numpy(), rtol=tol, atol=tol)
    assert rm_o.dtype == dtype and rv_o.dtype == dtype


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(shape, training, rng):
    x = rng.standard_normal(shape)
    rm, rv = cn.tensor(_vec(rng, np.float64)), cn.tensor(_vec(rng, np.float64, 0.5, 2.0))
    f = lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.0)  # noqa: E731
    gradcheck(f, [x, _vec(rng, np.float64), _vec(rng, np.float64)])


def test_batch_norm_training_without_running_stats(rng):
    x = rng.standard_normal((4, 3, 2))
    check_against_torch(lambda x: F.batch_norm(x, None, None, training=True),
                        lambda x: TF.batch_norm(x, None, None, training=True), [x])


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(cn.randn(1, 4), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean"):
        F.batch_norm(cn.randn(3, 4), None, None, training=False)
    with pytest.raises(ValueError, match="'weight'.*4 elements"):
        F.batch_norm(cn.randn(3, 4), cn.zeros(4), cn.ones(4), weight=cn.ones(5))
    with pytest.raises(TypeError, match="momentum"):
        F.batch_norm(cn.randn(3, 4), cn.zeros(4), cn.ones(4), training=True, momentum=None)
    with pytest.raises(TypeError, match="floating"):
        F.batch_norm(cn.tensor([[1, 2], [3, 4]]), None, None, training=True)


@pytest.mark.parametrize("shape,ns", [((4, 5), (5,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((2, 2, 3, 3), 3)])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm(shape, ns, affine, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    nshape = (ns,) if isinstance(ns, int) else ns
    params = [rng.standard_normal(nshape).astype(dtype) for _ in range(2)] if affine else []
    f_o = lambda x, *p: F.layer_norm(x, ns, *p, eps=1e-4)  # noqa: E731
    f_t = lambda x, *p: TF.layer_norm(x, nshape, *p, eps=1e-4)  # noqa: E731
    check_against_torch(f_o, f_t, [x] + params)
    if dtype == np.float64:
        gradcheck(f_o, [x] + params)


def test_layer_norm_shape_error():
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(cn.randn(2, 3), (4,))


@pytest.mark.parametrize("shape,groups", [((2, 6), 3), ((2, 6, 5), 1), ((2, 6, 3, 3), 2), ((3, 4, 2, 2, 2), 4)])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_group_norm(shape, groups, affine, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    params = [rng.standard_normal(shape[1]).astype(dtype) for _ in range(2)] if affine else []
    f_o = lambda x, *p: F.group_norm(x, groups, *p)  # noqa: E731
    f_t = lambda x, *p: TF.group_norm(x, groups, *p)  # noqa: E731
    check_against_torch(f_o, f_t, [x] + params)
    if dtype == np.float64:
        gradcheck(f_o, [x] + params)


def test_group_norm_divisibility_error():
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(cn.randn(2, 4, 3), 3)


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 3, 4), (2, 3, 2, 2, 3)])
@pytest.mark.parametrize("use_input_stats", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_instance_norm(shape, use_input_stats, dtype, rng):
    x = (rng.standard_normal(shape) + 0.5).astype(dtype)
    rm, rv = _vec(rng, dtype), _vec(rng, dtype, 0.5, 2.0)
    rm_o, rv_o, rm_t, rv_t = cn.tensor(rm), cn.tensor(rv), torch.tensor(rm), torch.tensor(rv)
    kw = dict(use_input_stats=use_input_stats, momentum=0.3)
    check_against_torch(lambda x, w, b: F.instance_norm(x, rm_o, rv_o, w, b, **kw),
                        lambda x, w, b: TF.instance_norm(x, rm_t, rv_t, w, b, **kw),
                        [x, _vec(rng, dtype), _vec(rng, dtype)])
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    assert_same(rm_o, rm_t, what="running_mean", **tol)
    assert_same(rv_o, rv_t, what="running_var", **tol)
    if dtype == np.float64 and use_input_stats:
        gradcheck(lambda x: F.instance_norm(x), [x])


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(cn.randn(3, 4, 1))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("shape", [(2, 6, 5), (2, 5, 3, 4), (1, 4, 2, 3, 2)])
@pytest.mark.parametrize("alpha,beta,k", [(1e-4, 0.75, 1.0), (0.5, 0.6, 2.0), (2.0, 1.3, 0.5)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_local_response_norm(size, shape, alpha, beta, k, dtype, rng):
    x = (rng.standard_normal(shape) * 1.5).astype(dtype)
    check_against_torch(lambda x: F.local_response_norm(x, size, alpha, beta, k),
                        lambda x: TF.local_response_norm(x, size, alpha, beta, k), [x])


@pytest.mark.parametrize("size", [2, 3, 4])
def test_local_response_norm_gradcheck(size, rng):
    gradcheck(lambda x: F.local_response_norm(x, size, 0.8, 0.75, 1.0), [rng.standard_normal((2, 5, 3, 2))])


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match="3D or higher"):
        F.local_response_norm(cn.randn(3, 4), 2)


@pytest.mark.parametrize("k,before,after", [(3, 1, 1), (4, 2, 1), (3, 0, 0), (3, 2, 2), (1, 0, 0)])
def test_window_sum_gradcheck_and_reference(k, before, after, rng):
    x = rng.standard_normal((2, 5, 3))
    w = tuple(rng.uniform(0.5, 1.5, k))
    f = lambda t: WindowSum1d.apply(t, axis=1, weights=w, before=before, after=after)  # noqa: E731
    gradcheck(f, [x])
    xp = np.pad(x, ((0, 0), (before, after), (0, 0)))  # loop reference
    n_out = xp.shape[1] - k + 1
    ref = np.stack([sum(w[t] * xp[:, i + t] for t in range(k)) for i in range(n_out)], axis=1)
    np.testing.assert_allclose(f(cn.tensor(x)).numpy(), ref, atol=1e-12)


# ----------------------------------------------------------------------- local contrast normalization
def test_local_contrast_norm_gradcheck(rng):
    gradcheck(lambda x: F.local_contrast_norm(x, 5), [rng.standard_normal((2, 3, 7, 6))])
    gradcheck(lambda x: F.local_contrast_norm(x, 4, sigma=1.0), [rng.standard_normal((1, 2, 5, 5))])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 12, 10), (3, 9, 9)])
def test_local_contrast_norm_shape_dtype(shape, dtype, rng):
    y = F.local_contrast_norm(cn.tensor(rng.standard_normal(shape).astype(dtype)))
    assert y.shape == shape and y.dtype == dtype and np.isfinite(y.numpy()).all()


def _gauss_local_stats(y, k=7, sigma=1.75):
    """Independent reference: Gaussian-weighted local mean/std over all channels via scipy."""
    from scipy.ndimage import gaussian_filter

    m = gaussian_filter(y.mean(axis=1), sigma=(0, sigma, sigma), truncate=(k // 2) / sigma)
    s2 = gaussian_filter((y ** 2).mean(axis=1), sigma=(0, sigma, sigma), truncate=(k // 2) / sigma) - m ** 2
    return m, np.sqrt(np.maximum(s2, 0))


def test_local_contrast_norm_local_mean_zero_std_one(rng):
    # random image with a strong offset, a slowly varying brightness ramp and contrast 3
    ramp = np.linspace(-4, 4, 48)[None, None, :, None] + np.linspace(0, 6, 48)[None, None, None, :]
    x = 3.0 * rng.standard_normal((2, 3, 48, 48)) + 10.0 + ramp
    y = F.local_contrast_norm(cn.tensor(x)).numpy()
    inner = (slice(None), slice(8, -8), slice(8, -8))
    m, s = _gauss_local_stats(y)
    assert np.abs(m[inner]).mean() < 0.08
    assert abs(s[inner].mean() - 1.0) < 0.1
    assert abs(y[:, :, 8:-8, 8:-8].mean()) < 0.05
    assert abs(y[:, :, 8:-8, 8:-8].std() - 1.0) < 0.1


def test_local_contrast_norm_flat_and_low_contrast(rng):
    flat = np.full((1, 2, 9, 9), 5.0)  # constant -> 0 (up to float32 rounding of the local mean), no NaN
    assert np.abs(F.local_contrast_norm(cn.tensor(flat)).numpy()).max() < 1e-8
    assert np.abs(F.local_contrast_norm(cn.tensor(flat.astype(np.float32))).numpy()).max() < 0.05
    x = rng.standard_normal((1, 1, 32, 64))
    x[..., 32:] *= 0.01  # right half: low contrast must not be blown up to unit variance
    y = F.local_contrast_norm(cn.tensor(x)).numpy()
    assert y[..., 4:-4, 40:-4].std() < 0.1 < y[..., 4:-4, 4:24].std()


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("offset", [0.0, 30.0])
def test_batch_norm_training_gradient_with_a_large_mean(layout, offset, rng):
    """float32 training batch norm on inputs whose mean is far from 0 relative to their spread
    (the backward's per-channel shift form must not lose the small centred part)."""
    shape = (32, 6, 12, 12)
    x = (rng.standard_normal(shape) + offset).astype(np.float32)
    w, b = _vec(rng, np.float32, 0.5, 1.5, 6), _vec(rng, np.float32, n=6)
    up = rng.standard_normal(shape).astype(np.float32)
    xo = cn.Tensor(np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1) if layout == "channels_last"
                   else x.copy(), requires_grad=True)
    wo, bo = cn.tensor(w, requires_grad=True), cn.tensor(b, requires_grad=True)
    F.batch_norm(xo, None, None, wo, bo, training=True).backward(cn.tensor(up))
    xt, wt, bt = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b))
    TF.batch_norm(xt, None, None, wt, bt, training=True).backward(torch.tensor(up.astype(np.float64)))
    scale = np.abs(xt.grad.numpy()).max()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), atol=2e-5 * scale, rtol=0)
    np.testing.assert_allclose(wo.grad.numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(bo.grad.numpy(), bt.grad.numpy(), rtol=1e-4, atol=1e-3)
