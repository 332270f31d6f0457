"""The direct C conv kernels (ops/_cconv.c via ops/conv_direct.py): forward, input and weight
gradients vs torch and vs the slow loop reference with the kernels forced on, over output-channel
tails, strides, dilations, paddings and few or many channels; and when they are (not) used."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops import conv as conv_ops
from convnet.ops import conv_direct
from helpers import check_against_torch, check_conv2d_f32_against_loop_reference, record_calls, record_chunk_counts

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning"),
              pytest.mark.skipif(not conv_direct.available(),
                                 reason="C kernels not built or no AVX-512 on this CPU (NumPy kernels run)")]
TF = torch.nn.functional


def _spy(monkeypatch):
    return record_calls(monkeypatch, conv_direct, ("forward", "weight_grad", "weight_grad_chunk"))


def _both_ran(ran):
    """The forward and a weight gradient ran on the C kernels (the weight gradient per chunk beside
    the column kernels' input gradient, or alone on the C pool)."""
    return "forward" in ran and ("weight_grad" in ran or "weight_grad_chunk" in ran)


@pytest.fixture
def direct(monkeypatch):
    """Force the C kernels on every float32 2-D one-group conv; record which of them ran."""
    monkeypatch.setattr(conv_direct, "MIN_ROWS", 1)
    monkeypatch.setattr(conv_direct, "MIN_POSITIONS", 1)
    monkeypatch.setattr(conv_direct, "MIN_OUT_CHANNELS", 1)
    return _spy(monkeypatch)


def _data(rng, *shapes, dtype=np.float32):
    return [rng.uniform(-1, 1, s).astype(dtype) for s in shapes]


CASES = [  # (x shape, weight shape, kwargs)
    ((2, 3, 9, 9), (16, 3, 3, 3), dict(padding=1)),                        # one full vector of outputs
    ((2, 5, 11, 10), (17, 5, 3, 3), dict(stride=2, padding=1)),             # 16 + a 1-channel tail
    ((2, 4, 8, 8), (70, 4, 3, 3), dict(padding=1)),                         # 64 + 6
    ((1, 20, 7, 9), (40, 20, 3, 2), dict(dilation=(2, 1), padding=(2, 1))),  # 32 + 8, dilated rows
    ((3, 1, 12, 12), (6, 1, 5, 5), {}),                                      # one input channel, 6 outputs
    ((2, 6, 9, 9), (33, 6, 3, 3), dict(dilation=2, stride=(1, 2))),          # dilated columns (taps apart)
    ((2, 64, 6, 6), (64, 64, 3, 3), dict(padding=1)),                       # four full vectors
    ((2, 3, 15, 15), (64, 3, 7, 7), dict(stride=2, padding=3)),              # an RGB stem
    ((2, 8, 5, 40), (48, 8, 1, 3), dict(padding=(0, 1))),                   # rows of >= 32 pixels
    ((2, 4, 6, 7), (16, 4, 4, 2), dict(padding="same")),                    # asymmetric padding
    ((5, 16, 4, 4), (32, 16, 3, 3), dict(padding=1, stride=(2, 1))),         # 2x2 output rows: tiles of rows
    ((2, 130, 5, 5), (130, 130, 3, 3), dict(padding=1)),                    # 64 + 64 + 2 outputs, 390-wide rows
    ((2, 6, 14, 14), (16, 6, 5, 5), {}),                                     # LeNet-5's C3: rows of 10, 16 + 14 wide
    ((2, 2, 16, 32), (16, 2, 5, 5), {}),                                     # rows of 16 + 12, 10 wide
    ((2, 4, 16, 16), (16, 4, 3, 3), {}),                                     # rows of 14, 12 wide
    ((2, 3, 18, 18), (32, 3, 2, 2), {}),                                     # 2 vectors: rows of 8 + 8 + 1, 6 wide
]


@pytest.mark.parametrize("xs,ws,kw", CASES)
def test_direct_conv_vs_torch(xs, ws, kw, direct, rng):
    check_against_torch(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), _data(rng, xs, ws, (ws[0],)))
    assert _both_ran(direct)


def test_direct_conv_vs_loop_reference(direct, rng):
    kw = dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))
    x, w, b = _data(rng, (2, 5, 9, 8), (20, 5, 3, 2), (20,))
    check_conv2d_f32_against_loop_reference(x, w, b, rng, **kw)
    assert _both_ran(direct)


def test_direct_conv_output_is_channels_last_and_chunked(direct, monkeypatch, rng):
    """Several chunks on the worker pool give the same numbers; the output is channels-last."""
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(conv_direct, "CHUNK_BYTES", 1)                   # one image per chunk
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    x, w = _data(rng, (6, 16, 8, 8), (32, 16, 3, 3))
    runs = record_chunk_counts(monkeypatch, conv_direct)
    y = F.conv2d(cn.tensor(x), cn.tensor(w), padding=1)
    assert y._data.strides[1] == 4 and runs == [(6, True)]               # 6 chunks, on the C pool's threads
    np.testing.assert_allclose(y.numpy(), TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy(),
                               rtol=2e-4, atol=2e-5)


def test_resnet_sized_layers_take_the_c_kernels(monkeypatch, rng):
    """With the default thresholds: a CIFAR ResNet layer runs on the C kernels; float64, a
    6-channel output and a tiny batch keep the NumPy kernels."""
    ran = _spy(monkeypatch)
    x, w = _data(rng, (8, 16, 16, 16), (32, 16, 3, 3))
    xt, wt = cn.tensor(x, requires_grad=True), cn.tensor(w, requires_grad=True)
    F.conv2d(xt, wt, padding=1).sum().backward()
    assert _both_ran(ran)
    ran.clear()
    F.conv2d(cn.tensor(x.astype(np.float64)), cn.tensor(w.astype(np.float64)), padding=1)
    F.conv2d(cn.tensor(x), cn.tensor(w[:6]), padding=1)
    F.conv2d(cn.tensor(x[:1, :, :4, :4]), cn.tensor(w), padding=1)       # 16 output positions in all
    assert ran == []


def test_switched_off_by_the_environment(monkeypatch, rng):
    from convnet.ops import _clib
    monkeypatch.setattr(_clib, "_state", {})
    monkeypatch.setenv("CONVNET_C_KERNELS", "0")
    assert not conv_direct.available()
    x, w = _data(rng, (8, 16, 16, 16), (32, 16, 3, 3))
    y = F.conv2d(cn.tensor(x), cn.tensor(w), padding=1)
    np.testing.assert_allclose(y.numpy(), TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy(),
                               rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("layout", ["channels_last", "strided", "flipped"])
def test_direct_conv_on_non_contiguous_inputs(layout, direct, rng):
    """A channels-last input, a strided view (every other row) and a flipped view (negative strides)
    give the same numbers."""
    x0, w = _data(rng, (3, 16, 14, 9), (32, 16, 3, 3))
    x = {"channels_last": np.moveaxis(np.ascontiguousarray(np.moveaxis(x0, 1, -1)), -1, 1),
         "strided": x0[:, :, ::2], "flipped": x0[:, ::-1, :, ::-1]}[layout]
    xt = cn.Tensor(x, requires_grad=True)
    wt = cn.tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt, padding=1)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(cn.tensor(g))
    xr, wr = torch.tensor(np.ascontiguousarray(x), requires_grad=True), torch.tensor(w, requires_grad=True)
    yr = TF.conv2d(xr, wr, padding=1)
    yr.backward(torch.tensor(g))
    tol = dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(y.detach().numpy(), yr.detach().numpy(), **tol)
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), **tol)
    np.testing.assert_allclose(wt.grad.numpy(), wr.grad.numpy(), rtol=2e-4, atol=1e-4)
    assert _both_ran(direct)
