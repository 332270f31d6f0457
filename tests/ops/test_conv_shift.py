"""The shifted-GEMM stride-1 conv forward (ops/conv_shift.py) and the direct BLAS call it uses
(ops/_blas.py): vs torch, vs the slow loop reference, by finite differences, and the thresholds
that decide when it runs."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops import _blas, conv_shift
from convnet.ops import conv as conv_ops
from convnet.ops.conv_ref import conv2d_ref
from helpers import check_against_torch, gradcheck

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
TF = torch.nn.functional


def _count_images(monkeypatch, name):
    """Wrap ``conv_shift.<name>`` (whose last argument is the batch slice) to record how many
    images each call processed; returns that list."""
    calls = []
    real = getattr(conv_shift, name)

    def counting(*args):
        calls.append(args[-1].stop - args[-1].start)
        return real(*args)

    monkeypatch.setattr(conv_shift, name, counting)
    return calls


@pytest.fixture
def shifted(monkeypatch):
    """Force the shifted kernels on any stride-1 conv and count the images they processed."""
    monkeypatch.setattr(conv_shift, "MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_shift, "MIN_POSITIONS", 1)
    monkeypatch.setattr(conv_shift, "MAX_WASTE", float("inf"))
    monkeypatch.setattr(conv_ops.conv_nhwc, "MIN_CHANNELS", 10 ** 9)   # the channels-last kernel goes first
    monkeypatch.setattr(conv_ops.conv_direct, "MIN_ROWS", 10 ** 18)    # and the C kernels before it
    monkeypatch.setattr(conv_ops.conv_planes, "MIN_ROWS", 10 ** 18)
    monkeypatch.setattr(conv_ops, "_is_matmul", lambda *a: False)       # and the one-position product
    return _count_images(monkeypatch, "forward_chunk")


def _data(rng, dtype, *shapes):
    return [rng.uniform(-1, 1, s).astype(dtype) for s in shapes]


CASES = [  # (fn, x shape, weight shape, kwargs): every one is stride 1
    ("conv2d", (2, 3, 6, 6), (4, 3, 3, 3), dict(padding=1)),
    ("conv2d", (2, 3, 7, 5), (4, 3, 3, 2), dict(padding=(1, 0))),                # non-square
    ("conv2d", (1, 2, 9, 8), (3, 2, 3, 3), dict(dilation=(2, 1), padding=2)),
    ("conv2d", (2, 4, 6, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ("conv2d", (2, 4, 6, 6), (8, 1, 3, 3), dict(groups=4, padding=1)),           # depthwise x2
    ("conv2d", (2, 2, 6, 5), (3, 2, 3, 3), dict(padding="valid")),
    ("conv2d", (2, 2, 6, 5), (3, 2, 4, 2), dict(padding="same")),                # asymmetric pad
    ("conv2d", (2, 4, 7, 6), (4, 2, 2, 3), dict(padding="same", dilation=(2, 3), groups=2)),
    ("conv2d", (1, 1, 3, 3), (1, 1, 3, 3), dict()),                              # one output pixel
    ("conv1d", (2, 3, 9), (4, 3, 3), dict(padding=2, dilation=2)),
    ("conv3d", (2, 2, 4, 5, 3), (3, 2, 2, 3, 2), dict(padding=(1, 1, 0))),
    ("conv3d", (1, 4, 3, 4, 4), (4, 2, 3, 3, 3), dict(padding="same", groups=2)),
]


@pytest.mark.parametrize("fn,xs,ws,kw", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shifted_conv_vs_torch(fn, xs, ws, kw, dtype, shifted, rng):
    """Forward and every gradient (the input gradient of a 'same' conv is a shifted conv too)."""
    shapes = [xs, ws, (ws[0],)]
    check_against_torch(lambda *t: getattr(F, fn)(*t, **kw), lambda *t: getattr(TF, fn)(*t, **kw),
                        _data(rng, dtype, *shapes))
    assert sum(shifted) >= xs[0], "the shifted kernel did not run"


def test_shifted_conv_vs_loop_reference(shifted, rng):
    x, w, b = _data(rng, np.float64, (2, 3, 7, 6), (4, 3, 3, 2), (4,))
    y = F.conv2d(cn.tensor(x), cn.tensor(w), cn.tensor(b), padding=(2, 1), dilation=(1, 2))
    np.testing.assert_allclose(y.numpy(), conv2d_ref(x, w, b, padding=(2, 1), dilation=(1, 2)),
                               rtol=1e-10, atol=1e-12)
    assert sum(shifted) == 2


def test_shifted_conv_gradcheck(shifted, rng):
    gradcheck(lambda *t: F.conv2d(*t, padding=1, groups=2), _data(rng, np.float64, (2, 4, 4, 5), (4, 2, 3, 3), (4,)),
              max_coords=25)
    assert shifted


def test_shifted_conv_on_the_worker_pool(shifted, monkeypatch, rng):
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    x, w, b = _data(rng, np.float32, (9, 3, 6, 5), (4, 3, 3, 3), (4,))
    y = F.conv2d(cn.tensor(x), cn.tensor(w), cn.tensor(b), padding=1)
    want = TF.conv2d(*map(torch.tensor, (x, w, b)), padding=1).numpy()
    np.testing.assert_allclose(y.numpy(), want, rtol=2e-4, atol=2e-5)
    assert len(shifted) > 1 and sum(shifted) == 9                  # several chunks, every image once


@pytest.mark.parametrize("c,size,stride,expected", [
    (64, 32, 1, True),        # ResNet/VGG-sized: per-tap GEMMs with K = 64 beat im2col
    (64, 32, 2, False),       # strided: positions are not contiguous in the flat image
    (32, 32, 1, False),       # too few channels per tap GEMM
    (64, 8, 1, False),        # too few positions per GEMM
])
def test_shifted_path_is_chosen_only_where_it_pays(c, size, stride, expected):
    if expected and not _blas.has_blas(np.dtype(np.float32)):
        pytest.skip("NumPy's BLAS does not export cblas_sgemm here")
    got = conv_shift.applies(np, np.dtype(np.float32), (size, size), (3, 3), (stride, stride),
                             [(1, 1), (1, 1)], (1, 1), c, c, 1)
    assert got is expected


# --- ops/_blas.gemm -------------------------------------------------------------------------

def test_numpy_blas_is_found():
    from threadpoolctl import threadpool_info
    if not any(i.get("internal_api") == "openblas" for i in threadpool_info()):
        pytest.skip("NumPy is not linked against OpenBLAS here")
    assert _blas.has_blas(np.dtype(np.float32)) and _blas.has_blas(np.dtype(np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_gemm_strided_transposed_accumulating(dtype, beta, rng):
    big = rng.standard_normal((9, 40)).astype(dtype)
    a = big[:, 3:15]                                               # (9, 12), row stride 40
    b = rng.standard_normal((7, 30)).astype(dtype)[:, 5:17].T     # (12, 7), transposed view
    out = rng.standard_normal((9, 7)).astype(dtype)
    start = out.copy()
    want = a.astype(np.float64) @ b.astype(np.float64) + (start if beta else 0)
    got = _blas.gemm(np, a, b, out, beta=beta)
    assert got is out
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert out.shape == (9, 7) and out.dtype == dtype
    np.testing.assert_allclose(out, want, **tol)


def test_gemm_beta0_ignores_nan_in_out(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    out = np.full((3, 5), np.nan)
    np.testing.assert_allclose(_blas.gemm(np, a, b, out), a @ b, rtol=1e-12)


@pytest.mark.parametrize("case", ["int", "out_not_row_major", "mixed_dtype"])
def test_gemm_falls_back_to_matmul(case, rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    out = np.ones((3, 5))
    if case == "int":
        a, b, out = a.astype(np.int64), b.astype(np.int64), out.astype(np.int64)
    elif case == "out_not_row_major":
        out = np.ones((5, 3)).T
    else:
        a = a.astype(np.float32)
    want = a.astype(np.float64) @ b.astype(np.float64) + 1
    dtype = out.dtype
    _blas.gemm(np, a, b, out, beta=1.0)
    assert out.shape == (3, 5) and out.dtype == dtype
    np.testing.assert_allclose(out, want, rtol=0 if case == "int" else 1e-12)  # float64 out: float64 accuracy


# --- flat scatter-add input gradient (stride 1) ---------------------------------------------

@pytest.fixture
def flat_gx(monkeypatch):
    """Route every stride-1 input gradient through ``conv_shift.input_grad_chunk``."""
    monkeypatch.setattr(conv_shift, "MAX_WASTE_GRAD", float("inf"))
    monkeypatch.setattr(conv_ops, "_input_grad_as_conv", lambda *a: False)
    monkeypatch.setattr(conv_ops, "_input_grad_on_planes", lambda *a: False)
    monkeypatch.setattr(conv_ops, "_is_matmul", lambda *a: False)
    return _count_images(monkeypatch, "input_grad_chunk")


@pytest.mark.parametrize("fn,xs,ws,kw", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flat_input_grad_vs_torch(fn, xs, ws, kw, dtype, flat_gx, rng):
    check_against_torch(lambda *t: getattr(F, fn)(*t, **kw), lambda *t: getattr(TF, fn)(*t, **kw),
                        _data(rng, dtype, xs, ws, (ws[0],)))
    assert sum(flat_gx) == xs[0], "the flat input-gradient kernel did not run"


def test_flat_input_grad_of_transposed_conv_forward(flat_gx, rng):
    """A stride-1 transposed conv's forward is this kernel, with the bias added after it."""
    kw = dict(padding=1, dilation=2)
    check_against_torch(lambda *t: F.conv_transpose2d(*t, **kw), lambda *t: TF.conv_transpose2d(*t, **kw),
                        _data(rng, np.float64, (2, 3, 4, 5), (3, 2, 3, 2), (2,)))
    assert flat_gx


def test_flat_input_grad_gradcheck(flat_gx, rng):
    gradcheck(lambda *t: F.conv2d(*t, groups=2), _data(rng, np.float64, (2, 4, 5, 5), (4, 2, 3, 2), (4,)),
              max_coords=25)
    assert flat_gx
