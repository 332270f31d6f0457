"""The C conv kernels on NCHW planes for few output channels (ops/_cplanes.c via
ops/conv_planes.py): forward, input gradient (the flipped-kernel forward) and weight gradient vs
torch and the slow loop reference, with the kernels forced on; and when they are (not) used."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops import conv as conv_ops
from convnet.ops import conv_planes
from helpers import check_against_torch, check_conv2d_f32_against_loop_reference, record_calls, record_chunk_counts

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning"),
              pytest.mark.skipif(not conv_planes.available(),
                                 reason="C kernels not built or no AVX-512 on this CPU (NumPy kernels run)")]
TF = torch.nn.functional


def _spy(monkeypatch):
    return record_calls(monkeypatch, conv_planes, ("forward", "weight_grad"))


@pytest.fixture
def planes(monkeypatch):
    """Force the planes kernels on every float32 2-D one-group conv with < 16 outputs."""
    monkeypatch.setattr(conv_planes, "MIN_ROWS", 1)
    return _spy(monkeypatch)


def _data(rng, *shapes, dtype=np.float32):
    return [rng.uniform(-1, 1, s).astype(dtype) for s in shapes]


CASES = [  # (x shape, weight shape, kwargs); the input gradient of the stride-1 ones runs on planes too
    ((3, 1, 12, 12), (6, 1, 5, 5), {}),                                      # LeNet-5's C1
    ((2, 16, 9, 9), (6, 16, 5, 5), {}),                                      # C3's input gradient shape
    ((2, 3, 20, 37), (15, 3, 3, 3), dict(padding=1)),                        # 8 + 7 channels; 16 + 16 + 5 columns
    ((2, 4, 11, 10), (9, 4, 3, 2), dict(stride=(2, 1), padding=(1, 0))),     # row stride
    ((1, 5, 13, 12), (3, 5, 3, 3), dict(dilation=(2, 3), padding=2)),         # dilation both ways
    ((2, 2, 8, 9), (1, 2, 4, 2), dict(padding="same")),                     # one output, asymmetric padding
]


@pytest.mark.parametrize("xs,ws,kw", CASES)
def test_planes_conv_vs_torch(xs, ws, kw, planes, rng):
    check_against_torch(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), _data(rng, xs, ws, (ws[0],)))
    assert "forward" in planes and "weight_grad" in planes


def test_planes_conv_vs_loop_reference(planes, rng):
    kw = dict(stride=(2, 1), padding=(2, 1), dilation=(1, 2))
    x, w, b = _data(rng, (2, 3, 11, 12), (5, 3, 3, 3), (5,))
    check_conv2d_f32_against_loop_reference(x, w, b, rng, **kw)
    assert "forward" in planes and "weight_grad" in planes


def test_planes_on_the_worker_pool_and_strided_input(planes, monkeypatch, rng):
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(conv_planes, "CHUNK_BYTES", 1)                   # one image per chunk
    monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
    x, w = _data(rng, (5, 2, 20, 9), (6, 2, 3, 3))
    xs = x[:, :, ::2]                                                    # a strided view
    runs = record_chunk_counts(monkeypatch, conv_planes)
    y = F.conv2d(cn.tensor(xs), cn.tensor(w), padding=1)
    assert runs == [(5, True)]                                           # 5 chunks, on the C pool's threads
    np.testing.assert_allclose(y.numpy(), TF.conv2d(torch.tensor(np.ascontiguousarray(xs)), torch.tensor(w),
                                                    padding=1).numpy(), rtol=2e-4, atol=2e-5)


def test_lenet_sized_convs_take_the_planes_kernels(monkeypatch, rng):
    """Default thresholds: LeNet-5's C1 forward and weight gradient and C3's input gradient run
    here; fewer than 512 output positions, 16+ output channels and float64 do not."""
    ran = _spy(monkeypatch)
    x, w = _data(rng, (8, 1, 32, 32), (6, 1, 5, 5))
    wt = cn.tensor(w, requires_grad=True)
    F.conv2d(cn.tensor(x), wt).sum().backward()
    assert ran == ["forward", "weight_grad"]
    ran.clear()
    x3 = cn.tensor(_data(rng, (8, 6, 14, 14))[0], requires_grad=True)
    F.conv2d(x3, cn.tensor(_data(rng, (16, 6, 5, 5))[0])).sum().backward()
    assert ran == ["forward"]                                            # C3's input gradient (16 -> 6 flipped)
    ran.clear()
    F.conv2d(cn.tensor(x[:1, :, :20, :20]), cn.tensor(w))                # 16 x 16 = 256 positions
    F.conv2d(cn.tensor(x), cn.tensor(_data(rng, (16, 1, 5, 5))[0]))
    F.conv2d(cn.tensor(x.astype(np.float64)), cn.tensor(w.astype(np.float64)))
    assert ran == []
