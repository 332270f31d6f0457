"""Activations (functional and module) against PyTorch 2.13: forward and input gradient, plus a
float64 finite-difference check. Inputs are kept away from every kink (0, +-0.5, +-1, +-3, 6)."""
import numpy as np
import pytest
import torch

import convnet as cn
import convnet.functional as F
from convnet import nn
from helpers import check_against_torch, gradcheck

TF = torch.nn.functional
KINKS = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0, 0.25, 1.5])


def off_kinks(shape, dtype, seed=0, scale=4.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-scale * 1.8, scale * 1.8, size=shape)
    near = np.abs(x[..., None] - KINKS).min(-1) < 0.05
    x[near] += 0.1                                    # nudge off the kink (0.1 > the 0.05 band)
    return x.astype(dtype)


# (name, our function, torch function): functional forms with non-default parameters too
CASES = [
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("silu", F.silu, TF.silu),
    ("elu", F.elu, TF.elu),
    ("elu_a0.5", lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5)),
    ("selu", F.selu, TF.selu),
    ("celu_a2", lambda x: F.celu(x, 2.0), lambda x: TF.celu(x, 2.0)),
    ("relu6", F.relu6, TF.relu6),
    ("hardswish", F.hardswish, TF.hardswish),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid),
    ("hardtanh", F.hardtanh, TF.hardtanh),
    ("hardtanh_-3_1.5", lambda x: F.hardtanh(x, -3.0, 1.5), lambda x: TF.hardtanh(x, -3.0, 1.5)),
    ("mish", F.mish, TF.mish),
    ("softsign", F.softsign, TF.softsign),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid),
    ("softshrink", F.softshrink, TF.softshrink),
    ("hardshrink_1", lambda x: F.hardshrink(x, 1.0), lambda x: TF.hardshrink(x, 1.0)),
    ("threshold", lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0)),
    ("softplus_b2_t3", lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    ("relu_inplace", lambda x: F.relu(x, inplace=True), lambda x: TF.relu(x.clone(), inplace=True)),
    ("elu_inplace", lambda x: F.elu(x, inplace=True), lambda x: TF.elu(x.clone(), inplace=True)),
    ("softmin", lambda x: F.softmin(x, dim=1), lambda x: TF.softmin(x, dim=1)),
]
SHAPES = [(7,), (3, 5), (2, 3, 4, 5)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_activation_matches_torch(name, ours, theirs, shape, dtype):
    if name == "softmin" and len(shape) < 2:
        shape = (3, 7)
    check_against_torch(ours, theirs, [off_kinks(shape, dtype)])


@pytest.mark.parametrize("name, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_activation_gradcheck(name, ours, theirs):
    gradcheck(ours, [off_kinks((3, 4), np.float64, seed=3)])


def test_extreme_inputs_stay_finite():
    """Large |x|: no overflow to inf/NaN in the forward or the gradient (exp only of non-positive values)."""
    x = np.array([-800.0, -50.0, 50.0, 800.0], dtype=np.float32)
    for name, ours, theirs in CASES:
        if name == "softmin":
            continue
        check_against_torch(ours, theirs, [x])


PRELU = [((2, 3, 4, 5), 3), ((2, 3, 4, 5), 1), ((4, 6), 6), ((5,), 1), ((2, 4, 7), 4)]


@pytest.mark.parametrize("shape, c", PRELU)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prelu_input_and_weight_gradients(shape, c, dtype):
    w = np.random.default_rng(1).uniform(0.05, 0.5, c).astype(dtype)
    check_against_torch(F.prelu, TF.prelu, [off_kinks(shape, dtype), w])
    if dtype == np.float64:
        gradcheck(F.prelu, [off_kinks(shape, dtype, seed=4), w])


def test_prelu_module_init_and_training_step():
    m, t = nn.PReLU(3), torch.nn.PReLU(3)
    assert m.weight.shape == (3,) and np.all(m.weight._data == 0.25) and m.weight.dtype == np.float32
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert nn.PReLU(init=0.1).weight.tolist() == pytest.approx([0.1])
    x = off_kinks((2, 3, 4), np.float32)
    m(cn.tensor(x)).sum().backward()
    t(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="channels"):
        nn.PReLU(4)(cn.tensor(x))
    with pytest.raises(ValueError, match="channels"):  # torch: a 1-D input has one channel
        nn.PReLU(5)(cn.tensor(np.ones(5, np.float32)))


MODULES = [
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.SiLU(inplace=True), lambda: torch.nn.SiLU()),
    (lambda: nn.ELU(0.7), lambda: torch.nn.ELU(0.7)),
    (lambda: nn.CELU(1.3), lambda: torch.nn.CELU(1.3)),
    (lambda: nn.SELU(), lambda: torch.nn.SELU()),
    (lambda: nn.ReLU6(inplace=True), lambda: torch.nn.ReLU6()),
    (lambda: nn.ReLU(inplace=True), lambda: torch.nn.ReLU()),
    (lambda: nn.Hardswish(), lambda: torch.nn.Hardswish()),
    (lambda: nn.Hardsigmoid(), lambda: torch.nn.Hardsigmoid()),
    (lambda: nn.Hardtanh(-2.0, 2.0), lambda: torch.nn.Hardtanh(-2.0, 2.0)),
    (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.Softsign(), lambda: torch.nn.Softsign()),
    (lambda: nn.Tanhshrink(), lambda: torch.nn.Tanhshrink()),
    (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.Softshrink(0.25), lambda: torch.nn.Softshrink(0.25)),
    (lambda: nn.Hardshrink(), lambda: torch.nn.Hardshrink()),
    (lambda: nn.Threshold(1.0, 0.5), lambda: torch.nn.Threshold(1.0, 0.5)),
    (lambda: nn.LeakyReLU(0.3, inplace=True), lambda: torch.nn.LeakyReLU(0.3)),
    (lambda: nn.Softmin(dim=-1), lambda: torch.nn.Softmin(dim=-1)),
    (lambda: nn.PReLU(), lambda: torch.nn.PReLU()),
]


@pytest.mark.parametrize("make", MODULES, ids=[m[1]().__class__.__name__ + str(i) for i, m in enumerate(MODULES)])
def test_modules_match_torch(make):
    ours, theirs = make[0](), make[1]()
    check_against_torch(ours, theirs, [off_kinks((2, 3, 5), np.float32, seed=7)])


def test_inplace_flag_returns_torch_result_and_repr():
    x = off_kinks((4, 5), np.float32)
    t = torch.tensor(x)
    expected = torch.nn.ReLU(inplace=True)(t).numpy().copy()
    np.testing.assert_array_equal(nn.ReLU(inplace=True)(cn.tensor(x)).numpy(), expected)
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.GELU(approximate="tanh")) == "GELU(approximate='tanh')"


def test_bad_arguments_name_the_argument():
    x = cn.tensor(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(TypeError, match="input"):
        F.silu(cn.tensor([1, 2]))
    with pytest.raises(ValueError, match="weight"):
        F.prelu(x, cn.tensor(np.ones((2, 2), np.float32)))
