"""A checkpoint ready to answer requests: class probabilities, per-layer maps, saliency.

``ServedModel`` does the NumPy work and knows nothing of HTTP; the app (``serve/app.py``) calls it from
one inference thread, so the model's forward hooks and autograd state are never used concurrently.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..checkpoint import load_model
from ..data.images import _normalize
from ..tensor import Tensor

__all__ = ["ServedModel", "input_saliency"]


def input_saliency(model, x, target):
    """Plain input-gradient saliency (Simonyan et al., 2014): ``max_c |d logit_target / d x_c|``.

    Args:
        x: one normalised input ``(1, C, H, W)``.
        target: the class whose logit is differentiated.

    Returns:
        ``(H, W)`` float32 scaled to ``[0, 1]`` by its maximum.
    """
    xt = Tensor(x, requires_grad=True)
    logits = model(xt)  # (1, num_classes)
    logits[0, int(target)].backward()
    g = np.abs(xt.grad.numpy()[0]).max(axis=0)  # (C, H, W) -> (H, W)
    return (g / max(float(g.max()), 1e-12)).astype(np.float32)


class ServedModel:
    """A model loaded from a checkpoint, with what its metadata says about its inputs.

    Attributes:
        model: the ``Module`` in eval mode.
        meta: the checkpoint's metadata (dataset, classes, normalization, input_shape).
        kind: ``"image"``; a text model would say ``"text"`` (see ``predict_text``).
        input_shape: ``(C, H, W)`` the model takes.
        classes: class labels, ``str(i)`` where the checkpoint records none.
    """

    kind = "image"

    def __init__(self, checkpoint):
        self.model = load_model(checkpoint)
        self.model.eval()
        self.meta = dict(getattr(self.model, "checkpoint_meta", {}) or {})
        shape = self.meta.get("input_shape")
        if not shape:
            from .. import models

            shape = models.default_input_shape(self.model.config["name"])
        self.input_shape = tuple(int(v) for v in shape)
        self.name = (getattr(self.model, "config", None) or {}).get("name", type(self.model).__name__)
        probe = np.zeros((1, *self.input_shape), np.float32)
        if self.meta.get("text"):  # a text model (convnet.text): token ids in, its own tokenizer and vocabulary
            from ..text import TextEncoder

            self.kind, self.encoder = "text", TextEncoder.from_dict(self.meta["text"])
            probe = self.encoder.encode(["probe"])
        with no_grad():
            n = int(self.model(Tensor(probe)).shape[1])
        self.classes = [str(c) for c in self.meta.get("classes") or range(n)]
        self.num_parameters = sum(int(p.numel()) for p in self.model.parameters())
        self.conv_layers = [(name, m) for name, m in self.model.named_modules() if isinstance(m, nn.Conv2d)]

    def info(self):
        """What ``GET /v1/model`` returns."""
        return {"name": self.name, "kind": self.kind, "classes": self.classes, "input_shape": list(self.input_shape),
                "parameters": self.num_parameters, "dataset": self.meta.get("dataset"),
                "conv_layers": [name for name, _ in self.conv_layers]}

    def normalize(self, x):
        """``(N, C, H, W)`` in ``[0, 1]`` -> the normalised model input (the checkpoint's statistics)."""
        return _normalize(x, self.meta.get("normalization")).astype(np.float32)

    def probabilities(self, x):
        """Prepared images ``(N, C, H, W)`` in ``[0, 1]`` -> class probabilities ``(N, num_classes)``."""
        with no_grad():
            return self.model(Tensor(self.normalize(x))).softmax(1).numpy().astype(np.float64)

    def top_k(self, probs, k):
        """One probability vector -> ``[{"class", "label", "probability"}]`` best first (ties: lower class)."""
        order = np.argsort(-probs, kind="stable")[:k]
        return [{"class": int(i), "label": self.classes[i], "probability": float(probs[i])} for i in order]

    def activations(self, x, max_maps=16):
        """One prepared image ``(C, H, W)`` -> probabilities, the conv layers' maps and a saliency map.

        Returns:
            ``(probs (num_classes,), layers, saliency (H, W))`` where ``layers`` is a list of
            ``{"name", "shape", "maps"}``: the output of each ``Conv2d`` (first ``max_maps`` channels),
            each map scaled to ``[0, 1]`` over the layer.
        """
        captured = []
        handles = [m.register_forward_hook(lambda mod, args, out, name=name: captured.append((name, out.numpy()[0])))
                   for name, m in self.conv_layers]
        try:
            xn = self.normalize(x[None])
            with no_grad():
                probs = self.model(Tensor(xn)).softmax(1).numpy()[0].astype(np.float64)
        finally:
            for h in handles:
                h.remove()
        layers = []
        for name, out in captured:  # out (C_out, H_out, W_out)
            maps = out[:max_maps]
            lo, hi = float(maps.min()), float(maps.max())
            scaled = (maps - lo) / (hi - lo) if hi > lo else np.zeros_like(maps)
            layers.append({"name": name, "shape": list(out.shape), "maps": scaled.astype(np.float32)})
        return probs, layers, input_saliency(self.model, xn, int(np.argmax(probs)))

    def predict_text(self, text, k, max_chars=10_000):
        """One sentence -> its top-k classes (``top_k``'s format); a text model only."""
        from ..text import predict_proba

        if self.kind != "text":
            raise ValueError(f"{self.name} classifies images, not text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"'text' must be a non-empty string, received {text!r}"[:200])
        if len(text) > max_chars:
            raise ValueError(f"'text' has {len(text):,} characters, more than the {max_chars:,} allowed")
        return self.top_k(predict_proba(self.model, self.encoder, [text])[0], k)
