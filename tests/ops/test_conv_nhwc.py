"""The channels-last conv kernels (ops/conv_nhwc.py): forward, input and weight gradients vs
torch, vs the slow loop reference and by finite differences, with the kernels forced on; and
the thresholds that pick them."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops import conv as conv_ops
from convnet.ops import conv_nhwc
from convnet.ops.conv_ref import conv2d_ref, conv2d_ref_grads
from helpers import check_against_torch, gradcheck, record_calls

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
TF = torch.nn.functional


@pytest.fixture
def nhwc(monkeypatch):
    """Force the channels-last kernels on every one-group conv; record which of them ran."""
    monkeypatch.setattr(conv_nhwc, "MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_nhwc, "MIN_OUT_CHANNELS", 1)
    monkeypatch.setattr(conv_nhwc, "MIN_ROWS", 1)
    monkeypatch.setattr(conv_ops.conv_shift, "MIN_CHANNELS", 10 ** 9)   # keep the shifted paths out
    monkeypatch.setattr(conv_ops.conv_direct, "MIN_ROWS", 10 ** 18)    # and the C kernels
    monkeypatch.setattr(conv_ops.conv_planes, "MIN_ROWS", 10 ** 18)
    monkeypatch.setattr(conv_ops, "_is_matmul", lambda *a: False)
    monkeypatch.setattr(conv_ops.conv_shift, "MAX_WASTE_GRAD", 0.0)
    return record_calls(monkeypatch, conv_nhwc, ("forward_chunk", "input_grad_chunk", "weight_grad_chunk"))


def _data(rng, dtype, *shapes):
    return [rng.uniform(-1, 1, s).astype(dtype) for s in shapes]


CASES = [  # (fn, x shape, weight shape, kwargs), one group each
    ("conv2d", (2, 3, 6, 6), (4, 3, 3, 3), dict(padding=1)),
    ("conv2d", (2, 3, 7, 5), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0))),
    ("conv2d", (1, 2, 9, 8), (3, 2, 3, 3), dict(dilation=(2, 1), padding=2, stride=2)),
    ("conv2d", (2, 3, 5, 4), (5, 3, 1, 1), dict(stride=2, padding=1)),          # strided 1x1
    ("conv2d", (1, 2, 8, 7), (3, 2, 2, 2), dict(stride=3)),                     # stride > kernel
    ("conv2d", (2, 2, 6, 5), (3, 2, 4, 2), dict(padding="same")),               # asymmetric pad
    ("conv2d", (2, 2, 6, 5), (3, 2, 3, 3), dict(padding=(2, 0))),               # gx not a flipped conv
    ("conv1d", (2, 3, 9), (4, 3, 3), dict(padding=2, dilation=2, stride=2)),
    ("conv3d", (2, 2, 4, 5, 3), (3, 2, 2, 3, 2), dict(padding=(1, 1, 0), stride=(1, 2, 1))),
    # row-shifted GEMMs (stride 1 along the first axis) with dilation there, strides after it
    ("conv2d", (2, 3, 9, 8), (4, 3, 3, 2), dict(dilation=(2, 1), padding=(2, 1), stride=(1, 2))),
    ("conv3d", (1, 2, 6, 4, 5), (3, 2, 3, 2, 2), dict(dilation=(2, 1, 2), padding=(2, 0, 1))),
]


@pytest.mark.parametrize("fn,xs,ws,kw", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nhwc_conv_vs_torch(fn, xs, ws, kw, dtype, nhwc, rng):
    check_against_torch(lambda *t: getattr(F, fn)(*t, **kw), lambda *t: getattr(TF, fn)(*t, **kw),
                        _data(rng, dtype, xs, ws, (ws[0],)))
    assert "forward_chunk" in nhwc and "weight_grad_chunk" in nhwc


@pytest.mark.parametrize("fn,xs,ws,kw", [
    ("conv_transpose2d", (2, 4, 3, 4), (4, 3, 3, 2), dict(stride=2, output_padding=1, padding=1)),
    ("conv_transpose1d", (2, 3, 5), (3, 2, 3), dict(dilation=2)),
])
def test_nhwc_conv_transpose_vs_torch(fn, xs, ws, kw, nhwc, rng):
    """A transposed conv's forward is the input-gradient kernel (with its bias added there)."""
    check_against_torch(lambda *t: getattr(F, fn)(*t, **kw), lambda *t: getattr(TF, fn)(*t, **kw),
                        _data(rng, np.float64, xs, ws, (ws[1],)))
    assert "input_grad_chunk" in nhwc


def test_nhwc_vs_loop_reference(nhwc, rng):
    kw = dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))
    x, w, b = _data(rng, np.float64, (2, 3, 7, 6), (4, 3, 3, 2), (4,))
    xt, wt, bt = (cn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt, **kw)
    np.testing.assert_allclose(y.detach().numpy(), conv2d_ref(x, w, b, **kw), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(cn.tensor(g))
    for ours, ref in zip((xt.grad, wt.grad, bt.grad), conv2d_ref_grads(x, w, g, **kw)):
        np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10, atol=1e-12)
    assert set(nhwc) == {"forward_chunk", "input_grad_chunk", "weight_grad_chunk"}


def test_nhwc_gradcheck(nhwc, rng):
    gradcheck(lambda *t: F.conv2d(*t, stride=2, padding=1), _data(rng, np.float64, (2, 3, 5, 5), (2, 3, 3, 3), (2,)),
              max_coords=25)
    assert "input_grad_chunk" in nhwc


def test_nhwc_on_the_worker_pool(nhwc, monkeypatch, rng):
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(conv_nhwc, "CHUNK_BYTES", 1)                    # one image per chunk
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    _check_conv2d_f32(rng, (7, 3, 6, 5), (4, 3, 3, 3), dict(padding=1, stride=(1, 2)))
    assert nhwc.count("forward_chunk") == 7 and nhwc.count("weight_grad_chunk") == 7


def _check_conv2d_f32(rng, xs, ws, kw):
    check_against_torch(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw),
                        _data(rng, np.float32, xs, ws, (ws[0],)))


@pytest.mark.parametrize("c,o,groups,rows,expected", [
    (64, 64, 1, 128 * 64, True),      # ResNet-20's stages, batch 128
    (16, 16, 1, 128 * 1024, True),
    (6, 16, 1, 128 * 100, False),     # LeNet-5's C3: runs of 6 floats, slow scatter-add
    (16, 120, 1, 1, False),           # LeNet-5's C5 at batch 1: shuffles cost more than they save
    (3, 64, 1, 10 ** 5, False),       # RGB stem: runs of 3 floats, per-image im2col wins
    (16, 6, 1, 10 ** 5, False),       # GEMM too narrow
    (64, 64, 2, 10 ** 5, False),      # groups: not handled here
])
def test_nhwc_path_is_chosen_only_where_it_pays(c, o, groups, rows, expected):
    assert conv_nhwc.applies(np, c, o, groups, rows) is expected


@pytest.mark.parametrize("kernel,stride,folds", [((3, 3), (1, 1), True), ((3, 3), (1, 2), True),
                                                 ((3, 3), (2, 1), False), ((1, 3), (1, 1), False),
                                                 ((3,), (1,), False), ((2, 3, 2), (1, 2, 1), True)])
def test_row_fold_choice(kernel, stride, folds):
    """Row-shifted GEMMs need stride 1 and a kernel taller than 1 along the first axis, and a second axis."""
    assert conv_nhwc._folds_rows(kernel, stride) is folds


def test_row_columns_are_the_full_columns_shifted(rng):
    """Kernel row i's block of the row columns equals the full columns' taps of that row."""
    xpad = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)   # (b, *S_pad, C)
    k, s, d = (3, 2), (1, 2), (2, 1)
    out = (7 - d[0] * (k[0] - 1), (6 - d[1] * (k[1] - 1) - 1) // s[1] + 1)
    full = conv_nhwc._columns(np, xpad, k, s, d, out).reshape(2, out[0] * out[1], k[0], k[1] * 3).copy()
    rows = conv_nhwc._row_columns(np, xpad, k, s, d, out)
    for i in range(k[0]):
        np.testing.assert_array_equal(conv_nhwc._row_block(rows, i, d, out), full[:, :, i])
