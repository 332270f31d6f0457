"""Attributions: which input pixels a class score depends on, with Captum's definitions.

Each function takes a model, an ``input`` of shape ``(N, C, H, W)`` (a Tensor or array) and a
``target`` (an int, one int per sample, or None for the predicted class) and returns a float32
NumPy array. The definitions are those of Captum, the PyTorch interpretability library, and the
tests check them against it on the same weights:

=====================  ===========================================  =========================================
ours                   what it is                                    Captum
=====================  ===========================================  =========================================
``saliency``           ``|d score / d input|``                       ``Saliency(abs=True)``
``guided_backprop``    gradient, every ReLU passes back only         ``GuidedBackprop``
                       positive gradients where its input was > 0
``deconvnet``          gradient, every ReLU passes back              ``Deconvolution``
                       ``relu(gradient)`` (ZFNet's deconvnet)
``occlusion``          score drop when a patch is set to baseline,   ``Occlusion(sliding_window_shapes=(C,h,w))``
                       averaged over the patches covering a pixel
``grad_cam``           ``relu(sum_k mean(dS/dA_k) A_k)`` at a layer  ``LayerGradCam(relu_attributions=True)``
=====================  ===========================================  =========================================

The ReLU rules act on ``nn.ReLU`` modules (as Captum's hooks do): a model that calls
``F.relu`` inside ``forward`` keeps its plain ReLU gradient there. The model runs in eval mode
while attributing (its mode is restored afterwards).
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from .. import nn
from ..autograd import Function, grad, no_grad
from ..tensor import Tensor

__all__ = ["saliency", "guided_backprop", "deconvnet", "occlusion", "occlusion_map", "grad_cam",
           "upsample", "resolve_layer"]


# ------------------------------------------------------------------------------------ plumbing
def _as_batch(input, fn):
    x = np.asarray(input._data if isinstance(input, Tensor) else input)
    if x.ndim != 4:
        raise ValueError(f"{fn}: input must be a batch (N, C, H, W), got an array of shape {x.shape}")
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    return x


def _targets(model, x, target, fn):
    """One class index per sample: ``target`` broadcast, or the model's prediction when None."""
    n = x.shape[0]
    if target is None:
        with no_grad():
            return np.asarray(model(Tensor(x))._data).argmax(axis=1)
    t = np.asarray(target)
    if t.dtype.kind not in "iu" or t.ndim > 1 or (t.ndim == 1 and t.shape[0] != n):
        raise ValueError(f"{fn}: target must be an int or one int per sample ({n}), got {target!r}")
    return np.broadcast_to(t, (n,)).astype(np.int64)


@contextlib.contextmanager
def _eval(model):
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def resolve_layer(model, layer):
    """``layer`` as a module: a module of ``model`` itself, or its dotted name (``"features.c3"``)."""
    if isinstance(layer, nn.Module):
        return layer
    if isinstance(layer, str):
        try:
            return model.get_submodule(layer)
        except (AttributeError, KeyError):
            names = [n for n, _ in model.named_modules() if n]
            raise ValueError(f"layer {layer!r} is not a module of {type(model).__name__}; its modules are "
                             f"{', '.join(names[:20])}{', ...' if len(names) > 20 else ''}") from None
    raise TypeError(f"layer must be a module or a module name, got {type(layer).__name__}")


def _one_hot(out, t):
    seed = np.zeros(out.shape, out._data.dtype)  # (N, num_classes)
    seed[np.arange(len(t)), t] = 1
    return Tensor(seed)


class _RuleReLU(Function):
    """``max(0, x)`` whose backward follows a visualisation rule instead of the plain gradient."""

    def forward(self, x, rule="guided"):
        self.rule, self.positive = rule, x > 0
        return x * self.positive

    def backward(self, grad_out):
        positive_grad = grad_out * (grad_out > 0)
        if self.rule == "deconvnet":   # ZFNet: the reconstruction is rectified, the forward mask is not used
            return positive_grad
        return positive_grad * self.positive  # guided backprop: both masks (Springenberg et al. 2015)


@contextlib.contextmanager
def _relu_rule(model, rule):
    """Every ``nn.ReLU`` of ``model`` uses ``rule``'s backward inside the block."""
    if rule is None:
        yield
        return
    handles = [m.register_forward_hook(lambda mod, args, out: _RuleReLU.apply(args[0], rule=rule))
               for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _input_gradient(model, input, target, rule, fn):
    """d score_target / d input with the ReLU ``rule`` (None: the true gradient)."""
    x = _as_batch(input, fn)
    with _eval(model):
        t = _targets(model, x, target, fn)
        xt = Tensor(x.copy(), requires_grad=True)
        with _relu_rule(model, rule):
            out = model(xt)
        (g,) = grad(out, xt, grad_outputs=_one_hot(out, t))
    return np.asarray(g._data, dtype=np.float32)


# ------------------------------------------------------------------------------- the gradients
def saliency(model, input, target=None):
    """Simonyan et al. (2014) saliency: ``|d score_target / d input|``, shape ``(N, C, H, W)``.

    Captum ``Saliency(model).attribute(input, target, abs=True)``.

    Example:
        >>> import convnet as cn
        >>> saliency(cn.models.get("lenet5"), cn.randn(2, 1, 32, 32), target=3).shape
        (2, 1, 32, 32)
    """
    return np.abs(_input_gradient(model, input, target, None, "saliency"))


def guided_backprop(model, input, target=None):
    """Guided backpropagation (Springenberg et al. 2015), ``(N, C, H, W)``: the gradient with every
    ``nn.ReLU`` passing back only positive gradients, and only where its input was positive.

    Captum ``GuidedBackprop(model).attribute(input, target)``.
    """
    return _input_gradient(model, input, target, "guided", "guided_backprop")


def deconvnet(model, input, target=None, *, layer=None, channel=None):
    """ZFNet's deconvnet (Zeiler & Fergus 2014): project a score, or one activation, back to pixels.

    Through the network backwards, max pooling is undone with the switches recorded in the forward
    pass, each ReLU rectifies the reconstruction (``relu(gradient)``, the forward mask unused) and
    each convolution is transposed. That is the gradient with a modified ReLU, so:

    - ``deconvnet(model, input, target)`` -> ``(N, C, H, W)``: Captum ``Deconvolution``.
    - ``deconvnet(model, input, layer=..., channel=k)`` -> ``(N, C, H, W)``: per sample, the strongest
      activation of channel ``k`` of ``layer`` (a module or its name), all others set to zero,
      projected down with unit weight. :func:`convnet.viz.projection.project_down` does the same with
      the unpooling and transposed convolutions written out.
    """
    if layer is None:
        if channel is not None:
            raise ValueError("deconvnet: channel needs a layer")
        return _input_gradient(model, input, target, "deconvnet", "deconvnet")
    if channel is None or target is not None:
        raise ValueError("deconvnet: give layer= and channel= (and no target) to project one activation down")
    module = resolve_layer(model, layer)
    x = _as_batch(input, "deconvnet")
    store = {}
    handle = module.register_forward_hook(lambda mod, args, out: store.setdefault("a", out))
    try:
        with _eval(model):
            xt = Tensor(x.copy(), requires_grad=True)
            with _relu_rule(model, "deconvnet"):
                model(xt)
            a = store["a"]
            if not 0 <= channel < a.shape[1]:
                raise ValueError(f"deconvnet: channel must be in [0, {a.shape[1]}) for layer {layer!r}, got {channel}")
            seed = strongest_activation_seed(np.asarray(a._data), channel)
            (g,) = grad(a, xt, grad_outputs=Tensor(seed))
    finally:
        handle.remove()
    return np.asarray(g._data, dtype=np.float32)


def strongest_activation_seed(a, channel):
    """One-hot ``a``-shaped array: 1 at each sample's largest activation of ``channel``, else 0."""
    n, _, h, w = a.shape
    pos = a[:, channel].reshape(n, h * w).argmax(axis=1)      # (N, h, w) -> (N, h*w): first maximum
    seed = np.zeros_like(a)
    seed[np.arange(n), channel, pos // w, pos % w] = 1
    return seed


# ------------------------------------------------------------------------------------ occlusion
def _window_starts(size, window, stride):
    """Captum's window positions along one axis: ``j * stride`` for ``j <= ceil((size - window) / stride)``
    (a last window may stick out of the image and is cut at the border)."""
    if window > size:
        raise ValueError(f"occlusion: window {window} is larger than the image ({size})")
    return [j * stride for j in range(math.ceil((size - window) / stride) + 1)]


def _scores(model, x, t, batch=256):
    """Target scores of ``x`` (M, C, H, W) for the targets ``t`` (M,)."""
    out = []
    with no_grad():
        for i in range(0, len(x), batch):
            out.append(np.asarray(model(Tensor(x[i:i + batch]))._data))
    out = np.concatenate(out)
    return out, out[np.arange(len(t)), t]


def _occluded(x, window, stride, baseline):
    """Every occluded copy of each image: ``(N, P, C, H, W)`` and the windows' slices ``P x (rows, cols)``."""
    (h, w), (sh, sw) = window, stride
    H, W = x.shape[-2:]
    boxes = [(slice(i, i + h), slice(j, j + w)) for i in _window_starts(H, h, sh) for j in _window_starts(W, w, sw)]
    copies = np.repeat(x[:, None], len(boxes), axis=1)                 # (N, P, C, H, W)
    for p, (r, c) in enumerate(boxes):
        copies[:, p, :, r, c] = baseline
    return copies, boxes


def _pair(name, v):
    v = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(v) != 2 or min(v) < 1:
        raise ValueError(f"occlusion: {name} must be a positive int or (h, w) pair, got {v!r}")
    return v


def occlusion(model, input, target=None, window=(4, 4), stride=(2, 2), baseline=0.0):
    """Occlusion (Zeiler & Fergus 2014) as Captum defines it, ``(N, C, H, W)``.

    A ``window`` patch through all channels is set to ``baseline`` at each position (step
    ``stride``); the drop of the target score, ``score(input) - score(occluded)``, is credited to
    every pixel of the patch, and each pixel's credit is averaged over the patches covering it.
    Captum ``Occlusion(model).attribute(input, sliding_window_shapes=(C, h, w), strides=(C, sh, sw),
    target=target, baselines=baseline)``.
    """
    x = _as_batch(input, "occlusion")
    window, stride = _pair("window", window), _pair("stride", stride)
    with _eval(model):
        t = _targets(model, x, target, "occlusion")
        _, base = _scores(model, x, t)
        copies, boxes = _occluded(x, window, stride, baseline)
        n, p = copies.shape[:2]
        _, occ = _scores(model, copies.reshape((n * p,) + x.shape[1:]), np.repeat(t, p))  # (N*P,)
    drop = (base[:, None] - occ.reshape(n, p)).astype(np.float32)                       # (N, P)
    total = np.zeros(x.shape, np.float32)
    count = np.zeros(x.shape[-2:], np.float32)
    for k, (r, c) in enumerate(boxes):
        total[:, :, r, c] += drop[:, k, None, None, None]
        count[r, c] += 1
    return total / count


def occlusion_map(model, input, target=None, window=(8, 8), stride=(2, 2), baseline=0.0):
    """ZFNet's picture (Figure 7): the probability of ``target`` as a ``baseline`` square slides over the
    image, one value per window position, shape ``(N, rows, cols)``."""
    x = _as_batch(input, "occlusion_map")
    window, stride = _pair("window", window), _pair("stride", stride)
    with _eval(model):
        t = _targets(model, x, target, "occlusion_map")
        copies, _ = _occluded(x, window, stride, baseline)
        n, p = copies.shape[:2]
        logits, _ = _scores(model, copies.reshape((n * p,) + x.shape[1:]), np.repeat(t, p))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob = (e / e.sum(axis=1, keepdims=True))[np.arange(n * p), np.repeat(t, p)]
    rows = len(_window_starts(x.shape[-2], window[0], stride[0]))
    return prob.reshape(n, rows, -1).astype(np.float32)


# ------------------------------------------------------------------------------------- Grad-CAM
def grad_cam(model, input, target=None, layer=None):
    """Grad-CAM (Selvaraju et al. 2017) at ``layer``, ``(N, 1, h, w)`` at that layer's resolution.

    With ``A`` the layer's output ``(N, K, h, w)``: weights ``alpha_k = mean_{i,j} dS/dA_k[i, j]``,
    map ``relu(sum_k alpha_k A_k)``. Captum ``LayerGradCam(model, layer).attribute(input, target,
    relu_attributions=True)``. See :func:`upsample` to lay it over the image.
    """
    if layer is None:
        raise ValueError("grad_cam: layer is required (a module of the model or its name, e.g. 'features.c3')")
    module = resolve_layer(model, layer)
    x = _as_batch(input, "grad_cam")
    store = {}
    handle = module.register_forward_hook(lambda mod, args, out: store.setdefault("a", out))
    try:
        with _eval(model):
            t = _targets(model, x, target, "grad_cam")
            out = model(Tensor(x.copy(), requires_grad=True))
            a = store["a"]
            if a.ndim != 4:
                raise ValueError(f"grad_cam: layer {layer!r} gives a {a.ndim}-d output {tuple(a.shape)}; choose "
                                 "a convolutional layer with (N, K, h, w) maps")
            (g,) = grad(out, a, grad_outputs=_one_hot(out, t), retain_graph=True)  # a is not a leaf
    finally:
        handle.remove()
    A, G = np.asarray(a._data), np.asarray(g._data)
    alpha = G.mean(axis=(2, 3), keepdims=True)                        # (N, K, 1, 1)
    cam = (alpha * A).sum(axis=1, keepdims=True)                      # (N, 1, h, w)
    return np.maximum(cam, 0).astype(np.float32)


def upsample(maps, size):
    """Bilinear resize of ``(N, 1, h, w)`` maps to ``size = (H, W)`` (to lay Grad-CAM over the input)."""
    from ..functional import interpolate

    with no_grad():
        return np.asarray(interpolate(Tensor(np.asarray(maps, np.float32)), size=tuple(size), mode="bilinear",
                                      align_corners=False)._data)
