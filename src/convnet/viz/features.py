"""What the layers hold: filters, feature maps, the images a channel likes best, class models and
the penultimate-layer embedding. Every function returns arrays; :mod:`convnet.viz.plots` draws them.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import grad, no_grad
from ..tensor import Tensor
from .attribution import _as_batch, _eval, resolve_layer
from .projection import _check_chain, layer_chain, project_down, receptive_box

__all__ = ["filter_tiles", "feature_maps", "top_activations", "class_model", "embedding", "dataset_arrays"]


def filter_tiles(conv):
    """The kernels of a Conv2d as tiles: ``(C_out, kH, kW, 3)`` for a 3-channel input (RGB, each filter
    min-max scaled to 0..1), otherwise ``(C_out * C_in, kH, kW)``, one tile per (output, input) channel
    pair, ordered output-major."""
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"filter_tiles: expected an nn.Conv2d, got {type(conv).__name__}")
    w = np.asarray(conv.weight._data, np.float32)                 # (C_out, C_in/groups, kH, kW)
    if w.shape[1] == 3:
        rgb = w.transpose(0, 2, 3, 1)                              # (C_out, kH, kW, 3)
        lo = rgb.min(axis=(1, 2, 3), keepdims=True)
        hi = rgb.max(axis=(1, 2, 3), keepdims=True)
        return (rgb - lo) / np.maximum(hi - lo, 1e-12)
    return w.reshape((-1,) + w.shape[2:])                          # (C_out*C_in, kH, kW)


def _conv_layers(model):
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def feature_maps(model, image, layers=None):
    """Activation maps of ``layers`` (names; default every Conv2d) for one image, via forward hooks.

    Args:
        image: ``(C, H, W)`` or ``(1, C, H, W)``.

    Returns:
        ``{name: (C_layer, h, w) array}`` in the order given.
    """
    x = np.asarray(image._data if isinstance(image, Tensor) else image, np.float32)
    x = x[None] if x.ndim == 3 else x
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"feature_maps: image must be (C, H, W) or (1, C, H, W), got shape {x.shape}")
    names = _conv_layers(model) if layers is None else list(layers)
    store, handles = {}, []
    for name in names:
        m = resolve_layer(model, name)
        handles.append(m.register_forward_hook(lambda mod, args, out, name=name: store.__setitem__(name, out)))
    try:
        with _eval(model), no_grad():
            model(Tensor(x))
    finally:
        for h in handles:
            h.remove()
    return {name: np.asarray(store[name]._data)[0] for name in names}


def dataset_arrays(dataset, limit=None):
    """``(images (N, C, H, W) float32, labels (N,) int64)`` of the first ``limit`` samples of a dataset."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    xs, ys = zip(*(dataset[i] for i in range(n)))
    xs = [np.asarray(getattr(x, "_data", x), np.float32) for x in xs]
    return np.stack(xs), np.asarray([int(y) for y in ys], np.int64)


def _layer_outputs(model, module, x, batch=256, pre=False):
    """The output (or, with ``pre``, the input) of ``module`` for every image of ``x``, batched."""
    out, store = [], {}
    hook = (module.register_forward_pre_hook(lambda mod, args: store.__setitem__("a", args[0])) if pre else
            module.register_forward_hook(lambda mod, args, o: store.__setitem__("a", o)))
    try:
        with _eval(model), no_grad():
            for i in range(0, len(x), batch):
                model(Tensor(x[i:i + batch]))
                out.append(np.asarray(store["a"]._data))
    finally:
        hook.remove()
    return np.concatenate(out)


def top_activations(model, dataset, layer, channel, k=9, limit=2000):
    """ZFNet Figure 2 in miniature: the ``k`` images of ``dataset`` that most activate ``channel`` of
    ``layer``, the input patch under that activation, and the activation's deconvnet projection.

    ``layer`` must close a chain of Conv2d / ReLU / MaxPool2d (see :func:`convnet.viz.project_down`).

    Returns:
        dict with ``indices`` (k,), ``scores`` (k,), ``boxes`` (k x ((r0, r1), (c0, c1))),
        ``patches`` and ``projections``: lists of ``(C, h, w)`` crops of the image and the projection.
    """
    chain = layer_chain(model, layer)
    _check_chain(chain)
    x, _ = dataset_arrays(dataset, limit)
    a = _layer_outputs(model, resolve_layer(model, layer), x)      # (N, K, h, w)
    if not 0 <= channel < a.shape[1]:
        raise ValueError(f"top_activations: channel must be in [0, {a.shape[1]}), got {channel}")
    flat = a[:, channel].reshape(len(a), -1)                       # (N, h*w)
    best = flat.max(axis=1)
    order = np.argsort(-best, kind="stable")[:k]
    proj = project_down(model, x[order], layer, channel)           # (k, C, H, W)
    boxes, patches, projections = [], [], []
    for row, i in enumerate(order):
        r, c = divmod(int(flat[i].argmax()), a.shape[-1])
        (r0, r1), (c0, c1) = box = receptive_box(chain, r, c, x.shape[-2:])
        boxes.append(box)
        patches.append(x[i, :, r0:r1, c0:c1])
        projections.append(proj[row, :, r0:r1, c0:c1])
    return {"indices": order, "scores": best[order], "boxes": boxes, "patches": patches, "projections": projections}


def class_model(model, target, steps=200, lr=0.1, weight_decay=1e-3, input_shape=(1, 32, 32), blur_every=4,
                seed=0):
    """Simonyan et al. (2014): an image ``I`` maximising ``S_target(I) - weight_decay * ||I||^2``.

    Gradient ascent from small noise with a normalised step of ``lr``; every ``blur_every`` steps
    the image is smoothed with a 3x3 binomial filter (Yosinski et al. 2015) so that the picture shows
    shapes rather than high-frequency noise.

    Returns:
        ``(image (C, H, W) float32, scores per step (steps,))``.
    """
    rng = np.random.default_rng(seed)
    x = (0.01 * rng.standard_normal((1,) + tuple(input_shape))).astype(np.float32)
    scores = []
    with _eval(model):
        for step in range(steps):
            xt = Tensor(x, requires_grad=True)
            out = model(xt)
            score = out[0, target]
            objective = score - weight_decay * (xt * xt).sum()
            (g,) = grad(objective, xt)
            g = np.asarray(g._data)
            x = x + lr * g / (np.abs(g).mean() + 1e-12)
            if blur_every and (step + 1) % blur_every == 0:
                x = _blur(x)
            scores.append(float(score.item()))
    return x[0].astype(np.float32), np.asarray(scores)


def _blur(x):
    """3x3 binomial smoothing of every plane of ``x`` (edges replicated)."""
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    rows = (p[..., :-2, :] + 2 * p[..., 1:-1, :] + p[..., 2:, :]) / 4
    return ((rows[..., :-2] + 2 * rows[..., 1:-1] + rows[..., 2:]) / 4).astype(x.dtype)


def _penultimate(model):
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"embedding: {type(model).__name__} has no nn.Linear; pass layer=")
    return linears[-1]


def embedding(model, dataset, layer=None, method="pca", limit=500, seed=0):
    """Penultimate-layer features in 2-D (scikit-learn's PCA or t-SNE), with the labels.

    Args:
        layer: whose *output* is embedded (a module or name); default: the input of the last ``nn.Linear``.
        method: ``"pca"`` or ``"tsne"``.

    Returns:
        ``(points (N, 2), labels (N,), features (N, D))``.
    """
    if method not in ("pca", "tsne"):
        raise ValueError(f"embedding: method must be 'pca' or 'tsne', got {method!r}")
    x, y = dataset_arrays(dataset, limit)
    if layer is None:
        feats = _layer_outputs(model, _penultimate(model), x, pre=True)
    else:
        feats = _layer_outputs(model, resolve_layer(model, layer), x)
    feats = feats.reshape(len(feats), -1).astype(np.float64)
    if method == "pca":
        from sklearn.decomposition import PCA

        pts = PCA(n_components=2, random_state=seed).fit_transform(feats)
    else:
        from sklearn.manifold import TSNE

        pts = TSNE(n_components=2, random_state=seed, init="pca",
                   perplexity=min(30.0, max(2.0, (len(feats) - 1) / 3))).fit_transform(feats)
    return pts.astype(np.float32), y, feats
