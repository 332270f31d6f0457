"""Convolutions vs torch (forward and every gradient), by finite differences, and the fast
im2col + GEMM conv2d vs the slow loop reference."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops import conv as conv_ops
from convnet.ops.conv_ref import conv2d_ref, conv2d_ref_grads
from convnet.ops.im2col import col2im, im2col
from helpers import check_against_torch, gradcheck

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
TF = torch.nn.functional
DTYPES = [np.float32, np.float64]


def _data(rng, dtype, *shapes):
    return [rng.uniform(-1, 1, s).astype(dtype) for s in shapes]


def _check(fn, x_shape, w_shape, kwargs, dtype, rng, bias=True, ours=None, atol=None):
    """Compare F.<fn> with torch's on random data; C_out for the bias is inferred from fn."""
    transpose = fn.startswith("conv_transpose")
    c_out = w_shape[1] * kwargs.get("groups", 1) if transpose else w_shape[0]
    shapes = [x_shape, w_shape] + ([(c_out,)] if bias else [])
    ours = ours or getattr(F, fn)
    check_against_torch(lambda *t: ours(*t, **kwargs), lambda *t: getattr(TF, fn)(*t, **kwargs),
                        _data(rng, dtype, *shapes), atol=atol)


# --- conv2d -------------------------------------------------------------------------------

CONV2D = [  # (x shape, weight shape, kwargs)
    ((2, 3, 6, 6), (4, 3, 3, 3), dict(padding=1)),
    ((2, 3, 7, 5), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0))),          # non-square
    ((1, 2, 9, 8), (3, 2, 3, 3), dict(dilation=(2, 1), padding=2, stride=2)),
    ((2, 4, 6, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((2, 4, 6, 6), (8, 1, 3, 3), dict(groups=4, padding=1, stride=2)),          # depthwise x2
    ((2, 3, 5, 4), (5, 3, 1, 1), dict()),                                       # 1x1
    ((2, 3, 5, 4), (5, 3, 1, 1), dict(stride=2, padding=1)),                    # strided 1x1
    ((1, 2, 8, 7), (3, 2, 2, 2), dict(stride=3)),                               # stride > kernel
    ((2, 2, 6, 5), (3, 2, 3, 3), dict(padding="valid")),
    ((2, 2, 6, 5), (3, 2, 3, 3), dict(padding="same")),
    ((2, 2, 6, 5), (3, 2, 4, 2), dict(padding="same")),                         # even: pad more after
    ((2, 4, 7, 6), (4, 2, 2, 3), dict(padding="same", dilation=(2, 3), groups=2)),
    ((1, 1, 3, 3), (1, 1, 3, 3), dict()),                                       # one output pixel
]


@pytest.mark.parametrize("xs,ws,kw", CONV2D)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_vs_torch(xs, ws, kw, dtype, rng):
    _check("conv2d", xs, ws, kw, dtype, rng, bias=True)


@pytest.mark.parametrize("xs,ws,kw", CONV2D[:4])
def test_conv2d_no_bias_vs_torch(xs, ws, kw, rng):
    _check("conv2d", xs, ws, kw, np.float64, rng, bias=False)


@pytest.mark.parametrize("fn,xs,ws,kw", [
    ("conv1d", (3, 7), (4, 3, 3), dict(padding=1)),
    ("conv2d", (3, 6, 5), (4, 3, 3, 3), dict(padding="same")),
    ("conv3d", (2, 4, 5, 3), (3, 2, 2, 3, 2), dict(stride=(1, 2, 1))),
    ("conv_transpose1d", (3, 5), (3, 2, 3), dict(stride=2)),
    ("conv_transpose2d", (4, 3, 4), (4, 1, 3, 3), dict(stride=2, groups=2, output_padding=1)),
    ("conv_transpose3d", (2, 3, 2, 3), (2, 2, 2, 2, 2), dict(padding=1)),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_unbatched_vs_torch(fn, xs, ws, kw, dtype, rng):
    _check(fn, xs, ws, kw, dtype, rng)


# --- conv1d / conv3d ------------------------------------------------------------------------

@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 9), (4, 3, 3), dict(stride=2, padding=1)),
    ((2, 4, 10), (6, 2, 4), dict(groups=2, dilation=2, padding=3)),
    ((1, 2, 8), (3, 2, 4), dict(padding="same", dilation=3)),                  # even kernel, same
    ((2, 3, 6), (3, 1, 3), dict(groups=3, padding="valid")),                   # depthwise
    ((2, 3, 6), (5, 3, 1), dict()),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d_vs_torch(xs, ws, kw, dtype, rng):
    _check("conv1d", xs, ws, kw, dtype, rng)


@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 2, 5, 4, 6), (3, 2, 3, 2, 3), dict(stride=(1, 2, 1), padding=1)),
    ((1, 4, 5, 5, 4), (4, 2, 2, 3, 2), dict(groups=2, padding="same", dilation=(1, 2, 1))),
    ((1, 2, 6, 5, 5), (2, 2, 3, 3, 3), dict(dilation=2, padding=(2, 1, 1), stride=2)),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv3d_vs_torch(xs, ws, kw, dtype, rng):
    _check("conv3d", xs, ws, kw, dtype, rng)


# --- transposed convolutions ---------------------------------------------------------------

CONV_T = [  # (fn, x shape, weight shape (C_in, C_out/groups, k...), kwargs)
    ("conv_transpose1d", (2, 3, 5), (3, 2, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose1d", (2, 4, 4), (4, 3, 2), dict(stride=3, groups=2, dilation=2)),
    ("conv_transpose2d", (2, 3, 4, 3), (3, 2, 3, 3), dict()),
    ("conv_transpose2d", (2, 4, 4, 5), (4, 3, 3, 2), dict(stride=(2, 3), padding=(1, 0),
                                                         output_padding=(1, 2), groups=2)),
    ("conv_transpose2d", (1, 2, 3, 4), (2, 2, 3, 3), dict(dilation=2, output_padding=1)),  # op < dilation
    ("conv_transpose2d", (2, 4, 3, 3), (4, 1, 2, 2), dict(stride=2, groups=4)),          # depthwise
    ("conv_transpose2d", (2, 3, 4, 4), (3, 5, 1, 1), dict(stride=2, output_padding=1)),  # 1x1
    ("conv_transpose3d", (1, 2, 3, 2, 3), (2, 3, 2, 3, 2), dict(stride=(2, 1, 2), padding=(0, 1, 1),
                                                               output_padding=(1, 0, 0))),
    ("conv_transpose3d", (1, 4, 2, 3, 2), (4, 1, 2, 2, 2), dict(groups=2, dilation=(2, 1, 1))),
]


@pytest.mark.parametrize("fn,xs,ws,kw", CONV_T)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose_vs_torch(fn, xs, ws, kw, dtype, rng):
    _check(fn, xs, ws, kw, dtype, rng)


def test_conv_transpose_positional_order_groups_before_dilation(rng):
    """torch's order: (input, weight, bias, stride, padding, output_padding, groups, dilation)."""
    x, w, b = _data(rng, np.float64, (1, 4, 3, 3), (4, 1, 3, 3), (2,))
    ours = lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2, 2)  # noqa: E731
    theirs = lambda x, w, b: TF.conv_transpose2d(x, w, b, 2, 1, 1, 2, 2)  # noqa: E731
    check_against_torch(ours, theirs, [x, w, b])


def test_conv_transpose_is_adjoint_of_conv(rng):
    """<conv(x), y> == <x, conv_transpose(y)> with the same weight (hand identity, no torch)."""
    x, w, y = _data(rng, np.float64, (2, 4, 7, 6), (6, 2, 3, 2), (2, 6, 4, 3))
    kw = dict(stride=2, padding=1, dilation=(1, 2), groups=2)
    lhs = (F.conv2d(cn.tensor(x), cn.tensor(w), **kw).numpy() * y).sum()
    rhs = (x * F.conv_transpose2d(cn.tensor(y), cn.tensor(w), output_padding=(0, 1), **kw).numpy()).sum()
    assert abs(lhs - rhs) < 1e-10


def _random_config(seed):
    """A random valid conv / conv_transpose call (1-3 spatial dims) with every argument drawn."""
    r = np.random.default_rng(seed)
    n, transpose = int(r.integers(1, 4)), bool(r.random() < 0.4)
    g, cg, og = int(r.choice([1, 2, 3])), int(r.integers(1, 3)), int(r.integers(1, 3))
    k = tuple(int(v) for v in r.integers(1, 4, n))
    s = tuple(int(v) for v in r.integers(1, 4, n))
    d = tuple(int(v) for v in r.integers(1, 3, n))
    if transpose:
        p = tuple(int(v) for v in r.integers(0, 2, n))
        op = tuple(int(r.integers(0, max(a, b))) for a, b in zip(s, d))
        kw = dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d)
        size = [int(r.integers(1, 5)) for _ in p]
        for i in range(n):  # grow until the output is non-empty: (size-1)s - 2p + d(k-1) + op + 1 >= 1
            while (size[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] < 0:
                size[i] += 1
        size = tuple(size)
        return f"conv_transpose{n}d", (2, g * cg) + size, (g * cg, og) + k, kw
    p = [int(r.integers(0, 3)), tuple(int(v) for v in r.integers(0, 3, n)), "valid", "same"][int(r.integers(4))]
    s = (1,) * n if p == "same" else s
    reach = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
    size = tuple(int(r.integers(rr, rr + 5)) for rr in reach)
    return f"conv{n}d", (2, g * cg) + size, (g * og, cg) + k, dict(stride=s, padding=p, dilation=d, groups=g)


@pytest.mark.parametrize("seed", range(40))
def test_random_configs_vs_torch(seed, rng):
    fn, xs, ws, kw = _random_config(seed)
    _check(fn, xs, ws, kw, [np.float32, np.float64][seed % 2], rng, bias=seed % 3 != 0)


# --- unfold / fold, im2col / col2im ---------------------------------------------------------

FOLD = [  # (x shape, kwargs)
    ((2, 3, 5, 4), dict(kernel_size=2)),
    ((1, 2, 7, 6), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))),
    ((2, 1, 6, 6), dict(kernel_size=3, stride=3)),
    ((2, 3, 4, 4), dict(kernel_size=1)),
    ((3, 5, 4), dict(kernel_size=(3, 2), padding=(1, 0))),                     # unbatched
]


@pytest.mark.parametrize("xs,kw", FOLD)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unfold_fold_vs_torch(xs, kw, dtype, rng):
    (x,) = _data(rng, dtype, xs)
    check_against_torch(lambda t: F.unfold(t, **kw), lambda t: TF.unfold(t, **kw), [x])
    cols = TF.unfold(torch.tensor(x), **kw).numpy()
    cols = rng.uniform(-1, 1, cols.shape).astype(dtype)
    size = xs[-2:]
    check_against_torch(lambda t: F.fold(t, size, **kw), lambda t: TF.fold(t, size, **kw), [cols])


@pytest.mark.parametrize("xs,k,s,p,d", [
    ((2, 3, 5), 3, 2, 1, 1),
    ((1, 2, 6, 5), (2, 3), (1, 2), [(1, 0), (2, 1)], (2, 1)),                 # asymmetric padding
    ((1, 2, 4, 5, 3), (2, 2, 1), 1, (1, 0, 1), (1, 2, 1)),
])
def test_im2col_col2im_adjoint_nd(xs, k, s, p, d, rng):
    x = rng.standard_normal(xs)
    cols = im2col(x, k, s, p, d)
    c = rng.standard_normal(cols.shape)
    assert cols.flags.c_contiguous
    np.testing.assert_allclose((cols * c).sum(), (x * col2im(c, xs, k, s, p, d)).sum(), rtol=1e-12)


def test_im2col_matches_torch_unfold_layout(rng):
    x = rng.standard_normal((2, 3, 6, 5))
    expected = TF.unfold(torch.tensor(x), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1)).numpy()
    np.testing.assert_allclose(im2col(x, (3, 2), (2, 1), 1, (1, 2)), expected, rtol=1e-12)
    c = rng.standard_normal(expected.shape)
    fold = TF.fold(torch.tensor(c), (6, 5), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1)).numpy()
    np.testing.assert_allclose(col2im(c, x.shape, (3, 2), (2, 1), 1, (1, 2)), fold, rtol=1e-12)


# --- finite differences (no torch) ---------------------------------------------------------

@pytest.mark.parametrize("fn,shapes,kw", [
    ("conv2d", [(2, 4, 5, 5), (4, 2, 3, 2), (4,)],
     dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    ("conv2d", [(1, 2, 5, 4), (3, 2, 2, 2), (3,)], dict(padding="same")),
    ("conv1d", [(2, 3, 7), (2, 3, 3), (2,)], dict(stride=2, padding=1)),
    ("conv3d", [(1, 2, 3, 4, 3), (2, 2, 2, 2, 2), (2,)], dict(padding=1, stride=(2, 1, 1))),
    ("conv_transpose2d", [(2, 4, 3, 3), (4, 1, 3, 2), (2,)],
     dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("conv_transpose1d", [(1, 2, 4), (2, 3, 3), (3,)], dict(dilation=2, output_padding=1)),
])
def test_gradcheck(fn, shapes, kw, rng):
    gradcheck(lambda *t: getattr(F, fn)(*t, **kw), _data(rng, np.float64, *shapes), max_coords=25)


def test_gradcheck_unfold_fold(rng):
    kw = dict(kernel_size=(2, 3), padding=1, stride=(2, 1), dilation=(1, 2))
    (x,) = _data(rng, np.float64, (1, 2, 5, 6))
    gradcheck(lambda t: F.unfold(t, **kw), [x], max_coords=25)
    cols = rng.uniform(-1, 1, F.unfold(cn.tensor(x), **kw).shape)
    gradcheck(lambda t: F.fold(t, (5, 6), **kw), [cols], max_coords=25)


# --- fast vs the loop reference -------------------------------------------------------------

@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 5, 6), (4, 3, 3, 3), dict(padding=1)),
    ((1, 4, 7, 6), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
    ((2, 2, 4, 4), (3, 2, 1, 1), dict(stride=2)),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_vs_loop_reference(xs, ws, kw, dtype, rng):
    x, w, b = _data(rng, dtype, xs, ws, (ws[0],))
    xt, wt, bt = (cn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt, **kw)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.detach().numpy(), conv2d_ref(x, w, b, **kw), **tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(cn.tensor(g))
    gx, gw, gb = conv2d_ref_grads(x, w, g, **kw)
    for ours, ref in [(xt.grad, gx), (wt.grad, gw), (bt.grad, gb)]:
        np.testing.assert_allclose(ours.numpy(), ref, **tol)


# --- the chunked / threaded kernels ---------------------------------------------------------

@pytest.fixture
def tiny_chunks(monkeypatch):
    """Force one image per chunk and the worker pool even for tiny inputs."""
    monkeypatch.setattr(conv_ops, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")


@pytest.mark.parametrize("fn,xs,ws,kw", [
    ("conv2d", (5, 4, 6, 5), (6, 2, 3, 3), dict(groups=2, padding=1, stride=(1, 2))),
    ("conv2d", (3, 3, 5, 5), (4, 3, 3, 3), dict(padding="same")),
    ("conv_transpose2d", (5, 4, 3, 4), (4, 3, 3, 2), dict(stride=2, output_padding=1)),
])
def test_chunked_threaded_kernels_vs_torch(fn, xs, ws, kw, tiny_chunks, rng):
    _check(fn, xs, ws, kw, np.float32, rng)


def test_float32_stays_float32_and_contiguous(rng):
    x, w = _data(rng, np.float32, (2, 3, 8, 8), (4, 3, 3, 3))
    y = F.conv2d(cn.tensor(x), cn.tensor(w), stride=2, padding=1)
    assert y.dtype == np.float32 and y._data.flags.c_contiguous and y.shape == (2, 4, 4, 4)


def test_empty_batch(rng):
    x, w = _data(rng, np.float32, (0, 3, 5, 5), (4, 3, 3, 3))
    xt, wt = cn.tensor(x, requires_grad=True), cn.tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt, padding=1)
    assert y.shape == tuple(TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).shape)
    y.sum().backward()
    assert wt.grad.shape == w.shape and not wt.grad.numpy().any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws", [((5, 16, 5, 5), (12, 16, 5, 5)), ((3, 2, 4), (6, 2, 4)), ((2, 3, 2, 3, 2), (4, 3, 2, 3, 2))])
def test_kernel_as_large_as_the_input_is_a_matrix_product(xs, ws, dtype, rng, monkeypatch):
    """LeNet-5's C5 case (one output position, no padding): forward and gradients vs torch, with
    the matrix-product path checked to run; also on a channels-last input and an empty batch."""
    from convnet.ops import conv as conv_ops
    calls = []
    real = conv_ops._is_matmul
    monkeypatch.setattr(conv_ops, "_is_matmul", lambda *a: calls.append(real(*a)) or calls[-1])
    fn = {3: "conv1d", 4: "conv2d", 5: "conv3d"}[len(xs)]
    check_against_torch(getattr(F, fn), getattr(TF, fn), _data(rng, dtype, xs, ws, (ws[0],)))
    assert calls and all(calls)
    if len(xs) == 4:
        x = rng.uniform(-1, 1, xs).astype(dtype)
        xl = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
        w = rng.uniform(-1, 1, ws).astype(dtype)
        tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
        y, want = F.conv2d(cn.Tensor(xl), cn.tensor(w)).numpy(), TF.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
        assert y.shape == want.shape and y.dtype == want.dtype
        np.testing.assert_allclose(y, want, **tol)
        assert F.conv2d(cn.tensor(x[:0]), cn.tensor(w)).shape == (0, ws[0], 1, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposed_conv_from_one_pixel_is_a_matrix_product(dtype, rng):
    """A DCGAN-style first layer, (N, C, 1, 1) -> (N, C', 4, 4): its forward is the input gradient
    of a conv whose kernel covers its input, i.e. the matrix-product path, bias included."""
    check_against_torch(F.conv_transpose2d, TF.conv_transpose2d, _data(rng, dtype, (3, 5, 1, 1), (5, 7, 4, 4), (7,)))
