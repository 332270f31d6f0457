"""LR schedulers: the lr sequence over 30 epochs equals torch's, for two parameter groups."""
import warnings

import numpy as np
import pytest

from convnet import optim
from convnet.nn import Parameter
from convnet.optim import lr_scheduler

torch = pytest.importorskip("torch")


class Scale:
    """A callable object (its state is saved by LambdaLR.state_dict, unlike a lambda)."""

    def __init__(self, k):
        self.k = k

    def __call__(self, epoch):
        return self.k / (epoch + 1)


SCHEDULERS = [
    ("StepLR", {"step_size": 7}),
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [5, 12, 12, 20]}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 8, "eta_min": 1e-3}),
    ("LambdaLR", {"lr_lambda": lambda e: 0.95 ** e}),
    ("LambdaLR", {"lr_lambda": [lambda e: 1 + e, lambda e: 1 / (1 + e)]}),
]


def _pair(cls_name="SGD"):
    ours = optim.SGD([{"params": [Parameter(np.zeros(2))], "lr": 0.1},
                      {"params": [Parameter(np.zeros(2))], "lr": 0.05}], lr=0.1)
    theirs = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.1},
                              {"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.05}], lr=0.1)
    return ours, theirs


def _sequence(opt, sched, epochs=30, metrics=None):
    lrs = [list(sched.get_last_lr())]
    for e in range(epochs):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[e])
        lrs.append(list(sched.get_last_lr()))
        assert lrs[-1] == [g["lr"] for g in opt.param_groups]
    return lrs


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[s[0] + str(i) for i, s in enumerate(SCHEDULERS)])
def test_sequence_matches_torch(name, kw):
    ours, theirs = _pair()
    a = _sequence(ours, getattr(lr_scheduler, name)(ours, **kw))
    b = _sequence(theirs, getattr(torch.optim.lr_scheduler, name)(theirs, **kw))
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
    assert [g["initial_lr"] for g in ours.param_groups] == [0.1, 0.05]


@pytest.mark.parametrize("kw", [
    {},
    {"patience": 2, "factor": 0.5, "cooldown": 2},
    {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.05, "min_lr": [0.01, 0.02]},
])
def test_reduce_on_plateau_matches_torch(kw):
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 6), np.full(10, 0.5), np.linspace(0.5, 0.4, 4), np.full(10, 0.4)])
    metrics = (metrics + rng.uniform(0, 1e-5, metrics.size)).tolist()
    if kw.get("mode") == "max":
        metrics = [-m for m in metrics]
    ours, theirs = _pair()
    a = _sequence(ours, lr_scheduler.ReduceLROnPlateau(ours, **kw), metrics=metrics)
    b = _sequence(theirs, torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kw), metrics=metrics)
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
    assert a[-1] != a[0]  # it did reduce


def test_reduce_on_plateau_defaults_divide_by_ten():
    ours, _ = _pair()
    s = lr_scheduler.ReduceLROnPlateau(ours)
    assert (s.mode, s.factor, s.patience, s.threshold, s.threshold_mode, s.cooldown, s.eps) == \
        ("min", 0.1, 10, 1e-4, "rel", 0, 1e-8)
    for _ in range(12):
        s.step(1.0)
    assert s.get_last_lr() == pytest.approx([0.01, 0.005])


@pytest.mark.parametrize("name,kw", [("CosineAnnealingLR", {"T_max": 6}), ("MultiStepLR", {"milestones": [3, 8]}),
                                     ("LambdaLR", {"lr_lambda": Scale(2.0)})])
def test_state_dict_round_trip(name, kw):
    ours, _ = _pair()
    s = getattr(lr_scheduler, name)(ours, **kw)
    full = _sequence(ours, s, epochs=15)
    ours2, _ = _pair()
    s2 = getattr(lr_scheduler, name)(ours2, **kw)
    _sequence(ours2, s2, epochs=7)
    sd, opt_sd = s2.state_dict(), ours2.state_dict()
    assert "optimizer" not in sd
    ours3, _ = _pair()
    s3 = getattr(lr_scheduler, name)(ours3, **kw)
    ours3.load_state_dict(opt_sd)
    s3.load_state_dict(sd)
    rest = _sequence(ours3, s3, epochs=8)
    np.testing.assert_allclose(rest, full[7:], rtol=1e-15)


def test_closed_form_step_with_epoch_matches_torch():
    ours, theirs = _pair()
    a, b = lr_scheduler.StepLR(ours, 4, 0.5), torch.optim.lr_scheduler.StepLR(theirs, 4, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in [9, 3, 17]:
            a.step(e)
            b.step(e)
            assert a.get_last_lr() == pytest.approx(b.get_last_lr(), rel=1e-15)


def test_errors():
    ours, _ = _pair()
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(object(), 3)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(ours, 3, last_epoch=5)
    with pytest.raises(ValueError, match="factor"):
        lr_scheduler.ReduceLROnPlateau(ours, factor=2.0)
    with pytest.raises(ValueError, match="lr_lambdas"):
        lr_scheduler.LambdaLR(ours, [lambda e: 1.0])
