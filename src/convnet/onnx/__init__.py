"""ONNX interop: ``export`` a convnet model to an ``.onnx`` file and ``load`` one back.

    import convnet as cn
    cn.onnx.export(model, cn.randn(1, 1, 32, 32), "lenet5.onnx",
                   dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    net = cn.onnx.load("model_from_torch.onnx")       # a convnet nn.Module

Needs the ``onnx`` package (``pip install 'convnet[onnx]'``), imported only when these run.
The library never imports this package; it sits on top of ``nn`` like ``torch.onnx``.
"""
from __future__ import annotations

# the functions replace the submodule attributes of the same names
from .export import export  # noqa: E402
from .load import load  # noqa: E402

__all__ = ["export", "load"]
