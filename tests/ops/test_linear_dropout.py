"""linear vs torch and by finite differences; dropout family by its statistics and gradient."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from helpers import check_against_torch, gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.mark.parametrize("x_shape", [(5,), (3, 5), (2, 3, 5), (2, 1, 2, 5)])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear(x_shape, bias, dtype, rng):
    x = rng.standard_normal(x_shape).astype(dtype)
    params = [rng.standard_normal((4, 5)).astype(dtype)] + ([rng.standard_normal(4).astype(dtype)] if bias else [])
    check_against_torch(F.linear, TF.linear, [x] + params)
    if dtype == np.float64:
        gradcheck(F.linear, [x] + params)


def test_linear_vector_weight_and_scalar_bias(rng):
    x, w, b = rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(())
    check_against_torch(F.linear, TF.linear, [x, w])
    check_against_torch(F.linear, TF.linear, [x, rng.standard_normal((4, 5)), b])


def test_linear_errors():
    with pytest.raises(ValueError, match="5 features.*expects 4"):
        F.linear(cn.randn(2, 5), cn.randn(3, 4))
    with pytest.raises(TypeError, match="dtype"):
        F.linear(cn.randn(2, 4), cn.randn(3, 4, dtype=np.float64))
    with pytest.raises(ValueError, match="bias"):
        F.linear(cn.randn(2, 4), cn.randn(3, 4), cn.randn(2))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_statistics_and_gradient(p, dtype):
    x = cn.tensor(np.ones((200, 100), dtype=dtype), requires_grad=True)
    y = F.dropout(x, p)
    out = y.detach().numpy()
    assert y.dtype == dtype and y.shape == x.shape
    assert abs((out == 0).mean() - p) < 0.015                  # fraction zeroed ~ p
    assert abs(out.mean() - 1.0) < 0.05                         # mean preserved (inverted dropout)
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / (1 - p)], rtol=1e-6)
    g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    y.backward(cn.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g * out, rtol=1e-6)  # gradient = upstream * mask * scale


def test_dropout_eval_identity_and_edge_p():
    x = cn.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).numpy() == 0)
    xg = cn.randn(3, requires_grad=True)
    F.dropout(xg, 1.0).sum().backward()
    assert np.all(xg.grad.numpy() == 0)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, p)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, p, training=False)


def test_dropout_seeded_and_inplace():
    cn.manual_seed(3)
    a = F.dropout(cn.ones(50), 0.5).numpy()
    cn.manual_seed(3)
    b = F.dropout(cn.ones(50), 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    x = cn.ones(100)
    assert F.dropout(x, 0.5, inplace=True) is x and (x.numpy() == 0).any()


@pytest.mark.parametrize("fn,shape,mask_axes", [
    ("dropout1d", (20, 30, 7), (2,)), ("dropout1d", (30, 7), (1,)),
    ("dropout2d", (20, 30, 3, 4), (2, 3)), ("dropout2d", (20, 30, 5), (2,)),
    ("dropout3d", (10, 30, 2, 3, 2), (2, 3, 4)), ("dropout3d", (30, 2, 3, 2), (1, 2, 3)),
])
def test_channel_dropout(fn, shape, mask_axes):
    x = cn.tensor(np.ones(shape), requires_grad=True)
    y = getattr(F, fn)(x, 0.4)
    out = y.detach().numpy()
    zero = out == 0
    assert np.array_equal(zero.all(axis=mask_axes), zero.any(axis=mask_axes))  # whole channels dropped
    assert abs(zero.mean() - 0.4) < 0.08
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.6])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out)
    assert getattr(F, fn)(x, 0.4, training=False) is x


def test_channel_dropout_errors():
    with pytest.raises(ValueError, match="dropout2d"):
        F.dropout2d(cn.randn(3), 0.5)
    with pytest.raises(ValueError, match="dropout1d"):
        F.dropout1d(cn.randn(2, 3, 4, 5), 0.5)


def test_alpha_dropout_keeps_selu_statistics():
    x = cn.randn(200000, dtype=np.float64)
    y = F.alpha_dropout(x, 0.3, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert F.alpha_dropout(x, 0.3) is x  # training=False by default, as torch
    assert np.all(F.alpha_dropout(x, 1.0, training=True).numpy() == 0)
    xg = cn.tensor(np.ones(1000), requires_grad=True)
    y = F.alpha_dropout(xg, 0.5, training=True)
    y.sum().backward()
    a = (0.5 * (1 + 0.5 * 1.7580993408473766 ** 2)) ** -0.5
    assert set(np.round(np.unique(xg.grad.numpy()), 10)) == {0.0, round(a, 10)}
