"""``autograd.grad`` with respect to a non-leaf tensor, the graph released afterwards (torch's default)."""
import numpy as np
import pytest
import torch

import convnet as cn
from helpers import assert_same


@pytest.mark.parametrize("retain_graph", [False, True])
def test_grad_of_non_leaf_matches_torch(retain_graph):
    x = np.random.default_rng(0).standard_normal((3, 4))
    a = cn.tensor(x, requires_grad=True)
    h = a * 2
    ga, gh = cn.autograd.grad(((h.tanh() ** 2) * a).sum(), [a, h], retain_graph=retain_graph)
    ta = torch.tensor(x, requires_grad=True)
    th = ta * 2
    tga, tgh = torch.autograd.grad(((th.tanh() ** 2) * ta).sum(), [ta, th], retain_graph=retain_graph)
    assert_same(gh, tgh.numpy(), rtol=1e-12, atol=1e-14, what="d out / d h")
    assert_same(ga, tga.numpy(), rtol=1e-12, atol=1e-14, what="d out / d a")
    assert a.grad is None  # grad() returns gradients, it does not accumulate them
