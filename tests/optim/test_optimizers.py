"""Optimizers vs torch.optim: same initial weights + same batches -> same weights after 20 steps."""
import copy
import json

import numpy as np
import pytest

import convnet as cn
from convnet import optim
from convnet.nn import Parameter

torch = pytest.importorskip("torch")

SHAPES = {"w1": (8, 4), "b1": (8,), "w2": (3, 8), "b2": (3,)}
GROUPS = [("w1", "b1"), ("w2", "b2")]  # two groups, different learning rates


def _init(dtype):
    rng = np.random.default_rng(1)
    return {k: rng.uniform(-0.5, 0.5, s).astype(dtype) for k, s in SHAPES.items()}


def _batches(dtype, n=20):
    rng = np.random.default_rng(2)
    return [(rng.standard_normal((6, 4)).astype(dtype), np.eye(3, dtype=dtype)[rng.integers(0, 3, 6)])
            for _ in range(n)]


def _loss(P, x, y):
    """Cross-entropy of a 2-layer ReLU MLP, written with operators both frameworks share."""
    h = (x @ P["w1"].T + P["b1"]).relu()
    logp = (h @ P["w2"].T + P["b2"]).log_softmax(1)
    return -(logp * y).sum() / x.shape[0]


def _groups(P, lrs, extra):
    return [dict(params=[P[k] for k in names], lr=lr, **extra) for names, lr in zip(GROUPS, lrs)]


def _run_ours(cls, kw, lrs, dtype, batches, init=None, opt_state=None):
    P = {k: Parameter(v.copy()) for k, v in (init or _init(dtype)).items()}
    opt = getattr(optim, cls)(_groups(P, lrs, {}), **kw)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    for x, y in batches:
        opt.zero_grad()
        _loss(P, cn.tensor(x), cn.tensor(y)).backward()
        opt.step()
    return {k: v._data for k, v in P.items()}, opt


def _run_torch(cls, kw, lrs, dtype, batches):
    P = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in _init(dtype).items()}
    opt = getattr(torch.optim, cls)(_groups(P, lrs, {}), foreach=False, **kw)
    for x, y in batches:
        opt.zero_grad()
        _loss(P, torch.tensor(x), torch.tensor(y)).backward()
        opt.step()
    return {k: v.detach().numpy() for k, v in P.items()}, opt


CONFIGS = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("SGD", {"momentum": 0.9, "weight_decay": 1e-2}),
    ("SGD", {"momentum": 0.8, "dampening": 0.3}),
    ("SGD", {"weight_decay": 5e-3, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"weight_decay": 1e-2, "betas": (0.8, 0.99)}),
    ("Adam", {"amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"amsgrad": True, "weight_decay": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True, "momentum": 0.9}),
    ("RMSprop", {"weight_decay": 1e-2, "alpha": 0.9, "momentum": 0.5}),
]


def _lrs(cls):
    return (0.1, 0.03) if cls == "SGD" else (0.01, 0.003)


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=[f"{c}-{'-'.join(k) or 'plain'}" for c, k in CONFIGS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch_after_20_steps(cls, kw, dtype):
    batches = _batches(dtype)
    ours, _ = _run_ours(cls, kw, _lrs(cls), dtype, batches)
    theirs, _ = _run_torch(cls, kw, _lrs(cls), dtype, batches)
    tol = dict(atol=1e-10, rtol=1e-9) if dtype == np.float64 else dict(atol=2e-5, rtol=1e-4)
    for k in SHAPES:
        assert ours[k].dtype == dtype
        np.testing.assert_allclose(ours[k], theirs[k], err_msg=f"{cls} {kw}: {k}", **tol)
    assert not np.allclose(ours["w1"], _init(dtype)["w1"])  # it did train


@pytest.mark.parametrize("cls,kw", [("SGD", {"momentum": 0.9}), ("Adam", {"amsgrad": True}),
                                    ("RMSprop", {"centered": True, "momentum": 0.5})])
def test_state_dict_round_trip_continues_identically(cls, kw):
    batches = _batches(np.float64)
    full, _ = _run_ours(cls, kw, _lrs(cls), np.float64, batches)
    half, opt = _run_ours(cls, kw, _lrs(cls), np.float64, batches[:10])
    sd = opt.state_dict()
    json.dumps(sd["param_groups"])  # hyper-parameters are plain JSON
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert all(isinstance(v, (cn.Tensor, int)) for s in sd["state"].values() for v in s.values())  # as torch
    snapshot, half = copy.deepcopy(sd), copy.deepcopy(half)
    opt.step()  # mutating the optimizer afterwards must not change the saved dict
    for i in snapshot["state"]:
        for k, v in snapshot["state"][i].items():
            np.testing.assert_array_equal(sd["state"][i][k], v)
    resumed, _ = _run_ours(cls, kw, _lrs(cls), np.float64, batches[10:],
                           init={k: v.copy() for k, v in half.items()}, opt_state=snapshot)
    for k in SHAPES:
        np.testing.assert_array_equal(resumed[k], full[k])


def test_loads_torch_adam_state_dict():
    """torch's state (tensors, float step) converted to NumPy continues like torch does."""
    batches = _batches(np.float64)
    kw = {"amsgrad": True, "weight_decay": 1e-3}
    theirs_full, _ = _run_torch("Adam", kw, _lrs("Adam"), np.float64, batches)
    theirs_half, topt = _run_torch("Adam", kw, _lrs("Adam"), np.float64, batches[:10])
    tsd = topt.state_dict()
    sd = {"state": {i: {k: v.numpy() for k, v in s.items()} for i, s in tsd["state"].items()},
          "param_groups": tsd["param_groups"]}
    ours, _ = _run_ours("Adam", kw, _lrs("Adam"), np.float64, batches[10:], init=theirs_half, opt_state=sd)
    for k in SHAPES:
        np.testing.assert_allclose(ours[k], theirs_full[k], atol=1e-10, rtol=1e-9)


def test_param_groups_and_defaults():
    P = {k: Parameter(v) for k, v in _init(np.float32).items()}
    opt = optim.SGD([{"params": [P["w1"]], "lr": 0.5}, {"params": [P["b1"]]}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert opt.param_groups[1]["momentum"] == 0.9
    opt.add_param_group({"params": [P["w2"], P["b2"]], "lr": 0.01})
    assert len(opt.param_groups) == 3 and opt.param_groups[2]["nesterov"] is False
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [P["w1"]]})
    assert "Parameter Group 0" in repr(opt) and "lr: 0.5" in repr(opt)


# torch's param-group keys we do not have, on purpose (every other torch default must be ours too)
INTENTIONALLY_ABSENT = {
    "foreach": "selects torch's multi-tensor CUDA/CPU kernels; one NumPy implementation here",
    "fused": "selects torch's fused CUDA kernels; no such kernels here",
    "capturable": "CUDA-graph capture support; no CUDA graphs here",
    "differentiable": "autograd through the optimizer step; our steps run outside autograd",
}
OPTIMIZERS = [n for n in optim.__all__ if n not in ("Optimizer", "lr_scheduler", "swa_utils")]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_defaults_match_torch(name):
    """The full set of param-group defaults equals torch's (less the listed torch-only flags), value by value."""
    assert hasattr(torch.optim, name), f"torch.optim has no {name}"
    ours = getattr(optim, name)([Parameter(np.zeros(2, np.float32))]).param_groups[0]
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))]).param_groups[0]
    missing = sorted(set(theirs) - set(ours) - set(INTENTIONALLY_ABSENT))
    extra = sorted(set(ours) - set(theirs))
    assert not missing and not extra, f"{name}: defaults missing here {missing}, not in torch {extra}"
    for k in sorted(set(ours) - {"params"}):
        assert type(ours[k]) is type(theirs[k]) and ours[k] == theirs[k], (
            f"{name}.{k}: ours {ours[k]!r} vs torch {theirs[k]!r}")


def test_step_skips_none_grads_and_leaves_grads_untouched():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(3))
    g = np.array([1.0, 2.0, 3.0])
    a.grad = cn.tensor(g)
    for opt in [optim.SGD([a, b], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True),
                optim.Adam([a, b], weight_decay=0.1), optim.RMSprop([a, b], centered=True, momentum=0.9)]:
        opt.step()
        opt.step()
        np.testing.assert_array_equal(a.grad._data, [1.0, 2.0, 3.0])
        np.testing.assert_array_equal(b._data, np.ones(3))
        assert b not in opt.state or not opt.state[b]


def test_zero_grad_and_closure():
    w = Parameter(np.array([2.0, -1.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.item()) == 5.0
    np.testing.assert_allclose(w._data, [1.0, -0.5])  # w - 0.25 * 2w
    shared = w.grad._data
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad._data, [0.0, 0.0])
    np.testing.assert_array_equal(shared, [4.0, -2.0])  # the old array is not zeroed in place
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: optim.SGD(p, lr=-1), "invalid lr"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "beta"),
    (lambda p: optim.RMSprop(p, momentum=-0.1), "momentum"),
    (lambda p: optim.SGD(p + p, lr=0.1), "duplicate"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make([Parameter(np.zeros(2))])


def test_set_of_params_rejected():
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD({Parameter(np.zeros(2))}, lr=0.1)


def _tiny_cnn(lib):
    m = lib.nn
    return m.Sequential(m.Conv2d(2, 4, 3, padding=1), m.ReLU(), m.MaxPool2d(2), m.Flatten(), m.Linear(4 * 3 * 3, 3))


@pytest.mark.parametrize("cls,kw", [("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
                                    ("Adam", {"amsgrad": True}), ("RMSprop", {"centered": True, "momentum": 0.9})])
def test_cnn_matches_torch_with_layer_groups(cls, kw):
    """A small CNN built from nn layers; conv and linear parameters in groups with different lr."""
    theirs = _tiny_cnn(torch).double()
    ours = _tiny_cnn(cn).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    lrs = _lrs(cls)
    opt_o = getattr(optim, cls)([{"params": ours[0].parameters(), "lr": lrs[0]},
                                 {"params": ours[4].parameters()}], lr=lrs[1], **kw)
    opt_t = getattr(torch.optim, cls)([{"params": theirs[0].parameters(), "lr": lrs[0]},
                                       {"params": theirs[4].parameters()}], lr=lrs[1], foreach=False, **kw)
    rng = np.random.default_rng(3)
    for _ in range(20):
        x, y = rng.standard_normal((4, 2, 6, 6)), rng.integers(0, 3, 4)
        for model, opt, lib in ((ours, opt_o, cn), (theirs, opt_t, torch)):
            opt.zero_grad()
            logp = model(lib.tensor(x)).log_softmax(1)
            (-(logp * lib.tensor(np.eye(3)[y])).sum() / 4).backward()
            opt.step()
    ts = theirs.state_dict()
    for k, v in ours.state_dict().items():
        np.testing.assert_allclose(v.numpy(), ts[k].numpy(), atol=1e-10, rtol=1e-9, err_msg=k)


def test_read_only_parameter_array_is_copied_not_crashed():
    w = Parameter(np.broadcast_to(np.float64(1.0), (3,)))
    w.grad = cn.tensor(np.ones(3))
    optim.SGD([w], lr=0.5).step()
    np.testing.assert_array_equal(w._data, [0.5, 0.5, 0.5])
