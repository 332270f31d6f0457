"""normalize, cosine_similarity, pairwise_distance, kl_div (+ the modules) against PyTorch 2.13,
forward and every input gradient, float64 finite differences; the existing losses accept torch's
signatures."""
import inspect
import warnings

import numpy as np
import pytest
import torch

import convnet as cn
import convnet.functional as F
from convnet import nn
from helpers import check_against_torch, gradcheck

TF = torch.nn.functional


def x_of(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, p, dim", [((4, 5), 2.0, 1), ((2, 3, 4), 2.0, -1), ((2, 3, 4), 1.0, 0),
                                           ((3, 6), 3.0, 1), ((3, 6), float("inf"), 1), ((5,), 2.0, 0)])
def test_normalize_matches_torch(shape, p, dim, dtype):
    fn = (lambda x: F.normalize(x, p, dim), lambda x: TF.normalize(x, p, dim))
    check_against_torch(*fn, [x_of(shape, dtype)])
    if dtype == np.float64:
        gradcheck(fn[0], [x_of(shape, dtype, seed=1)])


def test_normalize_zero_vector_is_finite_with_zero_gradient():
    x = np.zeros((2, 3), np.float32)
    x[1] = [1.0, 2.0, 2.0]
    check_against_torch(lambda t: F.normalize(t, dim=1), lambda t: TF.normalize(t, dim=1), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("s1, s2, dim", [((4, 5), (4, 5), 1), ((2, 3, 4), (2, 3, 4), -1), ((3, 6), (1, 6), 1),
                                         ((2, 5, 3), (5, 1), 1), ((6,), (6,), 0)])
def test_cosine_similarity_matches_torch(s1, s2, dim, dtype):
    fn = (lambda a, b: F.cosine_similarity(a, b, dim), lambda a, b: TF.cosine_similarity(a, b, dim))
    check_against_torch(*fn, [x_of(s1, dtype), x_of(s2, dtype, seed=1)])
    check_against_torch(nn.CosineSimilarity(dim), torch.nn.CosineSimilarity(dim),
                        [x_of(s1, dtype), x_of(s2, dtype, seed=1)])
    if dtype == np.float64:
        gradcheck(fn[0], [x_of(s1, dtype, seed=2), x_of(s2, dtype, seed=3)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("s1, s2, p, keepdim", [((4, 5), (4, 5), 2.0, False), ((4, 5), (1, 5), 1.0, True),
                                                ((3, 2, 6), (3, 2, 6), 3.0, False), ((7,), (7,), 2.0, False)])
def test_pairwise_distance_matches_torch(s1, s2, p, keepdim, dtype):
    fn = (lambda a, b: F.pairwise_distance(a, b, p, keepdim=keepdim),
          lambda a, b: TF.pairwise_distance(a, b, p, keepdim=keepdim))
    check_against_torch(*fn, [x_of(s1, dtype), x_of(s2, dtype, seed=1)])
    check_against_torch(nn.PairwiseDistance(p, keepdim=keepdim), torch.nn.PairwiseDistance(p, keepdim=keepdim),
                        [x_of(s1, dtype), x_of(s2, dtype, seed=1)])
    if dtype == np.float64:
        gradcheck(fn[0], [x_of(s1, dtype, seed=2), x_of(s2, dtype, seed=3)])


def log_probs(shape, dtype, seed):
    z = x_of(shape, np.float64, seed)
    return (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target, dtype):
    inp = log_probs((4, 5), dtype, 0)
    tgt = log_probs((4, 5), dtype, 1)
    if not log_target:
        tgt = np.exp(tgt).astype(dtype)
    fn = (lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
          lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                # torch and we both warn for 'mean'
        check_against_torch(*fn, [inp, tgt])
        if not log_target:                             # 0 log 0 = 0, as torch's xlogy; torch's target
            tgt0 = tgt.copy()                          # gradient there is NaN (d y log y = -inf), ours
            tgt0[0, 1] = 0                             # finite: compare the input gradient only
            check_against_torch(*fn, [inp, tgt0], grad_inputs=[0])
        check_against_torch(nn.KLDivLoss(reduction=reduction, log_target=log_target),
                            torch.nn.KLDivLoss(reduction=reduction, log_target=log_target), [inp, tgt])
        if dtype == np.float64:
            gradcheck(fn[0], [inp, tgt])


def test_kl_div_mean_vs_batchmean_and_warning():
    inp, tgt = log_probs((4, 5), np.float32, 0), np.exp(log_probs((4, 5), np.float32, 1))
    a, b = cn.tensor(inp), cn.tensor(tgt)
    with pytest.warns(UserWarning, match="batchmean"):
        mean = F.kl_div(a, b).item()
    assert F.kl_div(a, b, reduction="batchmean").item() == pytest.approx(mean * 5, rel=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        F.kl_div(a, b, reduction="avg")


def test_bad_arguments():
    with pytest.raises(ValueError, match="x1 .* and x2 .* do not broadcast"):
        F.cosine_similarity(cn.tensor(x_of((3, 4))), cn.tensor(x_of((2, 4))))
    with pytest.raises(TypeError, match="x2"):
        F.pairwise_distance(cn.tensor(x_of((3, 4))), cn.tensor([[1, 2, 3, 4]]))
    with pytest.raises(IndexError, match="dim"):
        F.normalize(cn.tensor(x_of((3, 4))), dim=2)


BUILTIN_PARAMS = {  # torch 2.13's documented signatures of the C-implemented functions
    "one_hot": {"tensor", "num_classes"}, "cosine_similarity": {"x1", "x2", "dim", "eps"},
    "pairwise_distance": {"x1", "x2", "p", "eps", "keepdim"}, "pixel_shuffle": {"input", "upscale_factor"},
    "pixel_unshuffle": {"input", "downscale_factor"}, "gelu": {"input", "approximate"},
    "prelu": {"input", "weight"}, "softplus": {"input", "beta", "threshold"},
    "sigmoid": {"input"}, "tanh": {"input"},
}


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "mse_loss", "l1_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits", "kl_div", "smooth_l1_loss", "huber_loss",
                                  "interpolate", "embedding", "one_hot", "normalize", "cosine_similarity",
                                  "pairwise_distance", "pixel_shuffle", "pixel_unshuffle", "gelu", "elu", "prelu",
                                  "hardtanh", "softplus", "leaky_relu", "relu", "softmax", "log_softmax"])
def test_functional_signatures_accept_torch_keywords(name):
    """Every parameter name of torch's function exists in ours (a script's keywords all work)."""
    ours = set(inspect.signature(getattr(F, name)).parameters)
    try:
        theirs = set(inspect.signature(getattr(TF, name)).parameters)
    except ValueError:                                 # a C builtin: its documented parameters
        theirs = BUILTIN_PARAMS[name]
    assert theirs - ours == set(), f"F.{name} lacks torch's parameters {sorted(theirs - ours)}"


def test_losses_with_torch_keywords_match():
    x, t = x_of((4, 5)), x_of((4, 5), seed=1)
    y = np.array([0, 3, 1, 4])
    check_against_torch(lambda a, b: F.mse_loss(a, b, reduction="sum"), lambda a, b: TF.mse_loss(a, b, reduction="sum"),
                        [x, t])
    check_against_torch(lambda a, c: F.nll_loss(F.log_softmax(a, 1), c, reduction="sum"),
                        lambda a, c: TF.nll_loss(TF.log_softmax(a, 1), c, reduction="sum"), [x, y])
    check_against_torch(lambda a, c: F.cross_entropy(a, c, label_smoothing=0.1),
                        lambda a, c: TF.cross_entropy(a, c, label_smoothing=0.1), [x, y])
