"""Export a saved model (a run directory or checkpoint file) to ONNX and check it in onnxruntime."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .export import export


def input_shape_of(model):
    """``(C, H, W)`` the checkpoint was trained on, else its zoo model's default."""
    meta = getattr(model, "checkpoint_meta", None) or {}
    if meta.get("input_shape"):
        return tuple(int(s) for s in meta["input_shape"])
    name = (getattr(model, "config", None) or {}).get("name")
    if name is None:
        raise ValueError("onnx.export_checkpoint: the checkpoint records no input_shape and no zoo model name")
    from .. import models
    return tuple(models.default_input_shape(name))


def onnxruntime_max_diff(model, path, shape, batch=2, seed=0):
    """Largest |ours - onnxruntime| on a random ``(batch, *shape)`` input, or None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    x = np.random.default_rng(seed).standard_normal((batch,) + tuple(shape)).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    from .. import autograd
    with autograd.no_grad():
        ours = model.eval()(Tensor(x))._data
    return float(np.abs(ours - theirs).max())


def export_checkpoint(checkpoint, out, opset_version=17):
    """Load ``checkpoint`` (a run directory or a model checkpoint), export it to ``out`` with a
    dynamic batch axis, and compare with onnxruntime when it is installed.

    Returns:
        ``(out, input_shape, max_abs_diff)``; ``max_abs_diff`` is None without onnxruntime.
    """
    from ..checkpoint import load_model

    model = load_model(checkpoint).eval()
    shape = input_shape_of(model)
    x = Tensor(np.random.default_rng(0).standard_normal((1,) + shape).astype(np.float32))
    export(model, x, out, dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
           opset_version=opset_version)
    return out, shape, onnxruntime_max_diff(model, out, shape)
