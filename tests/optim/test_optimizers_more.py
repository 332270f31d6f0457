"""Adadelta, Adagrad, NAdam, RAdam vs torch.optim: same weights + same batches -> same weights, step by step."""
import copy

import numpy as np
import pytest

import convnet as cn
from convnet import optim
from convnet.nn import Parameter

torch = pytest.importorskip("torch")

SHAPES = {"w1": (8, 4), "b1": (8,), "w2": (3, 8), "b2": (3,)}
GROUPS = [("w1", "b1"), ("w2", "b2")]  # two groups, different learning rates
STEPS = 12


def _init(dtype):
    rng = np.random.default_rng(11)
    return {k: rng.uniform(-0.5, 0.5, s).astype(dtype) for k, s in SHAPES.items()}


def _batches(dtype, n=STEPS):
    rng = np.random.default_rng(12)
    return [(rng.standard_normal((6, 4)).astype(dtype), np.eye(3, dtype=dtype)[rng.integers(0, 3, 6)])
            for _ in range(n)]


def _loss(P, x, y):
    """Cross-entropy of a 2-layer ReLU MLP, written with operators both frameworks share."""
    h = (x @ P["w1"].T + P["b1"]).relu()
    logp = (h @ P["w2"].T + P["b2"]).log_softmax(1)
    return -(logp * y).sum() / x.shape[0]


def _groups(P, lrs):
    return [dict(params=[P[k] for k in names], lr=lr) for names, lr in zip(GROUPS, lrs)]


class _Run:
    """One framework's parameters and optimizer; ``step(x, y)`` does zero_grad/backward/step."""

    def __init__(self, lib, cls, kw, lrs, init):
        self.lib = lib
        if lib is torch:
            self.P = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in init.items()}
            self.opt = getattr(torch.optim, cls)(_groups(self.P, lrs), foreach=False, **kw)
        else:
            self.P = {k: Parameter(v.copy()) for k, v in init.items()}
            self.opt = getattr(optim, cls)(_groups(self.P, lrs), **kw)

    def step(self, x, y):
        self.opt.zero_grad()
        _loss(self.P, self.lib.tensor(x), self.lib.tensor(y)).backward()
        self.opt.step()

    def weights(self):
        return {k: (v.detach().numpy() if self.lib is torch else v._data).copy() for k, v in self.P.items()}


@pytest.fixture
def torch_scalar_dtype():
    """torch keeps NAdam's mu_product in its default dtype (float32) even for float64 parameters;
    ours is a Python float. Compare against torch's exact arithmetic: default dtype float64."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


CONFIGS = [
    ("Adadelta", {}),
    ("Adadelta", {"rho": 0.8, "eps": 1e-4, "weight_decay": 1e-2}),
    ("Adadelta", {"maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr_decay": 0.05, "weight_decay": 1e-2, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"eps": 1e-3, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"betas": (0.8, 0.99), "weight_decay": 1e-2, "momentum_decay": 1e-2}),
    ("NAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {}),
    ("RAdam", {"betas": (0.9, 0.9), "weight_decay": 1e-2}),  # beta2 = 0.9: rectified steps from step 6
    ("RAdam", {"betas": (0.8, 0.8), "weight_decay": 0.1, "decoupled_weight_decay": True}),
]
LRS = {"Adadelta": (1.0, 0.5), "Adagrad": (0.1, 0.03), "NAdam": (0.01, 0.003), "RAdam": (0.01, 0.003)}
IDS = [f"{c}-{'-'.join(k) or 'plain'}" for c, k in CONFIGS]


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch_step_by_step(cls, kw, dtype, torch_scalar_dtype):
    init, batches = _init(dtype), _batches(dtype)
    ours, theirs = _Run(cn, cls, kw, LRS[cls], init), _Run(torch, cls, kw, LRS[cls], init)
    tol = dict(atol=1e-12, rtol=1e-10) if dtype == np.float64 else dict(atol=2e-6, rtol=1e-5)
    for i, (x, y) in enumerate(batches):
        ours.step(x, y)
        theirs.step(x, y)
        wo, wt = ours.weights(), theirs.weights()
        for k in SHAPES:
            assert wo[k].dtype == dtype
            np.testing.assert_allclose(wo[k], wt[k], err_msg=f"{cls} {kw} step {i + 1}: {k}", **tol)
    assert not np.allclose(ours.weights()["w1"], init["w1"], atol=1e-4)  # it did train


def test_radam_switches_to_rectified_steps():
    """With beta2 = 0.9 rho_t passes 5 at step 6: before, plain momentum steps (no division by sqrt(v))."""
    w = Parameter(np.array([1.0]))
    opt = optim.RAdam([w], lr=0.1, betas=(0.0, 0.9))  # beta1 = 0: m_hat = g
    for _ in range(5):
        w.grad = cn.tensor(np.array([2.0]))
        before = w._data.copy()
        opt.step()
        np.testing.assert_allclose(before - w._data, [0.2])  # lr * g, unrectified
    w.grad = cn.tensor(np.array([2.0]))
    before = w._data.copy()
    opt.step()
    assert abs((before - w._data)[0] - 0.2) > 1e-3  # rectified Adam step now


@pytest.mark.parametrize("cls,kw", [("Adadelta", {"weight_decay": 1e-2}), ("Adagrad", {"lr_decay": 0.01}),
                                    ("NAdam", {}), ("RAdam", {"betas": (0.9, 0.9)})])
def test_state_dict_round_trip_continues_identically(cls, kw):
    init, batches = _init(np.float64), _batches(np.float64)
    full = _Run(cn, cls, kw, LRS[cls], init)
    for x, y in batches:
        full.step(x, y)
    half = _Run(cn, cls, kw, LRS[cls], init)
    for x, y in batches[:6]:
        half.step(x, y)
    sd = half.opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2, 3] and sd["state"][0]["step"] == 6
    snapshot = copy.deepcopy(sd)
    resumed = _Run(cn, cls, kw, (0.0, 0.0), half.weights())
    resumed.opt.load_state_dict(snapshot)
    assert [g["lr"] for g in resumed.opt.param_groups] == list(LRS[cls])
    for x, y in batches[6:]:
        resumed.step(x, y)
    for k in SHAPES:
        np.testing.assert_array_equal(resumed.weights()[k], full.weights()[k])


@pytest.mark.parametrize("cls,kw", [("Adadelta", {}), ("Adagrad", {"initial_accumulator_value": 0.1}),
                                    ("NAdam", {"weight_decay": 1e-3}), ("RAdam", {})])
def test_loads_torch_state_dict(cls, kw, torch_scalar_dtype):
    """torch's state (tensors, tensor step, tensor mu_product) as NumPy continues like torch does."""
    init, batches = _init(np.float64), _batches(np.float64)
    theirs = _Run(torch, cls, kw, LRS[cls], init)
    for x, y in batches[:6]:
        theirs.step(x, y)
    tsd = theirs.opt.state_dict()
    sd = {"state": {i: {k: v.numpy() for k, v in s.items()} for i, s in tsd["state"].items()},
          "param_groups": tsd["param_groups"]}
    ours = _Run(cn, cls, kw, LRS[cls], theirs.weights())
    ours.opt.load_state_dict(sd)
    for x, y in batches[6:]:
        theirs.step(x, y)
        ours.step(x, y)
    for k in SHAPES:
        np.testing.assert_allclose(ours.weights()[k], theirs.weights()[k], atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "NAdam", "RAdam"])
def test_defaults_match_torch(name):
    ours = getattr(optim, name)([Parameter(np.zeros(2, np.float32))]).param_groups[0]
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))]).param_groups[0]
    shared = [k for k in ours if k != "params" and k in theirs]
    assert len(shared) >= 4
    for k in shared:
        assert theirs[k] == ours[k], f"{name}.{k}: ours {ours[k]} vs torch {theirs[k]}"


def test_param_groups_keep_their_own_hyper_parameters():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = optim.Adagrad([{"params": [a], "lr_decay": 0.5}, {"params": [b]}], lr=0.2)
    assert [g["lr_decay"] for g in opt.param_groups] == [0.5, 0]
    assert opt.param_groups[1]["initial_accumulator_value"] == 0


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.Adadelta(p, rho=1.5), "rho"),
    (lambda p: optim.Adadelta(p, lr=-1), "lr"),
    (lambda p: optim.Adagrad(p, lr_decay=-0.1), "lr_decay"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda p: optim.NAdam(p, betas=(0.9, 1.0)), "beta"),
    (lambda p: optim.NAdam(p, momentum_decay=-1), "momentum_decay"),
    (lambda p: optim.RAdam(p, eps=-1), "eps"),
    (lambda p: optim.RAdam(p, betas=(-0.1, 0.9)), "beta"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make([Parameter(np.zeros(2))])


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad", "NAdam", "RAdam"])
def test_foreach_keyword_accepted_like_torch(name):
    """Scripts that pass ``foreach=False`` (as torch users do for determinism) run unchanged."""
    opt = getattr(optim, name)([Parameter(np.zeros(2))], lr=0.1, foreach=False)
    assert "foreach" not in opt.param_groups[0]
