"""Tensor core: elementwise, reductions, movement, matmul, activations vs torch and by finite differences."""
import numpy as np
import pytest

import convnet as cn
from helpers import away_from_ties, check_against_torch, gradcheck

torch = pytest.importorskip("torch")

BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
]
SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((5,), ())]


@pytest.mark.parametrize("name,fn", BINARY)
@pytest.mark.parametrize("sa,sb", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_broadcast(name, fn, sa, sb, dtype, rng):
    a = rng.uniform(0.5, 2, sa).astype(dtype)
    b = rng.uniform(0.5, 2, sb).astype(dtype)
    check_against_torch(fn, fn, [a, b])
    gradcheck(fn, [a, b])


@pytest.mark.parametrize("fn", [
    lambda x: x.exp(), lambda x: x.log(), lambda x: x.sqrt(), lambda x: x ** 3, lambda x: 2.0 ** x,
    lambda x: x.abs(), lambda x: x.clamp(0.7, 1.5), lambda x: -x, lambda x: x.sigmoid(), lambda x: x.tanh(),
    lambda x: x.relu(), lambda x: 1.0 / x, lambda x: 3 - x,
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary(fn, dtype, rng):
    x = away_from_ties((3, 5), rng, 0.2, 2.0, dtype)
    check_against_torch(fn, fn, [x])
    gradcheck(fn, [x])


def test_pow_tensor_exponent(rng):
    a = rng.uniform(0.5, 2, (3, 4))
    b = rng.uniform(-1, 2, (3, 4))
    f = lambda a, b: a ** b  # noqa: E731
    check_against_torch(f, f, [a, b])
    gradcheck(f, [a, b])


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_sum_mean(op, dim, keepdim, rng):
    x = rng.standard_normal((2, 3, 4))
    if dim is None:
        f = lambda t: getattr(t, op)()  # noqa: E731
    else:
        f = lambda t: getattr(t, op)(dim, keepdim=keepdim)  # noqa: E731
    check_against_torch(f, f, [x])
    gradcheck(f, [x])


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_max_min(op, dim, keepdim, rng):
    x = away_from_ties((3, 4, 5), rng)
    if dim is None:
        f = lambda t: getattr(t, op)()  # noqa: E731
    else:
        f = lambda t: getattr(t, op)(dim, keepdim=keepdim)[0]  # noqa: E731
    check_against_torch(f, f, [x])
    gradcheck(f, [x])
    if dim is not None:
        i_o = getattr(cn.tensor(x), op)(dim, keepdim=keepdim)[1].numpy()
        i_t = getattr(torch.tensor(x), op)(dim, keepdim=keepdim)[1].numpy()
        np.testing.assert_array_equal(i_o, i_t)


def test_max_ties_share_gradient():
    x = np.array([1.0, 3.0, 3.0, 2.0])
    check_against_torch(lambda t: t.max(), lambda t: t.max(), [x])


@pytest.mark.parametrize("fn", [
    lambda t: t.reshape(4, 6), lambda t: t.view(-1), lambda t: t.flatten(1), lambda t: t.transpose(0, 2),
    lambda t: t.permute(1, 2, 0), lambda t: t.T, lambda t: t[1], lambda t: t[:, 1:3], lambda t: t[..., ::2],
    lambda t: t[:, None, 1], lambda t: t[[0, 1, 1]], lambda t: t[:, [2, 0, 2], 1:], lambda t: t.unsqueeze(1),
    lambda t: t.unsqueeze(-1).squeeze(-1), lambda t: t[t > 0.2],
    lambda t: t[1:2].expand(3, 3, 4),
])
def test_movement(fn, rng):
    x = rng.standard_normal((2, 3, 4))
    check_against_torch(fn, fn, [x])
    gradcheck(fn, [x])


def test_cat_stack(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 5))
    check_against_torch(lambda a, b: cn.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1), [a, b])
    gradcheck(lambda a, b: cn.cat([a, b], -1), [a, b])
    c = rng.standard_normal((2, 3))
    check_against_torch(lambda a, c: cn.stack([a, c], 1), lambda a, c: torch.stack([a, c], 1), [a, c])


# negative padding (cropping) only with mode="constant"
PADS = [(pad, mode) for pad in [(1, 2), (1, 0, 2, 1), (-1, 1, 0, 2), (0, 0, 1, 1, 2, 0)]
        for mode in ["constant", "reflect", "replicate", "circular"] if mode == "constant" or min(pad) >= 0]


@pytest.mark.parametrize("pad,mode", PADS)
def test_pad(pad, mode, rng):
    shape = (1, 2, 3, 4) if mode == "constant" else (1, 2, 3, 4, 5)[:len(pad) // 2 + 2]
    x = rng.standard_normal(shape)
    tf = torch.nn.functional.pad
    check_against_torch(lambda t: cn.pad(t, pad, mode=mode), lambda t: tf(t, pad, mode=mode), [x])
    gradcheck(lambda t: cn.pad(t, pad, mode=mode), [x])


def test_where(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    cond = a > 0
    check_against_torch(lambda a, b: cn.where(cn.tensor(cond), a, b),
                        lambda a, b: torch.where(torch.tensor(cond), a, b), [a, b])


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 3, 4), (4, 2)), ((4,), (4, 3)), ((3, 4), (4,)),
                                   ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul(sa, sb, dtype, rng):
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    f = lambda a, b: a @ b  # noqa: E731
    check_against_torch(f, f, [a, b])
    gradcheck(f, [a, b])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax(op, dim, rng):
    x = rng.standard_normal((3, 4, 5)) * 3
    check_against_torch(lambda t: getattr(t, op)(dim), lambda t: getattr(t, op)(dim), [x])
    gradcheck(lambda t: getattr(t, op)(dim), [x])


def test_softmax_large_logits_stable():
    x = cn.tensor([[1000.0, 0.0, -1000.0]])
    assert np.isfinite(cn.log_softmax(x, 1).numpy()).all()
    np.testing.assert_allclose(cn.softmax(x, 1).numpy(), [[1, 0, 0]], atol=1e-7)


def test_gradient_accumulates_and_graph_released():
    x = cn.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_graph_released_after_backward():
    import weakref
    x = cn.tensor(np.ones((100, 100)), requires_grad=True)
    y = x * 2
    ctx = weakref.ref(y._ctx)
    z = y.sum()
    z.backward()
    assert y._ctx is None and ctx() is None


def test_no_grad_and_detach():
    x = cn.tensor([1.0], requires_grad=True)
    with cn.no_grad():
        y = x * 2
    assert not y.requires_grad
    assert not (x * 2).detach().requires_grad


def test_dtypes_follow_torch():
    assert cn.tensor([1.0, 2.0]).dtype == np.float32
    assert cn.tensor(np.zeros(2)).dtype == np.float64
    assert cn.tensor([1, 2]).dtype == np.int64
    assert (cn.tensor([1.0]) * 2.0).dtype == np.float32
    assert (cn.tensor([1, 2]) * 1.5).dtype == np.float32
    assert (cn.tensor([1, 2]) / cn.tensor([2, 2])).dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        cn.tensor([1, 2], requires_grad=True)


def test_tensor_api():
    x = cn.zeros(2, 3)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.numel() == 6 and x.ndim == 2
    assert np.asarray(x).shape == (2, 3)
    assert cn.ones(1).item() == 1.0
    assert (cn.arange(3) == cn.tensor([0, 1, 2])).numpy().all()
    cn.manual_seed(3)
    a = cn.randn(4).numpy()
    cn.manual_seed(3)
    np.testing.assert_array_equal(a, cn.randn(4).numpy())


@pytest.mark.parametrize("fn", [
    lambda t: t.split(2)[1], lambda t: t.split([1, 3], 0)[0], lambda t: t.chunk(3, 1)[2],
    lambda t: t.repeat(2, 1, 3), lambda t: t.var(), lambda t: t.var(1, keepdim=True), lambda t: t.std(0),
    lambda t: t.var(1, unbiased=False), lambda t: t.square(), lambda t: t.add(2.0).mul(t).div(3.0).sub(t),
])
def test_composites(fn, rng):
    x = rng.standard_normal((4, 6))
    check_against_torch(fn, fn, [x])
    gradcheck(fn, [x])


def test_masked_fill(rng):
    x = rng.standard_normal((3, 4))
    mask = x > 0.1
    check_against_torch(lambda t: t.masked_fill(cn.tensor(mask), 0.5),
                        lambda t: t.masked_fill(torch.tensor(mask), 0.5), [x])
