"""train/eval behaviour (BatchNorm, Dropout), freezing, layers equal to their functional op, errors."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn
from helpers import assert_same

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_follow_torch_over_batches(momentum, rng):
    ours, theirs = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum)
    for i in range(4):
        x = (rng.standard_normal((4, 3, 3, 3)) * (i + 1) + i).astype(np.float32)
        ours(cn.tensor(x)), theirs(torch.tensor(x))
    assert ours.num_batches_tracked.item() == 4 and ours.num_batches_tracked.dtype == np.int64
    for k in ("running_mean", "running_var"):
        assert_same(getattr(ours, k), getattr(theirs, k), rtol=1e-5, atol=1e-6, what=k)
    assert_same(ours.num_batches_tracked, theirs.num_batches_tracked, what="num_batches_tracked")
    if momentum is None:  # cumulative average of the unbiased batch variances
        assert not np.allclose(ours.running_var.numpy(), 1.0)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    assert_same(ours(cn.tensor(x)), theirs(torch.tensor(x)).detach(), rtol=1e-5, atol=1e-5, what="eval output")
    assert ours.num_batches_tracked.item() == 4  # eval does not count


def test_batchnorm_train_vs_eval(rng):
    bn = nn.BatchNorm1d(4)
    x = cn.tensor((rng.standard_normal((16, 4)) * 3 + 5).astype(np.float32))
    y = bn(x).detach().numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)  # batch statistics
    np.testing.assert_allclose(y.std(0), 1, atol=1e-3)
    bn.eval()
    running = (x.numpy() - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(bn(x).detach().numpy(), running, rtol=1e-5, atol=1e-5)
    assert not bn.training and bn.train().training


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval(rng):
    bn = nn.BatchNorm2d(2, track_running_stats=False).eval()
    assert list(bn.state_dict()) == ["weight", "bias"]
    x = rng.standard_normal((3, 2, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(bn(cn.tensor(x)).detach().numpy().mean((0, 2, 3)), 0, atol=1e-5)


@pytest.mark.parametrize("cls,ndim,bad", [(nn.BatchNorm1d, "2D or 3D", (2, 3, 4, 5)), (nn.BatchNorm2d, "4D", (2, 3)),
                                          (nn.BatchNorm3d, "5D", (2, 3, 4, 5))])
def test_batchnorm_input_dim_check(cls, ndim, bad):
    with pytest.raises(ValueError, match=f"expected {ndim} input"):
        cls(3)(cn.zeros(*bad))


def test_batchnorm_reset_and_dtype():
    bn = nn.BatchNorm2d(2)
    bn(cn.randn(4, 2, 3, 3))
    bn.reset_running_stats()
    assert bn.running_mean.tolist() == [0, 0] and bn.running_var.tolist() == [1, 1]
    assert bn.num_batches_tracked.item() == 0
    bn.double()
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64


def test_dropout_train_eval_and_seed():
    x = cn.ones(200, 100)
    d = nn.Dropout(0.3)
    cn.manual_seed(5)
    y = d(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)  # inverted dropout
    cn.manual_seed(5)
    np.testing.assert_array_equal(d(x).numpy(), y)
    d.eval()
    np.testing.assert_array_equal(d(x).numpy(), x.numpy())
    assert (nn.Dropout(0.0)(x).numpy() == 1).all() and (nn.Dropout(1.0)(x).numpy() == 0).all()


@pytest.mark.parametrize("cls,shape", [(nn.Dropout2d, (8, 50, 3, 3)), (nn.Dropout1d, (8, 50, 5)),
                                       (nn.Dropout3d, (8, 50, 2, 2, 2))])
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    y = cls(0.5)(cn.ones(*shape)).numpy().reshape(shape[0], shape[1], -1)
    per_channel = y.min(-1) == y.max(-1)
    assert per_channel.all()
    assert 0.35 < (y[..., 0] == 0).mean() < 0.65
    np.testing.assert_array_equal(cls(0.5).eval()(cn.ones(*shape)).numpy(), np.ones(shape))


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5"])
def test_dropout_bad_p(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)


def test_eval_and_train_recurse():
    m = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.BatchNorm1d(4), nn.Dropout()))
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_freeze_with_requires_grad(rng):
    fc1, fc2 = nn.Linear(4, 3), nn.Linear(3, 2)
    fc1.requires_grad_(False)
    assert all(not p.requires_grad for p in fc1.parameters())
    x = cn.tensor(rng.standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    fc2(fc1(x)).sum().backward()
    assert fc1.weight.grad is None and fc1.bias.grad is None
    assert fc2.weight.grad is not None and x.grad is not None  # gradients still flow through
    opt = cn.optim.SGD(list(fc1.parameters()) + list(fc2.parameters()), lr=0.1)
    w1 = fc1.weight._data.copy()
    opt.step()
    np.testing.assert_array_equal(fc1.weight._data, w1)


def test_layers_equal_their_functional_op(rng):
    x = cn.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
    bn = nn.BatchNorm2d(3)
    cases = [
        (nn.Linear(8, 5), lambda m: F.linear(x, m.weight, m.bias)),
        (nn.MaxPool2d(3, 2, 1), lambda m: F.max_pool2d(x, 3, 2, 1)),
        (nn.AvgPool2d(2), lambda m: F.avg_pool2d(x, 2)),
        (nn.AdaptiveAvgPool2d(3), lambda m: F.adaptive_avg_pool2d(x, 3)),
        (nn.LayerNorm(8), lambda m: F.layer_norm(x, (8,), m.weight, m.bias)),
        (nn.GroupNorm(3, 3), lambda m: F.group_norm(x, 3, m.weight, m.bias)),
        (nn.LocalResponseNorm(3), lambda m: F.local_response_norm(x, 3)),
        (nn.LocalContrastNorm(5, sigma=1.5), lambda m: F.local_contrast_norm(x, 5, 1.5, 1e-4)),
        (nn.MinPool2d(2), lambda m: F.min_pool2d(x, 2)),
        (nn.Abs(), lambda m: F.abs(x)),
        (nn.Softplus(2.0), lambda m: F.softplus(x, 2.0)),
        (bn.eval(), lambda m: F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False)),
    ]
    for layer, fn in cases:
        np.testing.assert_array_equal(layer(x).detach().numpy(), fn(layer).detach().numpy(), err_msg=repr(layer))


def test_ours_only_layers_against_references(rng):
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(nn.Abs()(cn.tensor(x)).numpy(), np.abs(x))
    tmin = -torch.nn.functional.max_pool2d(-torch.tensor(x), 3, 2, 1, ceil_mode=True)
    np.testing.assert_array_equal(nn.MinPool2d(3, 2, 1, ceil_mode=True)(cn.tensor(x)).numpy(), tmin.numpy())
    assert repr(nn.LocalContrastNorm()) == "LocalContrastNorm(kernel_size=7, sigma=None, eps=0.0001)"
    assert repr(nn.Abs()) == "Abs()"
    y = nn.LocalContrastNorm(5)(cn.tensor(x)).numpy()
    assert y.shape == x.shape and np.isfinite(y).all()


def test_softmax_implicit_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = nn.Softmax()(cn.zeros(2, 4))
    np.testing.assert_allclose(y.numpy(), 0.25)


@pytest.mark.parametrize("make,exc,match", [
    (lambda: nn.Conv2d(3, 6, 3, groups=2), ValueError, "divisible by groups"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, "out_channels"),
    (lambda: nn.Conv2d(3, 6, 3, padding_mode="mirror"), ValueError, "padding_mode"),
    (lambda: nn.Conv2d(3, 6, 3, stride=2, padding="same"), ValueError, "strided"),
    (lambda: nn.Conv2d(3, 6, 3, padding="full"), ValueError, "padding"),
    (lambda: nn.Conv2d(0, 6, 3), ValueError, "in_channels"),
    (lambda: nn.Conv2d(3, 6, (3, 3, 3)), ValueError, "kernel_size"),
    (lambda: nn.ConvTranspose2d(3, 6, 3, padding_mode="reflect"), ValueError, "zeros"),
    (lambda: nn.ConvTranspose2d(3, 6, 3, stride=2, output_padding=2), ValueError, "output_padding"),
    (lambda: nn.GroupNorm(4, 6), ValueError, "divisible"),
])
def test_constructor_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_load_state_dict_shape_mismatch_names_key():
    with pytest.raises(ValueError, match="weight"):
        nn.Linear(3, 4).load_state_dict(nn.Linear(4, 4).state_dict())


def test_dtype_argument_and_module_double():
    assert nn.Conv2d(1, 2, 3, dtype=np.float64).weight.dtype == np.float64
    assert nn.Linear(2, 3).double().bias.dtype == np.float64
    assert nn.BatchNorm2d(2, dtype=np.float64).running_var.dtype == np.float64
