"""autograd.grad, gradient clipping and the Module API against torch 2.13; shape errors are
RuntimeErrors in both libraries."""
import math

import numpy as np
import pytest

import convnet as cn
from convnet import nn
from convnet.errors import ShapeError
from helpers import assert_same

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)
A = RNG.standard_normal((3, 4)).astype(np.float32)
W = RNG.standard_normal((4, 2)).astype(np.float32)


def test_autograd_grad_matches_torch_and_leaves_grad_untouched():
    x, w = cn.tensor(A, requires_grad=True), cn.tensor(W, requires_grad=True)
    tx, tw = torch.tensor(A, requires_grad=True), torch.tensor(W, requires_grad=True)
    h, th = (x @ w).tanh(), (tx @ tw).tanh()
    outs = [(h * h).sum(), h.mean()]
    touts = [(th * th).sum(), th.mean()]
    g = cn.autograd.grad(outs, [x, h], retain_graph=True)
    tg = torch.autograd.grad(touts, [tx, th], retain_graph=True)
    for a, b in zip(g, tg):
        assert_same(a, b, atol=1e-6, rtol=1e-5)
    assert x.grad is None and w.grad is None
    up = np.ones((3, 2), np.float32)
    (gw,) = cn.autograd.grad(h, w, grad_outputs=cn.tensor(up))
    (tgw,) = torch.autograd.grad(th, tw, grad_outputs=torch.tensor(up))
    assert_same(gw, tgw, atol=1e-6, rtol=1e-5)


def test_autograd_grad_errors_like_torch():
    for lib in (cn, torch):
        x = lib.tensor(A, requires_grad=True)
        u = lib.tensor(W, requires_grad=True)
        with pytest.raises(RuntimeError):
            lib.autograd.grad((x * 2).sum(), [x, u])
        assert lib.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)[1] is None
        with pytest.raises(RuntimeError):
            lib.autograd.grad(lib.tensor(A).sum(), x)
    with pytest.raises(NotImplementedError):
        cn.autograd.grad((cn.tensor(A, requires_grad=True) ** 2).sum(), cn.tensor(A), create_graph=True)


@pytest.mark.parametrize("max_norm,norm_type", [(0.5, 2.0), (100.0, 2.0), (0.3, 1), (0.2, math.inf), (1.0, 3.0)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    grads = [RNG.standard_normal(s).astype(np.float32) for s in ((3, 4), (4,), (2, 2, 2))]
    ps = [cn.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    tps = [torch.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    for p, tp, g in zip(ps, tps, grads):
        p.grad, tp.grad = cn.tensor(g), torch.tensor(g)
    ps.append(cn.tensor(np.zeros(2, np.float32), requires_grad=True))  # no .grad: skipped
    tps.append(torch.tensor(np.zeros(2, np.float32), requires_grad=True))
    total = nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert_same(total, ttotal, rtol=1e-6)
    for p, tp in zip(ps[:3], tps[:3]):
        assert_same(p.grad, tp.grad, rtol=1e-6, atol=1e-7)


def test_clip_grad_nonfinite_and_value():
    for lib in (cn, torch):
        p = lib.tensor(np.zeros(2, np.float32), requires_grad=True)
        p.grad = lib.tensor(np.array([np.inf, 1.0], np.float32))
        with pytest.raises(RuntimeError):
            lib.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    g = RNG.standard_normal((5, 3)).astype(np.float32)
    p, tp = cn.tensor(np.zeros_like(g), requires_grad=True), torch.tensor(np.zeros_like(g), requires_grad=True)
    p.grad, tp.grad = cn.tensor(g), torch.tensor(g)
    nn.utils.clip_grad_value_(p, 0.4)
    torch.nn.utils.clip_grad_value_(tp, 0.4)
    assert_same(p.grad, tp.grad)


def _pair_models():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                             torch.nn.Flatten(), torch.nn.Linear(8, 3))
    return m, tm


def test_module_api_matches_torch():
    m, tm = _pair_models()
    assert [n for n, _ in m.named_modules()] == [n for n, _ in tm.named_modules()]
    assert len(list(m.children())) == len(list(tm.children())) and len(list(m.modules())) == len(list(tm.modules()))
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert m.train() is m and m.eval() is m and not m.training and not m[0].training
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m and seen[-1] == "Sequential"
    assert m.requires_grad_(False) is m and not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    m.register_buffer("scratch", cn.zeros(2), persistent=False)
    tm.register_buffer("scratch", torch.zeros(2), persistent=False)
    assert "scratch" not in m.state_dict() and "scratch" not in tm.state_dict()
    assert "scratch" in dict(m.named_buffers())
    sd = {k: v.numpy() for k, v in tm.state_dict().items()}
    res = m.load_state_dict(sd)
    assert list(res.missing_keys) == [] and list(res.unexpected_keys) == []
    del sd["4.bias"]
    sd["extra"] = np.zeros(1, np.float32)
    res = m.load_state_dict(sd, strict=False)
    tres = tm.load_state_dict({k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    assert res.missing_keys == tres.missing_keys and res.unexpected_keys == tres.unexpected_keys
    for lib_m, d in ((m, sd), (tm, {k: torch.tensor(v) for k, v in sd.items()})):
        with pytest.raises(RuntimeError):
            lib_m.load_state_dict(d)
    x = np.ones((1, 1, 4, 4), np.float32)
    m(cn.tensor(x)).sum().backward()
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m(cn.tensor(x)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())


SHAPE_ERRORS = {
    "matmul": lambda L, nnm: L.ones(2, 3) @ L.ones(4, 5),
    "view": lambda L, nnm: L.ones(2, 3).view(4, 2),
    "cat": lambda L, nnm: L.cat([L.ones(2, 3), L.ones(2, 4)], 0),
    "conv_in_channels": lambda L, nnm: nnm.Conv2d(3, 4, 3)(L.ones(1, 2, 5, 5)),
    "linear_in_features": lambda L, nnm: nnm.Linear(3, 2)(L.ones(4, 5)),
    "loss_batch": lambda L, nnm: nnm.CrossEntropyLoss()(L.ones(4, 3), L.zeros(5, dtype=L.long)),
    "mse_shapes": lambda L, nnm: nnm.MSELoss()(L.ones(4, 3), L.ones(5, 3)),
    "add_broadcast": lambda L, nnm: L.ones(2, 3) + L.ones(4, 3),
    "expand": lambda L, nnm: L.ones(2, 3).expand(4, 4),
}


@pytest.mark.parametrize("name", sorted(SHAPE_ERRORS))
def test_shape_errors_are_runtime_errors_in_both(name):
    # torch raises ValueError for a loss batch mismatch and RuntimeError for the rest; ours is a
    # ShapeError, both at once, so either kind of except clause catches it
    fn = SHAPE_ERRORS[name]
    with pytest.raises(ValueError if name == "loss_batch" else RuntimeError):
        fn(torch, torch.nn)
    with pytest.raises(RuntimeError):
        fn(cn, nn)
    with pytest.raises(ShapeError):
        fn(cn, nn)
