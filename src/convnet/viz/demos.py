"""Teaching demos from the notes, computed with the library (pictures in :mod:`convnet.viz.plots`).

- :func:`translation_equivariance`: shift the input and the feature map shifts with it
  (``conv(shift(x)) == shift(conv(x))`` away from the border), while max pooling makes the
  representation change less under a small shift.
- :func:`vanishing_gradient`: per-layer gradient norms of a deep sigmoid network and of the same
  network with ReLU; ``sigmoid'(0) = 0.25`` is the largest factor a sigmoid layer can pass back.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import grad, no_grad
from ..tensor import Tensor

__all__ = ["shift", "translation_equivariance", "vanishing_gradient", "sigmoid_slope_at_zero"]


def shift(x, dy, dx):
    """``x`` (..., H, W) moved down by ``dy`` and right by ``dx`` pixels, zeros shifted in."""
    out = np.zeros_like(x)
    H, W = x.shape[-2:]
    out[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        x[..., max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out


def translation_equivariance(image, kernel, dy=3, dx=2, pool=2):
    """Shift ``image`` (H, W) by ``(dy, dx)``; compare the feature maps and their max-pooled versions.

    The map is ``conv2d(image, kernel, padding='same')`` (``kernel`` (k, k), correlation as in CNNs).

    Returns:
        dict with ``image``, ``shifted_image``, ``map``, ``shifted_map`` (maps of the shifted image),
        ``map_then_shift`` (the map shifted), ``interior`` (a boolean mask of the pixels at least
        ``k // 2`` away from the border and from the shifted-in edge), ``max_interior_error``
        (``|conv(shift(x)) - shift(conv(x))|`` there: 0 up to rounding), and for a one-pixel shift
        ``change_conv`` / ``change_pooled``: the relative change of the map and of its ``pool`` x ``pool``
        max pooling when the input moves by one pixel (pooling changes less: small-shift invariance).
    """
    image = np.asarray(image, np.float32)
    kernel = np.asarray(kernel, np.float32)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"translation_equivariance: image and kernel must be 2-D, got {image.shape} and {kernel.shape}")
    w = Tensor(kernel[None, None])

    def conv(a):
        with no_grad():
            return np.asarray(F.conv2d(Tensor(a[None, None]), w, padding="same")._data)[0, 0]

    def pooled(a):
        with no_grad():
            return np.asarray(F.max_pool2d(Tensor(a[None, None]), pool)._data)[0, 0]

    moved = shift(image, dy, dx)
    fmap, fmoved = conv(image), conv(moved)
    expected = shift(fmap, dy, dx)
    r = kernel.shape[0] // 2
    H, W = image.shape
    interior = np.zeros((H, W), bool)
    interior[max(dy, 0) + r:H + min(dy, 0) - r, max(dx, 0) + r:W + min(dx, 0) - r] = True
    one = conv(shift(image, 0, 1))
    rel = lambda a, b: float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))  # noqa: E731
    return {"image": image, "shifted_image": moved, "map": fmap, "shifted_map": fmoved, "map_then_shift": expected,
            "interior": interior, "max_interior_error": float(np.abs(fmoved - expected)[interior].max()),
            "change_conv": rel(np.maximum(one, 0), np.maximum(fmap, 0)),
            "change_pooled": rel(pooled(np.maximum(one, 0)), pooled(np.maximum(fmap, 0)))}


def sigmoid_slope_at_zero():
    """``d sigmoid(x) / dx`` at 0 by autograd (the notes: ``sigmoid(0) (1 - sigmoid(0)) = 0.25``)."""
    x = Tensor(np.zeros(1, np.float64), requires_grad=True)
    (g,) = grad(F.sigmoid(x).sum(), x)
    return float(np.asarray(g._data)[0])


def _mlp(depth, width, act, seed):
    from .._backend import manual_seed

    manual_seed(seed)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), act()]
    net = nn.Sequential(*layers, nn.Linear(width, 1))
    for m in net.modules():
        if isinstance(m, nn.Linear):  # He init, zero bias: the ReLU net keeps its signal size
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return net


def vanishing_gradient(depth=10, width=32, batch=64, seed=0):
    """Per-layer weight-gradient norms ``||dL/dW_l||`` of a ``depth``-layer MLP with sigmoid and with ReLU.

    Both nets start from the same weights (He-normal init, zero biases, same seed); the loss is the mean
    squared output on a fixed random batch. Returns ``{"sigmoid": (depth,), "relu": (depth,)}``,
    layer 1 first: the sigmoid norms shrink towards the input (each layer multiplies the
    backward signal by at most 0.25), the ReLU ones do not.
    """
    x = Tensor(np.random.default_rng(seed).standard_normal((batch, width)).astype(np.float32))
    norms = {}
    for name, act in (("sigmoid", nn.Sigmoid), ("relu", nn.ReLU)):
        net = _mlp(depth, width, act, seed)
        weights = [m.weight for m in net.modules() if isinstance(m, nn.Linear)][:depth]
        loss = (net(x) ** 2).mean()
        grads = grad(loss, weights)
        norms[name] = np.asarray([float(np.linalg.norm(np.asarray(g._data))) for g in grads])
    return norms
