"""OneCycleLR, LinearLR, ConstantLR, PolynomialLR, MultiplicativeLR, SequentialLR, ChainedScheduler,
CosineAnnealingWarmRestarts: lr (and momentum) sequences equal torch's step for step, for two groups."""
import copy
import warnings

import numpy as np
import pytest

from convnet import optim
from convnet.nn import Parameter
from convnet.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 30


def _opts(name="SGD", **kw):
    """The same two-group optimizer in both frameworks (groups with lr 0.1 and 0.05)."""
    def groups(make):
        return [{"params": [make()], "lr": 0.1}, {"params": [make()], "lr": 0.05}]
    ours = getattr(optim, name)(groups(lambda: Parameter(np.zeros(2))), **kw)
    theirs = getattr(torch.optim, name)(groups(lambda: torch.nn.Parameter(torch.zeros(2))), **kw)
    return ours, theirs


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]


def _trace(opt, sched, steps=STEPS, epochs=None):
    """[lrs, momenta] after construction and after each step (``step(epoch)`` when epochs are given)."""
    out = [(list(sched.get_last_lr()), _momenta(opt))]
    for i in range(steps if epochs is None else len(epochs)):
        opt.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's deprecation warning for step(epoch)
            sched.step() if epochs is None else sched.step(epochs[i])
        assert list(sched.get_last_lr()) == [g["lr"] for g in opt.param_groups]
        out.append((list(sched.get_last_lr()), _momenta(opt)))
    return out


def _both(make, opt_name="SGD", opt_kw=None, **trace_kw):
    ours, theirs = _opts(opt_name, **(opt_kw or {}))
    a = _trace(ours, make(lr_scheduler, ours), **trace_kw)
    b = _trace(theirs, make(torch.optim.lr_scheduler, theirs), **trace_kw)
    return a, b


def _assert_same_trace(a, b):
    assert len(a) == len(b)
    for i, ((la, ma), (lb, mb)) in enumerate(zip(a, b)):
        np.testing.assert_allclose(la, lb, rtol=1e-13, atol=1e-16, err_msg=f"lr at step {i}")
        np.testing.assert_allclose(ma, mb, rtol=1e-13, atol=1e-16, err_msg=f"momentum at step {i}")


def _seq(L, o):
    return L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                              L.CosineAnnealingLR(o, T_max=12, eta_min=1e-3), L.ExponentialLR(o, 0.9)], [5, 17])


CASES = {
    "onecycle-sgd": (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=STEPS), "SGD", {"momentum": 0.9}),
    "onecycle-adam-linear-groups": (
        lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=6, steps_per_epoch=5, pct_start=0.25,
                                  anneal_strategy="linear", base_momentum=[0.8, 0.7], max_momentum=0.9),
        "Adam", {}),
    "onecycle-three-phase-nadam": (
        lambda L, o: L.OneCycleLR(o, max_lr=0.3, total_steps=STEPS + 3, three_phase=True, div_factor=10.0,
                                  final_div_factor=100.0), "NAdam", {}),
    "onecycle-no-momentum-adagrad": (
        lambda L, o: L.OneCycleLR(o, max_lr=0.3, total_steps=STEPS, cycle_momentum=False), "Adagrad", {}),
    "linear-default": (lambda L, o: L.LinearLR(o), "SGD", {}),
    "linear-decay": (lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=20), "SGD", {}),
    "constant": (lambda L, o: L.ConstantLR(o, factor=0.25, total_iters=7), "SGD", {}),
    "polynomial": (lambda L, o: L.PolynomialLR(o, total_iters=20, power=2.0), "SGD", {}),
    "multiplicative": (lambda L, o: L.MultiplicativeLR(o, lambda e: 0.95), "SGD", {}),
    "sequential-warmup-cosine-exp": (_seq, "SGD", {}),
    "sequential-constant-step": (
        lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.5, total_iters=3), L.StepLR(o, 4, 0.5)], [3]),
        "SGD", {}),
    "chained": (lambda L, o: L.ChainedScheduler([L.ConstantLR(o, factor=0.1, total_iters=4),
                                                 L.ExponentialLR(o, gamma=0.9)]), "SGD", {}),
    "warm-restarts": (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=7), "SGD", {}),
    "warm-restarts-mult": (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3),
                           "SGD", {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sequence_matches_torch(case):
    make, opt_name, opt_kw = CASES[case]
    a, b = _both(make, opt_name, opt_kw)
    _assert_same_trace(a, b)
    assert len({tuple(lrs) for lrs, _ in a}) > 1  # the schedule moves


@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_fractional_epochs_match_torch(T_mult):
    """The SGDR batch-loop idiom ``sched.step(epoch + i / iters)``, and jumps back and forth."""
    epochs = [e + i / 4 for e in range(12) for i in range(4)] + [3.5, 0.0, 20.25, 6.99]
    a, b = _both(lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=T_mult, eta_min=0.01),
                 epochs=epochs)
    _assert_same_trace(a, b)


@pytest.mark.parametrize("name,kw", [("LinearLR", {"start_factor": 0.2, "total_iters": 8}),
                                     ("ConstantLR", {"factor": 0.5, "total_iters": 4}),
                                     ("PolynomialLR", {"total_iters": 10, "power": 0.5})])
def test_closed_form_step_epoch_matches_torch(name, kw):
    epochs = [3, 7, 1, 12, 0, 9]
    a, b = _both(lambda L, o: getattr(L, name)(o, **kw), epochs=epochs)
    _assert_same_trace(a, b)


def test_onecycle_past_total_steps_raises_like_torch():
    ours, _ = _opts("SGD", momentum=0.9)
    sched = lr_scheduler.OneCycleLR(ours, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="total_steps is 3"):
        sched.step()


def _resume(make, opt_name, opt_kw, split=10):
    """Run ``split`` steps, save optimizer + scheduler state, rebuild both, load, run to STEPS."""
    ours, _ = _opts(opt_name, **opt_kw)
    full = _trace(ours, make(lr_scheduler, ours))
    first, _ = _opts(opt_name, **opt_kw)
    sched = make(lr_scheduler, first)
    head = _trace(first, sched, steps=split)
    opt_sd, sched_sd = copy.deepcopy(first.state_dict()), copy.deepcopy(sched.state_dict())
    second, _ = _opts(opt_name, **opt_kw)
    resumed = make(lr_scheduler, second)
    second.load_state_dict(opt_sd)
    resumed.load_state_dict(sched_sd)
    assert sched_sd == sched.state_dict()  # loading does not consume the caller's dict
    tail = _trace(second, resumed, steps=STEPS - split)
    return full, head + tail[1:]


@pytest.mark.parametrize("case", ["onecycle-sgd", "onecycle-adam-linear-groups", "linear-decay",
                                  "sequential-warmup-cosine-exp", "chained", "warm-restarts-mult"])
def test_state_dict_round_trip_continues_identically(case):
    make, opt_name, opt_kw = CASES[case]
    full, resumed = _resume(make, opt_name, opt_kw)
    assert resumed == full


@pytest.mark.parametrize("make,exc,match", [
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1), ValueError, "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"), ValueError,
     "anneal_strategy"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10), ValueError, "max_lr"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "start_factor"),
    (lambda o: lr_scheduler.ConstantLR(o, factor=2), ValueError, "factor"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ValueError, "T_mult"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.LinearLR(o)], [3]), ValueError, "milestones"),
    (lambda o: lr_scheduler.SequentialLR(o, [], []), ValueError, "at least one"),
])
def test_bad_arguments(make, exc, match):
    ours, _ = _opts("SGD", momentum=0.9)
    with pytest.raises(exc, match=match):
        make(ours)


def test_onecycle_needs_momentum_or_betas():
    ours, _ = _opts("Adagrad")
    with pytest.raises(ValueError, match="cycle_momentum"):
        lr_scheduler.OneCycleLR(ours, max_lr=0.1, total_steps=10)


def test_sequential_rejects_foreign_scheduler():
    a, _ = _opts()
    b, _ = _opts()
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(a, [lr_scheduler.LinearLR(a), lr_scheduler.LinearLR(b)], [2])
