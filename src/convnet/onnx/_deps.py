"""The optional ``onnx`` dependency, imported when an export or import runs."""
from __future__ import annotations


def require_onnx(fn):
    try:
        import onnx
    except ImportError:
        raise ImportError(f"convnet.onnx.{fn} needs the 'onnx' package: pip install 'convnet[onnx]' "
                          "(or pip install onnx)") from None
    return onnx
