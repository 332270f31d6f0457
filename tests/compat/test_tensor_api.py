"""Tensor methods side by side with torch 2.13: same inputs, same results (shape, dtype, values)
and the same gradients."""
import math

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import nn
from helpers import assert_same

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
A = RNG.permutation(24).astype(np.float32).reshape(2, 3, 4) / 7 - 1.5  # distinct values (no ties)
I = np.array([[5, -3, 7], [-8, 2, 0]], dtype=np.int64)


def pair(a, grad=False):
    return cn.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


@pytest.mark.parametrize("fn", [
    lambda t: t.view_as(t.reshape(6, 4)), lambda t: t.reshape_as(t.reshape(4, 6)),
    lambda t: t[:, :1].expand_as(t), lambda t: t.pow(2), lambda t: t.norm(), lambda t: t.norm(dim=1),
    lambda t: t.norm(p=1, dim=(0, 2), keepdim=True), lambda t: t.norm(p=math.inf, dim=-1), lambda t: t.norm(3),
    lambda t: t.topk(2).values, lambda t: t.topk(3, dim=1, largest=False).values,
    lambda t: t.sort(dim=1).values, lambda t: t.sort(descending=True).values,
    lambda t: t.var(1), lambda t: t.var(1, correction=0, keepdim=True), lambda t: t.std(0, unbiased=False),
    lambda t: t.std(), lambda t: t.var(dim=(0, 2)), lambda t: t.max(1).values, lambda t: t.min(2, keepdim=True)[0],
    lambda t: t.max(), lambda t: t.max(t * -1), lambda t: t.min(t * 0.5), lambda t: t % 0.7,
    lambda t: t.masked_fill(t > 0, 0.5), lambda t: t.t() if t.ndim == 2 else t[0].t(), lambda t: t.T.contiguous(),
    lambda t: t.squeeze(), lambda t: t.clone(), lambda t: t.amax(1), lambda t: t.transpose(0, 2).reshape(-1),
])
def test_differentiable_methods_match_torch(fn):
    (x, tx), (g, tg) = pair(A, True), pair(RNG.standard_normal(fn(torch.tensor(A)).shape).astype(np.float32))
    y, ty = fn(x), fn(tx)
    assert_same(y.detach(), ty.detach(), atol=1e-6, rtol=1e-5)
    y.backward(g)
    ty.backward(tg)
    assert_same(x.grad, tx.grad, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("fn", [
    lambda t: t.topk(2).indices, lambda t: t.sort(dim=0, descending=True).indices, lambda t: t.argsort(dim=1),
    lambda t: t.max(1).indices, lambda t: t.argmax(1, keepdim=True), lambda t: t.any(), lambda t: (t > 0).all(1),
    lambda t: (t > 0).any(dim=2, keepdim=True), lambda t: t.eq(t.round()), lambda t: t // 0.5, lambda t: 2.0 % t,
    lambda t: t.new_zeros(2, 3), lambda t: t.new_ones((4,)), lambda t: t.new_full((2,), 7.5),
    lambda t: t.new_tensor([1, 2]), lambda t: t.new_zeros(2, dtype=cn.int64 if isinstance(t, cn.Tensor) else
                                                             torch.int64),
    lambda t: t.new_empty(3).zero_(), lambda t: t.unique(), lambda t: t.round().unique(return_counts=True)[1],
    lambda t: t.round().unique(return_inverse=True)[1], lambda t: t.numel(), lambda t: t.size(),
    lambda t: t.size(-1), lambda t: t.tolist(), lambda t: t.sum().item(), lambda t: t.dim(),
    lambda t: t.type_as(t.long()),
])
def test_value_methods_match_torch(fn):
    x, tx = pair(A)
    o, t = fn(x), fn(tx)
    if isinstance(t, torch.Tensor):
        assert_same(o, t)
    elif isinstance(t, tuple):  # torch.Size
        assert isinstance(o, tuple) and o == tuple(t)
    else:
        assert o == t and type(o) is type(t)


@pytest.mark.parametrize("op", [lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b, lambda a, b: ~a,
                                lambda a, b: a // b, lambda a, b: a % b, lambda a, b: a // 3, lambda a, b: -7 % b, lambda a, b: b // a.abs().clamp(min=1),
                                lambda a, b: (a > 0) & (b > 0), lambda a, b: ~(a > 0), lambda a, b: a & 6])
def test_int_and_bool_operators_match_torch(op):
    b = np.array([[3, 2, -2], [3, -5, 4]], dtype=np.int64)
    assert_same(op(cn.tensor(I), cn.tensor(b)), op(torch.tensor(I), torch.tensor(b)))


def test_bitwise_on_float_and_integer_division_by_zero_raise_like_torch():
    for t in (cn.tensor(A), torch.tensor(A)):
        with pytest.raises(TypeError):
            ~t
    for t in (cn.tensor(I), torch.tensor(I)):
        with pytest.raises(RuntimeError, match="ZeroDivisionError|division by zero"):
            -7 % t
        with pytest.raises(RuntimeError, match="ZeroDivisionError|division by zero"):
            5 // t


def test_index_and_format():
    items = list(range(10))
    for t in (cn.tensor(3), torch.tensor(3)):
        assert items[t] == 3 and items[t:] == items[3:] and f"{t}" == "3"
    for lib in (cn, torch):
        loss = lib.tensor(1.234567)
        assert f"{loss:.4f}" == "1.2346" and f"{loss.item():.2f}" == "1.23"
        with pytest.raises(TypeError):
            items[lib.tensor(1.0)]
        with pytest.raises(TypeError):
            f"{lib.tensor([1.0, 2.0]):.2f}"


def test_data_alias_matches_torch():
    for lib in (cn, torch):
        p = lib.tensor(np.ones((2, 3), np.float32), requires_grad=True)
        d = p.data
        d.mul_(0.5)
        assert_same(p.detach(), np.full((2, 3), 0.5, np.float32))
        p.data[0, 0] = 4.0
        p.data = lib.tensor(np.zeros((2, 3), np.float32))
        assert not d.requires_grad and p.requires_grad and p.is_leaf
        assert_same(p.detach(), np.zeros((2, 3), np.float32))
        assert_same(d, np.array([[4, .5, .5], [.5, .5, .5]], np.float32))
    x, tx = pair(A)
    assert_same(x.data.max(1)[0], tx.data.max(1)[0])
    assert_same(x.data.max(1)[1], tx.data.max(1)[1])


INPLACE = [
    lambda t: t.add_(1.5), lambda t: t.add_(t * 2, alpha=0.5), lambda t: t.sub_(t[0] * 1), lambda t: t.mul_(3),
    lambda t: t.div_(2.0), lambda t: t.exp_(), lambda t: t.relu_(), lambda t: t.clamp_(-0.5, 0.25),
    lambda t: t.clamp_(min=0.0), lambda t: t.fill_(2.0), lambda t: t.zero_(), lambda t: t.copy_(t.flip(0)),
    lambda t: t.copy_(t[0] * 2), lambda t: t.__iadd__(1), lambda t: t.__isub__(t), lambda t: t.__imul__(t),
    lambda t: t.__itruediv__(4.0), lambda t: t.pow_(2), lambda t: t.neg_(), lambda t: t.sqrt_() if False else t.abs_(),
]


def _flip(t):
    return t.flip(0) if isinstance(t, torch.Tensor) else cn.tensor(t._data[::-1].copy())


@pytest.mark.parametrize("fn", INPLACE)
def test_inplace_writes_memory_and_keeps_identity(fn):
    for lib, mk in ((cn, cn.tensor), (torch, torch.tensor)):
        t = mk(A.copy())
        view, alias = t[0], t.data
        before = id(t)
        out = fn(_Flippable(t))
        assert id(out if not isinstance(out, _Flippable) else out.t) == before
    ours, theirs = cn.tensor(A.copy()), torch.tensor(A.copy())
    ov, tv = ours[1], theirs[1]
    od = ours.data
    fn(_Flippable(ours))
    fn(_Flippable(theirs))
    assert_same(ours, theirs, atol=1e-6, rtol=1e-6)
    assert_same(ov, tv, atol=1e-6, rtol=1e-6)    # a view sees the change (same memory)
    assert_same(od, theirs, atol=1e-6, rtol=1e-6)


class _Flippable:
    """Wraps a tensor so that ``t.flip(0)`` works on both libraries (convnet has no flip)."""

    def __init__(self, t):
        self.t = t

    def flip(self, d):
        return _flip(self.t)

    def __getattr__(self, name):
        return getattr(self.t, name)

    def __getitem__(self, i):
        return self.t[i]

    def __mul__(self, o):
        return self.t * o

    def __iadd__(self, o): return self.t.__iadd__(o)
    def __isub__(self, o): return self.t.__isub__(o.t if isinstance(o, _Flippable) else o)
    def __imul__(self, o): return self.t.__imul__(o.t if isinstance(o, _Flippable) else o)
    def __itruediv__(self, o): return self.t.__itruediv__(o)


@pytest.mark.parametrize("fn", INPLACE)
def test_inplace_on_leaf_requiring_grad_raises_like_torch(fn):
    for mk in (cn.tensor, torch.tensor):
        t = mk(A.copy(), requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            fn(_Flippable(t))


def test_inplace_under_no_grad_on_leaf_is_allowed():
    x, tx = pair(A, True)
    with cn.no_grad():
        x.mul_(2).add_(1)
        x -= 0.5
    with torch.no_grad():
        tx.mul_(2).add_(1)
        tx -= 0.5
    assert_same(x.detach(), tx.detach())
    assert x.requires_grad and x.is_leaf


@pytest.mark.parametrize("fn", [f for i, f in enumerate(INPLACE) if i not in (11, 14, 15)])  # 11: no flip here; 14, 15: torch version error
def test_inplace_in_graph_matches_torch_gradient(fn):
    x, tx = pair(A, True)
    y, ty = x * 1.5 + 0.25, tx * 1.5 + 0.25
    r, tr = fn(_Flippable(y)), fn(_Flippable(ty))
    r = r.t if isinstance(r, _Flippable) else r
    tr = tr.t if isinstance(tr, _Flippable) else tr
    assert r is y and tr is ty
    z, tz = (y * y).sum(), (ty * ty).sum()
    assert_same(y.detach(), ty.detach(), atol=1e-6, rtol=1e-6)
    z.backward()
    tz.backward()
    assert_same(x.grad, tx.grad, atol=1e-5, rtol=1e-5)


def test_setitem_in_graph_matches_torch():
    x, tx = pair(A, True)
    y, ty = x * 2, tx * 2
    y[0, 1] = 5.0
    ty[0, 1] = 5.0
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    assert_same(x.grad, tx.grad)


def test_inplace_dtype_and_shape_errors_like_torch():
    for lib in (cn, torch):
        n = lib.tensor([1, 2, 3])
        with pytest.raises(RuntimeError):
            n += 1.5
        with pytest.raises(RuntimeError):
            n.div_(2)
        with pytest.raises(RuntimeError):
            n.add_(lib.tensor([0.5, 0.5, 0.5]))
        with pytest.raises(RuntimeError):
            lib.zeros(3).add_(lib.ones(2, 3))
        n += 2
        assert_same(n, np.array([3, 4, 5]))
        f = lib.zeros(3)
        f += lib.ones(3, dtype=lib.float64)
        assert_same(f, np.ones(3, np.float32))


def test_uniform_normal_fill_under_no_grad():
    cn.manual_seed(0)
    w = cn.zeros(1000, requires_grad=True)
    with cn.no_grad():
        assert w.uniform_(-2, 3) is w
        assert -2 <= float(w.min()) and float(w.max()) < 3 and abs(float(w.mean()) - 0.5) < 0.2
        w.normal_(1.0, 0.5)
        assert abs(float(w.mean()) - 1) < 0.1 and abs(float(w.std()) - 0.5) < 0.05
    assert w.requires_grad and w.is_leaf and w.dtype == cn.float32


def test_contiguity_like_torch():
    x, tx = pair(A)
    for f in (lambda t: t, lambda t: t.transpose(0, 1), lambda t: t.permute(2, 0, 1), lambda t: t[0].t(),
              lambda t: t.transpose(0, 1).transpose(0, 1), lambda t: t[:, :1].contiguous().expand(2, 3, 4),
              lambda t: t.reshape(1, 24).expand(1, 24), lambda t: t.transpose(0, 1).contiguous(),
              lambda t: t.reshape(24, 1).t(), lambda t: t.mT):
        assert f(x).is_contiguous() == f(tx).is_contiguous()
        sizes = f(x).shape  # torch's stride of a size-1 dimension is arbitrary: compare the others
        assert [s for s, n in zip(f(x).stride(), sizes) if n != 1] == \
            [s for s, n in zip(f(tx).stride(), sizes) if n != 1]
    for lib_x in (x, tx):
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            lib_x.transpose(0, 1).view(-1)
        with pytest.raises(RuntimeError):
            lib_x.t() if lib_x.ndim == 2 else lib_x[0].t().view(12)
    assert_same(x.transpose(0, 1).contiguous().view(-1), tx.transpose(0, 1).contiguous().view(-1))
    assert_same(x.transpose(0, 1).reshape(-1), tx.transpose(0, 1).reshape(-1))


def test_view_after_conv_bn_relu_pool_works():
    cn.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2))
    x = cn.randn(4, 3, 8, 8)
    h = x
    for layer in net:
        h = layer(h)
        assert h.is_contiguous()
        assert h.view(h.size(0), -1).shape == (4, int(np.prod(h.shape[1:])))
    assert F.relu(h).view(4, -1).shape == (4, 128)


def test_module_level_functions_match_torch():
    x, tx = pair(A)
    b, tb = pair(A[::-1].copy())
    for f in (lambda L, t, u: L.max(t, u), lambda L, t, u: L.min(t, u), lambda L, t, u: L.max(t, 1)[0],
              lambda L, t, u: L.min(t, 0)[1], lambda L, t, u: L.max(t), lambda L, t, u: L.all(t > -2),
              lambda L, t, u: L.any(t > 1, 1), lambda L, t, u: L.flatten(t, 1), lambda L, t, u: L.norm(t),
              lambda L, t, u: L.topk(t, 2)[0], lambda L, t, u: L.sort(t, 1)[1], lambda L, t, u: L.t(t[0]),
              lambda L, t, u: L.std(t, 1), lambda L, t, u: L.var(t, 0, keepdim=True)):
        assert_same(f(cn, x, b), f(torch, tx, tb), atol=1e-6, rtol=1e-6)
    assert cn.numel(x) == torch.numel(tx) and cn.is_tensor(x) and not cn.is_tensor(A)
    arr = np.zeros(3, np.float32)
    t = cn.from_numpy(arr)
    arr[0] = 2
    assert_same(t, torch.from_numpy(arr))
    cn.manual_seed(1)
    for name, args in (("randn_like", ()), ("rand_like", ()), ("randint_like", (5,))):
        o, r = getattr(cn, name)(x, *args), getattr(torch, name)(tx, *args)
        assert o.shape == r.shape and str(o.dtype).split(".")[1] == str(r.dtype).split(".")[1]


def test_grad_modes():
    x = cn.ones(2, requires_grad=True)
    with cn.inference_mode():
        assert not (x * 2).requires_grad
    with cn.set_grad_enabled(False):
        assert not cn.is_grad_enabled()
    assert cn.is_grad_enabled()

    @cn.inference_mode()
    def f(t):
        return t * 2

    @cn.inference_mode
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad and (x * 2).requires_grad
    cn.set_grad_enabled(False)
    assert not cn.is_grad_enabled()
    cn.set_grad_enabled(True)
    assert cn.is_grad_enabled()
