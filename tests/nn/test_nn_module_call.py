"""Module.__call__: the no-hook fast path, hooks, and layers reading their current Parameters."""
import numpy as np

import convnet as cn


def _x(*shape):
    return cn.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


def test_forward_hooks_run_and_are_removed():
    lin, x = cn.nn.Linear(3, 2), _x(4, 3)
    plain = lin(x).detach().numpy()
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    post = lin.register_forward_hook(lambda m, args, out: out + 1)
    np.testing.assert_allclose(lin(x).detach().numpy(), lin.forward(x * 2).detach().numpy() + 1, rtol=1e-6)
    pre.remove()
    post.remove()
    np.testing.assert_array_equal(lin(x).detach().numpy(), plain)


def test_layers_use_reassigned_parameters():
    conv, lin = cn.nn.Conv2d(1, 2, 3), cn.nn.Linear(3, 2)
    conv.weight = cn.nn.Parameter(np.zeros((2, 1, 3, 3), np.float32))
    conv.bias = None
    lin.weight = cn.nn.Parameter(np.zeros((2, 3), np.float32))
    assert not conv(_x(1, 1, 5, 5)).detach().numpy().any()
    np.testing.assert_array_equal(lin(_x(4, 3)).detach().numpy(), np.broadcast_to(lin.bias.detach().numpy(), (4, 2)))


def test_weight_outside_the_parameter_store_still_used():
    """A weight replaced by a plain attribute (as weight-norm style reparametrisations do)."""
    lin = cn.nn.Linear(3, 2)
    w = lin.weight
    del lin._parameters["weight"]
    object.__setattr__(lin, "weight", w * 0)
    np.testing.assert_array_equal(lin(_x(4, 3)).detach().numpy(), np.broadcast_to(lin.bias.detach().numpy(), (4, 2)))
