"""Hostile op arguments: pool windows far larger than their input (exact and cheap), torch's pooling
rules (padding at most half the kernel, output size >= 1), and zero/negative conv kernel sizes,
strides and dilations. PyTorch is the oracle for which calls are accepted and for their values."""
import numpy as np
import pytest
import torch

import convnet as cn
import convnet.functional as F
from convnet import nn
from convnet.errors import ShapeError
from convnet.shapes import pool_window_trim


def _geometries(seed, count, nd):
    """Random pooling geometries, many with kernels larger than the input (the trimmed path)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = tuple(int(v) for v in rng.integers(1, 7, nd))
        k = tuple(int(v) for v in rng.integers(1, 40, nd))
        wide = rng.random() < 0.7  # the widest legal padding: kernels up to 2x the input fit
        p = tuple(ki // 2 if wide else int(rng.integers(0, ki // 2 + 1)) for ki in k)
        s = tuple(int(v) for v in rng.integers(1, 5, nd))
        d = tuple(1 if wide else int(v) for v in rng.integers(1, 4, nd))
        yield n, k, s, p, d, bool(rng.integers(2))


def _torch_or_error(fn, *args, **kw):
    try:
        return fn(*args, **kw), None
    except RuntimeError as e:
        return None, e


@pytest.mark.parametrize("nd", [1, 2])
def test_max_pool_huge_windows_match_torch(nd):
    rng = np.random.default_rng(nd)
    ours_fn = {1: F.max_pool1d, 2: F.max_pool2d}[nd]
    theirs_fn = {1: torch.nn.functional.max_pool1d, 2: torch.nn.functional.max_pool2d}[nd]
    checked = 0
    for n, k, s, p, d, ceil in _geometries(10 + nd, 120, nd):
        x = rng.standard_normal((2, 3) + n)  # float64, distinct values: no ties
        xt = torch.tensor(x, requires_grad=True)
        ref, err = _torch_or_error(theirs_fn, xt, k, s, p, d, ceil, True)
        xc = cn.Tensor(x, requires_grad=True)
        if err is not None or ref[0].numel() == 0 or not torch.isfinite(ref[0]).all():
            if err is not None:
                with pytest.raises(ShapeError):
                    ours_fn(xc, k, s, p, d, ceil, True)
            continue
        out, idx = ours_fn(xc, k, s, p, d, ceil, True)
        np.testing.assert_allclose(out.detach().numpy(), ref[0].detach().numpy(), err_msg=str((n, k, s, p, d, ceil)))
        np.testing.assert_array_equal(idx.numpy(), ref[1].numpy())
        g = rng.standard_normal(ref[0].shape)
        ref[0].backward(torch.tensor(g))
        out.backward(cn.Tensor(g))
        np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)
        checked += 1
    assert checked > 50


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_huge_windows_match_torch(nd, count_include_pad):
    rng = np.random.default_rng(nd + 2 * count_include_pad)
    ours_fn = {1: F.avg_pool1d, 2: F.avg_pool2d}[nd]
    theirs_fn = {1: torch.nn.functional.avg_pool1d, 2: torch.nn.functional.avg_pool2d}[nd]
    checked = 0
    for n, k, s, p, _, ceil in _geometries(20 + nd, 120, nd):
        x = rng.standard_normal((2, 3) + n)
        xt = torch.tensor(x, requires_grad=True)
        ref, err = _torch_or_error(theirs_fn, xt, k, s, p, ceil, count_include_pad)
        xc = cn.Tensor(x, requires_grad=True)
        if err is not None:
            with pytest.raises(ShapeError):
                ours_fn(xc, k, s, p, ceil, count_include_pad)
            continue
        out = ours_fn(xc, k, s, p, ceil, count_include_pad)
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=str((n, k, s, p, ceil)))
        g = rng.standard_normal(ref.shape)
        ref.backward(torch.tensor(g))
        out.backward(cn.Tensor(g))
        np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
        checked += 1
    assert checked > 50


def test_window_trim_arithmetic():
    """Kernel 2000 / padding 1000 over 4 pixels: only 8 of the 2000 offsets can reach the input."""
    assert pool_window_trim(4, 2000, 1, 1000, 1, 5) == (996, 996)
    assert pool_window_trim(32, 3, 1, 1, 1, 32) == (0, 0)  # ordinary windows are left alone
    assert pool_window_trim(8, 2, 2, 0, 1, 4) == (0, 0)
    assert pool_window_trim(4, 9, 1, 4, 1, 4) == (1, 1)  # window i reads i - 4 + t: t = 0, 8 miss [0, 4)


def test_reported_huge_pool_is_fast_and_exact():
    """The reported case: kernel 2000, padding 1000, stride 1 on 4x4 took 32 s and 1.8 GB. Torch
    accepts it (1000 <= 2000 / 2) and returns the global max / a padded mean at every position."""
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    for ours, theirs in ((F.max_pool2d, torch.nn.functional.max_pool2d),
                         (F.avg_pool2d, torch.nn.functional.avg_pool2d)):
        out = ours(cn.Tensor(x), 2000, padding=1000, stride=1)
        ref = theirs(torch.tensor(x), 2000, padding=1000, stride=1).numpy()
        np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, args, kwargs, match", [
    ("max_pool2d", (2000,), dict(padding=1001, stride=1), r"padding should be at most half .* padding=1001"),
    ("avg_pool2d", (4,), dict(padding=3), "padding should be at most half"),
    ("max_pool2d", (5,), {}, r"output size = .*= 0"),
    ("avg_pool2d", (6,), {}, r"output size = .*= 0"),
    ("max_pool2d", (3,), dict(dilation=2), r"output size = .*= 0"),
    ("lp_pool2d", (2, 7), {}, "output size"),
    ("max_pool2d", (0,), {}, "kernel_size must be greater than zero"),
    ("avg_pool2d", (2,), dict(stride=0), "stride must be greater than zero"),
    ("max_pool2d", (2,), dict(dilation=0), "dilation must be greater than zero"),
])
def test_pool_refusals_match_torch(name, args, kwargs, match):
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(RuntimeError):
        getattr(torch.nn.functional, name)(torch.tensor(x), *args, **kwargs)
    with pytest.raises(ShapeError, match=match):
        getattr(F, name)(cn.Tensor(x), *args, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kernel_size=0), "kernel_size should be greater than zero"),
    (dict(kernel_size=-1), "kernel_size should be greater than zero"),
    (dict(kernel_size=(3, 0)), "kernel_size should be greater than zero"),
    (dict(kernel_size=3, stride=0), "stride should be greater than zero"),
    (dict(kernel_size=3, dilation=0), "dilation should be greater than zero"),
    (dict(kernel_size=3, padding=-1), "padding should be non-negative"),
])
@pytest.mark.parametrize("cls", ["Conv2d", "ConvTranspose2d"])
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_conv_modules_refuse_bad_geometry(kwargs, match, cls):
    """torch accepts some of these in the constructor and fails at the first forward (or with a
    negative-dimension error); we refuse them at construction, naming the argument."""
    x = torch.zeros(1, 3, 8, 8)
    with pytest.raises(RuntimeError):
        getattr(torch.nn, cls)(3, 4, **kwargs)(x)
    with pytest.raises(ShapeError, match=f"{cls}: {match}"):
        getattr(nn, cls)(3, 4, **kwargs)


@pytest.mark.parametrize("fn, wshape", [("conv2d", (4, 3, 0, 0)), ("conv2d", (4, 3, 3, 0)), ("conv1d", (4, 3, 0)),
                                        ("conv_transpose2d", (3, 4, 0, 2))])
def test_functional_conv_refuses_zero_size_kernel(fn, wshape):
    """A (4, 3, 0, 0) weight used to give an output larger than its input; torch refuses it."""
    n = len(wshape) - 2
    x = np.zeros((1, 3) + (5,) * n, np.float32)
    w = np.zeros(wshape, np.float32)
    with pytest.raises(RuntimeError):
        getattr(torch.nn.functional, fn)(torch.tensor(x), torch.tensor(w))
    with pytest.raises(ShapeError, match=rf"{fn}: kernel size should be greater than zero.*{tuple(wshape)}"):
        getattr(F, fn)(cn.Tensor(x), cn.Tensor(w))


@pytest.mark.parametrize("kwargs, match", [(dict(stride=0), "stride must be positive"),
                                           (dict(dilation=0), "dilation must be positive"),
                                           (dict(padding=-1), "padding must be non-negative")])
def test_functional_conv_refuses_bad_stride_dilation_padding(kwargs, match):
    x, w = np.zeros((1, 3, 6, 6), np.float32), np.zeros((4, 3, 3, 3), np.float32)
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), **kwargs)
    with pytest.raises(ShapeError, match=match):
        F.conv2d(cn.Tensor(x), cn.Tensor(w), **kwargs)
