"""nn.init: empirical statistics against torch's formulas; fans and gains against torch.nn.init."""
import math

import numpy as np
import pytest

import convnet as cn
from convnet import nn
from convnet.nn import init

torch = pytest.importorskip("torch")


def _p(*shape, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("shape", [(30, 20), (16, 8, 3, 3), (4, 6, 5), (6, 2, 2, 3, 3), (5, 7)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(_p(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("nl,param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                      ("leaky_relu", math.sqrt(5)), ("selu", None), ("conv_transpose2d", None)])
def test_gain_matches_torch(nl, param):
    assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param), rel=1e-15)


def test_errors():
    with pytest.raises(ValueError, match="fewer than 2"):
        init.xavier_uniform_(_p(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(_p(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")


SHAPE = (64, 32, 3, 3)  # fan_in 288, fan_out 576; 18432 samples
FAN_IN, FAN_OUT = 32 * 9, 64 * 9


def _check_uniform(x, bound):
    assert x.min() >= -bound and x.max() <= bound
    assert x.min() < -0.98 * bound and x.max() > 0.98 * bound
    np.testing.assert_allclose(x.std(), bound / math.sqrt(3), rtol=0.03)
    assert abs(x.mean()) < 0.03 * bound


def _check_normal(x, std):
    np.testing.assert_allclose(x.std(), std, rtol=0.03)
    assert abs(x.mean()) < 0.03 * std
    assert np.abs(x).max() > 3 * std  # a Gaussian tail, not a uniform


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_xavier(dtype):
    w = _p(*SHAPE, dtype=dtype)
    assert init.xavier_uniform_(w, gain=2.0) is w and w.dtype == dtype
    _check_uniform(w._data, 2.0 * math.sqrt(6 / (FAN_IN + FAN_OUT)))
    init.xavier_normal_(w)
    _check_normal(w._data, math.sqrt(2 / (FAN_IN + FAN_OUT)))


@pytest.mark.parametrize("mode,fan", [("fan_in", FAN_IN), ("fan_out", FAN_OUT)])
def test_kaiming(mode, fan):
    w = _p(*SHAPE)
    init.kaiming_normal_(w, mode=mode, nonlinearity="relu")
    _check_normal(w._data, math.sqrt(2 / fan))  # He et al.: the notes' "Xavier/2"
    init.kaiming_uniform_(w, a=0.2, mode=mode)
    _check_uniform(w._data, math.sqrt(2 / (1 + 0.04)) * math.sqrt(3 / fan))


def test_simple_fills():
    w = _p(100, 100)
    init.uniform_(w, -0.5, 2.0)
    assert -0.5 <= w._data.min() and w._data.max() <= 2.0 and abs(w._data.mean() - 0.75) < 0.03
    init.normal_(w, 1.0, 0.1)
    assert abs(w._data.mean() - 1.0) < 0.01 and abs(w._data.std() - 0.1) < 0.005
    init.trunc_normal_(w, 0.0, 1.0, -1.0, 1.5)
    assert w._data.min() >= -1.0 and w._data.max() <= 1.5
    tw = torch.empty(100, 100)
    torch.nn.init.trunc_normal_(tw, 0.0, 1.0, -1.0, 1.5)
    assert abs(w._data.std() - tw.std().item()) < 0.02 and abs(w._data.mean() - tw.mean().item()) < 0.03
    init.constant_(w, 0.3)
    assert (w._data == np.float32(0.3)).all()
    assert (init.ones_(w)._data == 1).all() and (init.zeros_(w)._data == 0).all()
    np.testing.assert_array_equal(init.eye_(_p(3, 4))._data, np.eye(3, 4))
    q = init.orthogonal_(_p(6, 10))._data.astype(np.float64)
    np.testing.assert_allclose(q @ q.T, np.eye(6), atol=1e-5)


def test_dirac_matches_torch():
    w, tw = _p(4, 2, 3, 3), torch.empty(4, 2, 3, 3)
    np.testing.assert_array_equal(init.dirac_(w, groups=2)._data, torch.nn.init.dirac_(tw, groups=2).numpy())


def test_manual_seed_repeats():
    cn.manual_seed(7)
    a = init.kaiming_uniform_(_p(5, 5))._data.copy()
    cn.manual_seed(7)
    b = init.kaiming_uniform_(_p(5, 5))._data.copy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make,wshape,fan_in", [
    (lambda: nn.Conv2d(16, 32, 3), (32, 16, 3, 3), 16 * 9),
    (lambda: nn.Conv2d(16, 32, (3, 5), groups=4), (32, 4, 3, 5), 4 * 15),
    (lambda: nn.Conv1d(8, 16, 5), (16, 8, 5), 40),
    (lambda: nn.Conv3d(4, 8, 3), (8, 4, 3, 3, 3), 108),
    (lambda: nn.ConvTranspose2d(32, 16, 4), (32, 16, 4, 4), 16 * 16),  # torch: fan_in from weight dim 1
    (lambda: nn.ConvTranspose2d(32, 16, 3, groups=2), (32, 8, 3, 3), 8 * 9),
    (lambda: nn.Linear(300, 200), (200, 300), 300),
])
def test_layer_default_init(make, wshape, fan_in):
    layer = make()
    w, b = layer.weight._data, layer.bias._data
    assert w.shape == wshape and w.dtype == np.float32 and b.dtype == np.float32
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) and the bias rule both give this
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.9 * bound
    if w.size > 5000:
        np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.05)
    cn.manual_seed(3)
    a = make().weight._data.copy()
    cn.manual_seed(3)
    np.testing.assert_array_equal(make().weight._data, a)
