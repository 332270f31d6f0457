"""Losses vs torch (every reduction, weights, ignore_index, label smoothing, soft targets) and by
finite differences, plus the error messages."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from helpers import check_against_torch, gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["none", "mean", "sum"]
DTYPES = [np.float32, np.float64]
C = 4
CLS_SHAPES = [(5, C), (3, C, 4), (2, C, 3, 2), (C,)]  # (N, C), K-dim, unbatched


def _targets(shape, rng, ignore=True):
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = rng.integers(0, C, tshape)
    if ignore and t.ndim:
        t.reshape(-1)[1] = -100 if t.size > 1 else t.reshape(-1)[1]
    return t


def _probs(shape, rng, dtype):
    p = rng.dirichlet(np.ones(C), size=int(np.prod(shape)) // C)  # (rows, C)
    if len(shape) == 1:
        return p.reshape(C).astype(dtype)
    return np.moveaxis(p.reshape((shape[0],) + shape[2:] + (C,)), -1, 1).astype(dtype)  # class axis to 1


def _weight_pair(use, rng, dtype):
    if not use:
        return None, None
    w = rng.uniform(0.3, 2.0, C).astype(dtype)
    return cn.tensor(w), torch.tensor(w)


@pytest.mark.parametrize("shape", CLS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_class_targets(shape, reduction, weighted, smoothing, dtype, rng):
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    w_o, w_t = _weight_pair(weighted, rng, dtype)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    check_against_torch(lambda x, t: F.cross_entropy(x, t, weight=w_o, **kw),
                        lambda x, t: TF.cross_entropy(x, t, weight=w_t, **kw), [x, _targets(shape, rng)])


@pytest.mark.parametrize("shape", CLS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_probability_targets(shape, reduction, weighted, smoothing, dtype, rng):
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    w_o, w_t = _weight_pair(weighted, rng, dtype)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    check_against_torch(lambda x, t: F.cross_entropy(x, t, weight=w_o, **kw),
                        lambda x, t: TF.cross_entropy(x, t, weight=w_t, **kw), [x, _probs(shape, rng, dtype)])


def test_cross_entropy_ignore_index_custom_and_all_ignored(rng):
    x = rng.standard_normal((6, C))
    t = np.array([0, 2, 3, 2, 1, 2])
    for red in REDUCTIONS:
        check_against_torch(lambda x, t: F.cross_entropy(x, t, ignore_index=2, reduction=red),
                            lambda x, t: TF.cross_entropy(x, t, ignore_index=2, reduction=red), [x, t])
    out = F.cross_entropy(cn.tensor(x), cn.tensor(np.full(6, -100)))
    assert np.isnan(out.item())


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_large_logits_stable(dtype, rng):
    x = (rng.standard_normal((4, 5)) * 1e4).astype(dtype)
    t = np.array([0, 1, 4, 2])
    out = check_against_torch(lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
                              lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.1), [x, t], rtol=1e-5)
    assert np.isfinite(out).all()


def test_cross_entropy_gradcheck(rng):
    x = rng.standard_normal((3, C, 2))
    t = np.array([[0, 3], [-100, 1], [2, 2]])
    w = cn.tensor(rng.uniform(0.5, 2, C))
    gradcheck(lambda x, t: F.cross_entropy(x, t, weight=w, label_smoothing=0.2), [x, t])
    gradcheck(lambda x, p: F.cross_entropy(x, p, weight=w, label_smoothing=0.2), [x, _probs(x.shape, rng, float)])


@pytest.mark.parametrize("shape", CLS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_loss(shape, reduction, weighted, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    w_o, w_t = _weight_pair(weighted, rng, dtype)
    check_against_torch(lambda x, t: F.nll_loss(x, t, weight=w_o, reduction=reduction),
                        lambda x, t: TF.nll_loss(x, t, weight=w_t, reduction=reduction),
                        [x, _targets(shape, rng)])
    if dtype == np.float64:
        gradcheck(lambda x, t: F.nll_loss(x, t, weight=w_o, reduction=reduction), [x, _targets(shape, rng)])


REGRESSION = [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {}), ("huber_loss", {"delta": 0.7}),
]


@pytest.mark.parametrize("name,kw", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_losses(name, kw, reduction, dtype, rng):
    a = (rng.standard_normal((3, 5)) * 1.5).astype(dtype)
    b = (rng.standard_normal((3, 5)) * 1.5).astype(dtype)  # |a - b| stays off the beta/delta kinks
    f_o = lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kw)  # noqa: E731
    f_t = lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **kw)  # noqa: E731
    check_against_torch(f_o, f_t, [a, b])
    if dtype == np.float64:
        gradcheck(f_o, [a, b])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_weighted(name, reduction, rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    w = rng.uniform(0.2, 2, (3, 4))
    f_o = lambda a, b, w: getattr(F, name)(a, b, reduction=reduction, weight=w)  # noqa: E731
    f_t = lambda a, b, w: getattr(TF, name)(a, b, reduction=reduction, weight=w)  # noqa: E731
    check_against_torch(f_o, f_t, [a, b, w])


def test_mse_sum_is_sum_of_squared_errors_and_broadcasts(rng):
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert np.isclose(F.mse_loss(cn.tensor(a), cn.tensor(b), reduction="sum").item(), ((a - b) ** 2).sum())
    b1 = rng.standard_normal((1, 3))
    with pytest.warns(UserWarning):  # torch warns about the broadcast; we simply broadcast
        check_against_torch(F.mse_loss, TF.mse_loss, [a, b1])


@pytest.mark.filterwarnings("ignore:size_average and reduce")
def test_legacy_size_average_reduce(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for sa, rd in [(False, None), (None, False), (True, True)]:
        check_against_torch(lambda a, b: F.mse_loss(a, b, size_average=sa, reduce=rd),
                            lambda a, b: TF.mse_loss(a, b, size_average=sa, reduce=rd), [a, b])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy(reduction, weighted, dtype, rng):
    x = rng.uniform(0.05, 0.95, (3, 4)).astype(dtype)
    t = rng.uniform(0, 1, (3, 4)).astype(dtype)
    w = rng.uniform(0.5, 2, (4,)).astype(dtype) if weighted else None
    w_o, w_t = (cn.tensor(w), torch.tensor(w)) if weighted else (None, None)
    check_against_torch(lambda x, t: F.binary_cross_entropy(x, t, weight=w_o, reduction=reduction),
                        lambda x, t: TF.binary_cross_entropy(x, t, weight=w_t, reduction=reduction), [x, t])
    if dtype == np.float64:
        gradcheck(lambda x, t: F.binary_cross_entropy(x, t, weight=w_o, reduction=reduction), [x, t])


def test_binary_cross_entropy_clamps_log():
    x, t = np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 1.0])
    check_against_torch(F.binary_cross_entropy, TF.binary_cross_entropy, [x, t], grad_inputs=[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits(reduction, weighted, pos_weight, dtype, rng):
    x = (rng.standard_normal((3, 4)) * 4).astype(dtype)
    x[0, :2] = [60.0, -60.0]  # far in both tails: must stay finite and exact
    t = rng.uniform(0, 1, (3, 4)).astype(dtype)
    wo = wt = po = pt = None
    if weighted:
        w = rng.uniform(0.5, 2, (3, 1)).astype(dtype)
        wo, wt = cn.tensor(w), torch.tensor(w)
    if pos_weight:
        p = rng.uniform(0.5, 3, (4,)).astype(dtype)
        po, pt = cn.tensor(p), torch.tensor(p)
    f_o = lambda x, t: F.binary_cross_entropy_with_logits(x, t, weight=wo, reduction=reduction, pos_weight=po)  # noqa
    f_t = lambda x, t: TF.binary_cross_entropy_with_logits(x, t, weight=wt, reduction=reduction, pos_weight=pt)  # noqa
    check_against_torch(f_o, f_t, [x, t])
    if dtype == np.float64:
        gradcheck(f_o, [x, t])


# ------------------------------------------------------------------------------------ errors
def test_cross_entropy_errors():
    x = cn.randn(3, 10)
    with pytest.raises(ValueError, match="cross_entropy: target 12 is out of bounds for 10 classes"):
        F.cross_entropy(x, cn.tensor([0, 12, 1]))
    with pytest.raises(ValueError, match="target -1 is out of bounds"):
        F.cross_entropy(x, cn.tensor([0, -1, 1]))
    with pytest.raises(ValueError, match="target of shape"):
        F.cross_entropy(x, cn.tensor([0, 1]))
    with pytest.raises(TypeError, match="'target'.*integer"):
        F.cross_entropy(x, cn.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(TypeError, match="floating point"):
        F.cross_entropy(x, cn.zeros(3, 10, dtype=np.int64))
    with pytest.raises(ValueError, match="'reduction'.*'avg'"):
        F.cross_entropy(x, cn.tensor([0, 1, 1]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, cn.tensor([0, 1, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="'weight'"):
        F.cross_entropy(x, cn.tensor([0, 1, 1]), weight=cn.ones(9))
    with pytest.raises(ValueError, match="nll_loss: target 10 is out of bounds"):
        F.nll_loss(x, cn.tensor([0, 10, 1]))


def test_other_loss_errors():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(cn.tensor([1.5]), cn.tensor([1.0]))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy_with_logits(cn.randn(3, 4), cn.rand(3, 1))
    with pytest.raises(ValueError, match="does not broadcast"):
        F.mse_loss(cn.randn(3, 4), cn.randn(2, 4))
    with pytest.raises(ValueError, match="'reduction'"):
        F.l1_loss(cn.randn(3), cn.randn(3), reduction="mean ")
    with pytest.raises(TypeError, match="'target'"):
        F.mse_loss(cn.randn(3), cn.tensor([1, 2, 3]))
