"""ZFNet's deconvnet written out: one activation projected back to pixels, layer by layer.

Zeiler & Fergus (2014), section 2.1: run the image up through the network, recording in every
max-pooling layer where each window's maximum came from (the *switches*). Keep one activation of
one feature map, set every other to zero, and go back down:

- max pooling  -> **unpool**: put each value back at its switch (``F.max_unpool2d``), zeros elsewhere;
- ReLU         -> **rectify** the reconstruction (``relu``);
- convolution  -> **transposed convolution** with the same filters (``F.conv_transpose2d``).

This works on a plain chain of ``Conv2d`` / ``ReLU`` / ``MaxPool2d`` layers (LeNet-5's and
ZFNet's feature extractors). :func:`convnet.viz.deconvnet` computes the same thing for any
model as a gradient with a modified ReLU; the tests check that both agree, and agree with Captum.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import no_grad
from ..tensor import Tensor
from .attribution import _as_batch, resolve_layer, strongest_activation_seed

__all__ = ["layer_chain", "project_down", "receptive_box"]

_PASS = (nn.Identity, nn.Dropout)


def layer_chain(model, layer):
    """The leaf modules of ``model`` in the order they were registered, up to and including ``layer``
    (or, when ``layer`` is a container, its last leaf). Returns ``[(name, module), ...]``."""
    target = resolve_layer(model, layer)
    inside = {id(m) for m in target.modules()}
    chain, seen = [], False
    for name, m in model.named_modules():
        if next(iter(m.children()), None) is not None:  # a container: its leaves follow
            continue
        if id(m) in inside:
            seen = True
        elif seen:
            break
        chain.append((name, m))
    if not seen:
        raise ValueError(f"layer {layer!r} has no leaf modules in {type(model).__name__}")
    return chain


def _geometry(m):
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    k, s, d = pair(m.kernel_size), pair(m.stride if m.stride is not None else m.kernel_size), pair(m.dilation)
    p = m.padding
    if isinstance(p, str):
        p = (0, 0) if p == "valid" else tuple(di * (ki - 1) // 2 for ki, di in zip(k, d))
    return k, s, pair(p), d


def _check_chain(chain):
    for name, m in chain:
        if not isinstance(m, (nn.Conv2d, nn.ReLU, nn.MaxPool2d) + _PASS):
            raise ValueError(f"project_down: layer {name!r} ({type(m).__name__}) is not Conv2d, ReLU or MaxPool2d; "
                             "use convnet.viz.deconvnet(model, x, layer=..., channel=...) for any model")


def project_down(model, input, layer, channel):
    """Project each sample's strongest activation of ``channel`` at ``layer`` down to pixel space.

    Args:
        model: a model whose leaf modules up to ``layer`` form a chain of Conv2d / ReLU / MaxPool2d.
        input: ``(N, C, H, W)``.
        layer: a module of ``model`` or its name (e.g. ``"features.act3"``).
        channel: the feature map whose strongest activation is projected.

    Returns:
        ``(N, C, H, W)`` float32 reconstruction (the activation taken with unit weight).
    """
    chain = layer_chain(model, layer)
    _check_chain(chain)
    x = Tensor(_as_batch(input, "project_down"))
    was = model.training
    model.eval()
    try:
        with no_grad():
            switches = []                                        # per layer: what the way down needs
            for _, m in chain:
                if isinstance(m, nn.MaxPool2d):
                    k, s, p, d = _geometry(m)
                    out, idx = F.max_pool2d(x, k, s, p, d, m.ceil_mode, return_indices=True)
                    switches.append((idx, x.shape))              # ZFNet's switches
                else:
                    out = m(x)
                    switches.append((None, x.shape))
                x = out
            if not 0 <= channel < x.shape[1]:
                raise ValueError(f"project_down: channel must be in [0, {x.shape[1]}), got {channel}")
            g = Tensor(strongest_activation_seed(np.asarray(x._data), channel))
            for (_, m), (idx, in_shape) in zip(reversed(chain), reversed(switches)):
                if isinstance(m, nn.MaxPool2d):                 # unpool at the switches
                    k, s, p, _ = _geometry(m)
                    g = F.max_unpool2d(g, idx, k, s, p, output_size=tuple(in_shape[-2:]))
                elif isinstance(m, nn.ReLU):                    # rectify the reconstruction
                    g = F.relu(g)
                elif isinstance(m, nn.Conv2d):                  # transposed convolution, same filters
                    k, s, p, d = _geometry(m)
                    full = [(o - 1) * si - 2 * pi + di * (ki - 1) + 1
                            for o, ki, si, pi, di in zip(g.shape[-2:], k, s, p, d)]
                    extra = tuple(n - f for n, f in zip(in_shape[-2:], full))  # rows the forward skipped
                    g = F.conv_transpose2d(g, m.weight, None, s, p, extra, m.groups, d)
    finally:
        model.train(was)
    return np.asarray(g._data, dtype=np.float32)


def receptive_box(chain, row, col, size):
    """The input rows and columns ``((r0, r1), (c0, c1))`` (half-open, clipped to ``size = (H, W)``)
    that output position ``(row, col)`` of a Conv2d / ReLU / MaxPool2d ``chain`` can see."""
    box = [[row, row], [col, col]]                               # inclusive ranges at the output
    for _, m in reversed(chain):
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d)):
            k, s, p, d = _geometry(m)
            for a in range(2):
                box[a] = [box[a][0] * s[a] - p[a], box[a][1] * s[a] - p[a] + d[a] * (k[a] - 1)]
    return tuple((max(lo, 0), min(hi + 1, n)) for (lo, hi), n in zip(box, size))
