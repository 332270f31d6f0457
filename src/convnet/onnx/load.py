"""``convnet.onnx.load``: an ONNX file (e.g. from ``torch.onnx.export``) as a convnet ``nn.Module``.

The story: read the graph, turn each node (they are stored in topological order) into a convnet
layer holding the node's initializers as its weights (Conv -> ``nn.Conv2d``, Gemm ->
``nn.Linear``, BatchNormalization -> ``nn.BatchNorm2d``, ...) or into a tensor op (Add, Concat,
Reshape, ...), and run them in that order in ``forward``. The layers sit in ``model.layers``
(a ``ModuleDict`` keyed by node name), so ``state_dict`` and ``summary`` see them.
Operator meanings are the ONNX specification's; an op outside the supported set raises a
``ValueError`` naming the op and the node.
"""
from __future__ import annotations

import math
import re

import numpy as np

from .. import nn
from .. import functional as F
from ..errors import FileFormatError
from ..tensor import Tensor
from ._deps import require_onnx


def _attrs(node):
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Node:
    """One ONNX node: its layer (or None) and ``run(values) -> outputs``."""

    def __init__(self, node, run, layer=None):
        self.name, self.inputs, self.outputs, self.run, self.layer = node.name, list(node.input), \
            list(node.output), run, layer


class OnnxModel(nn.Module):
    """A model read from an ONNX graph; ``forward(*inputs)`` takes the graph inputs in order.

    Attributes:
        layers: ``ModuleDict`` of the convnet layers built from the nodes (by node name).
        input_names, output_names: the graph's input and output value names.
    """

    def __init__(self, steps, constants, input_names, output_names):
        super().__init__()
        self.layers = nn.ModuleDict({_key(s.name, i): s.layer for i, s in enumerate(steps) if s.layer is not None})
        self._steps, self._constants = steps, constants
        self.input_names, self.output_names = input_names, output_names

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise ValueError(f"OnnxModel: expected {len(self.input_names)} inputs ({self.input_names}), "
                             f"got {len(inputs)}")
        values = dict(self._constants)
        values.update(zip(self.input_names, inputs))
        for step in self._steps:
            outs = step.run([values[i] if i else None for i in step.inputs])
            outs = outs if isinstance(outs, tuple) else (outs,)
            values.update(zip(step.outputs, outs))
        result = tuple(values[n] for n in self.output_names)
        return result[0] if len(result) == 1 else result


def _key(name, i):
    return re.sub(r"\W", "_", name) or f"node{i}"


def _const_array(values, name, node, what):
    v = values.get(name)
    if v is None or not isinstance(v, np.ndarray):
        raise ValueError(f"onnx.load: node '{node.name}' ({node.op_type}): {what} must be a constant "
                         f"(initializer or Constant node)")
    return v


def _param(array):
    return nn.Parameter(Tensor(np.ascontiguousarray(array, dtype=np.float32)))


def _conv(node, a, consts, transposed=False):
    w = _const_array(consts, node.input[1], node, "the weight")
    b = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    nd = w.ndim - 2
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise ValueError(f"onnx.load: node '{node.name}' ({node.op_type}): auto_pad={a['auto_pad']!r} is not "
                         "supported (export with explicit pads)")
    pads = list(a.get("pads", [0] * 2 * nd))
    lo, hi = pads[:nd], pads[nd:]
    group = int(a.get("group", 1))
    kw = dict(stride=tuple(a.get("strides", [1] * nd)), dilation=tuple(a.get("dilations", [1] * nd)),
              groups=group, bias=b is not None)
    if transposed:
        if lo != hi:
            raise ValueError(f"onnx.load: node '{node.name}' (ConvTranspose): asymmetric pads {pads} are not supported")
        cls = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[nd]
        layer = cls(w.shape[0], w.shape[1] * group, w.shape[2:], padding=tuple(lo),
                    output_padding=tuple(a.get("output_padding", [0] * nd)), **kw)
    else:
        cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[nd]
        layer = cls(w.shape[1] * group, w.shape[0], w.shape[2:], padding=tuple(lo) if lo == hi else 0, **kw)
    layer.weight = _param(w)
    if b is not None:
        layer.bias = _param(b)
    if transposed or lo == hi:
        return layer, lambda xs: layer(xs[0])
    torch_pad = [p for i in reversed(range(nd)) for p in (lo[i], hi[i])]  # F.pad order: last dim first
    return layer, lambda xs: layer(F.pad(xs[0], torch_pad))


def _pool(node, a, consts):
    k = tuple(a["kernel_shape"])
    nd = len(k)
    pads = list(a.get("pads", [0] * 2 * nd))
    pre = None
    if pads[:nd] != pads[nd:]:
        if node.op_type != "MaxPool":
            raise ValueError(f"onnx.load: node '{node.name}' ({node.op_type}): asymmetric pads {pads} are not "
                             "supported")
        torch_pad = [p for i in reversed(range(nd)) for p in (pads[i], pads[nd + i])]
        pre, pads = (lambda x: F.pad(x, torch_pad, value=-math.inf)), [0] * 2 * nd  # max ignores -inf
    kw = dict(stride=tuple(a.get("strides", [1] * nd)), padding=tuple(pads[:nd]), ceil_mode=bool(a.get("ceil_mode", 0)))
    if node.op_type == "MaxPool":
        if len(node.output) > 1 and node.output[1]:
            raise ValueError(f"onnx.load: node '{node.name}' (MaxPool): the indices output is not supported")
        cls = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}[nd]
        layer = cls(k, dilation=tuple(a.get("dilations", [1] * nd)), **kw)
        if pre is not None:
            return layer, lambda xs: layer(pre(xs[0]))
    else:
        cls = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}[nd]
        layer = cls(k, count_include_pad=bool(a.get("count_include_pad", 0)), **kw)
    return layer, lambda xs: layer(xs[0])


def _batch_norm(node, a, consts):
    scale, bias, mean, var = (_const_array(consts, n, node, "scale/bias/mean/var") for n in node.input[1:5])
    layer = nn.BatchNorm2d(scale.shape[0], eps=float(a.get("epsilon", 1e-5)))
    layer.weight, layer.bias = _param(scale), _param(bias)
    layer.running_mean._data[...] = mean
    layer.running_var._data[...] = var
    layer.eval()
    return layer, lambda xs: layer(xs[0])


def _gemm(node, a, consts):
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    ta, tb = int(a.get("transA", 0)), int(a.get("transB", 0))
    w = consts.get(node.input[1])
    c = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if isinstance(w, np.ndarray) and not ta and (c is None or isinstance(c, np.ndarray)):
        weight = alpha * (w if tb else w.T)                      # (out, in)
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=c is not None)
        layer.weight = _param(weight)
        if c is not None:
            layer.bias = _param(np.broadcast_to(beta * c, (weight.shape[0],)))
        return layer, lambda xs: layer(xs[0])

    def run(xs):
        x, y = xs[0], xs[1]
        x = x.t() if ta else x
        y = y.t() if tb else y
        out = (x @ y) * alpha
        return out + xs[2] * beta if len(xs) > 2 and xs[2] is not None else out
    return None, run


def _lrn(node, a, consts):
    size = int(a["size"])
    if size % 2 == 0:
        raise ValueError(f"onnx.load: node '{node.name}' (LRN): even size={size} windows differ between ONNX and "
                         "PyTorch; only odd sizes are supported")
    layer = nn.LocalResponseNorm(size, alpha=float(a.get("alpha", 1e-4)), beta=float(a.get("beta", 0.75)),
                                 k=float(a.get("bias", 1.0)))
    return layer, lambda xs: layer(xs[0])


def _reshape(node, a, consts):
    shape = [int(s) for s in _const_array(consts, node.input[1], node, "the shape")]

    def run(xs):
        x = xs[0]
        target = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]  # 0 copies the input's size
        return x.reshape(tuple(target))
    return None, run


def _flatten(node, a, consts):
    axis = int(a.get("axis", 1))

    def run(xs):
        x = xs[0]
        ax = axis % x.ndim if x.ndim else 0
        return x.reshape((math.prod(x.shape[:ax]), -1))
    return None, run


def _binary(fn):
    return lambda node, a, consts: (None, lambda xs: fn(xs[0], xs[1]))


def _layer(make):
    def build(node, a, consts):
        layer = make(a)
        return layer, lambda xs: layer(xs[0])
    return build


def _clip(node, a, consts):
    lo = consts.get(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("min")
    hi = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else a.get("max")
    lo = None if lo is None else float(np.asarray(lo))
    hi = None if hi is None else float(np.asarray(hi))
    if lo is not None and hi is not None:
        layer = nn.Hardtanh(lo, hi)
        return layer, lambda xs: layer(xs[0])
    return None, lambda xs: xs[0].clamp(lo, hi)


def _axes(node, a, consts, i=1):
    if len(node.input) > i and node.input[i]:
        return [int(v) for v in _const_array(consts, node.input[i], node, "axes")]
    return [int(v) for v in a["axes"]] if "axes" in a else None


def _reduce_mean(node, a, consts):
    axes, keep = _axes(node, a, consts), bool(a.get("keepdims", 1))
    return None, lambda xs: xs[0].mean(dim=tuple(axes) if axes else None, keepdim=keep)


def _unsqueeze(node, a, consts):
    axes = _axes(node, a, consts)

    def run(xs):
        x = xs[0]
        for ax in sorted(v % (x.ndim + len(axes)) for v in axes):
            x = x.unsqueeze(ax)
        return x
    return None, run


def _squeeze(node, a, consts):
    axes = _axes(node, a, consts)

    def run(xs):
        x = xs[0]
        shape = [s for i, s in enumerate(x.shape) if not (i in [v % x.ndim for v in axes] if axes else s == 1)]
        return x.reshape(tuple(shape))
    return None, run


def _slice(node, a, consts):
    arr = [_const_array(consts, n, node, "starts/ends/axes/steps") if n else None for n in node.input[1:]]
    starts, ends = arr[0], arr[1]
    axes = arr[2] if len(arr) > 2 and arr[2] is not None else range(len(starts))
    steps = arr[3] if len(arr) > 3 and arr[3] is not None else [1] * len(starts)

    def run(xs):
        x = xs[0]
        idx = [slice(None)] * x.ndim
        for st, en, ax, sp in zip(starts, ends, axes, steps):
            n = x.shape[int(ax)]
            clip = (lambda v: max(-n - 1, min(n, int(v))))            # int64 sentinels -> Python bounds
            en = None if (sp > 0 and en >= n) or (sp < 0 and en < -n) else clip(en)
            idx[int(ax)] = slice(clip(st), en, int(sp))
        return x[tuple(idx)]
    return None, run


def _pad(node, a, consts):
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = [int(v) for v in _const_array(consts, node.input[1], node, "pads")]
    value = float(np.asarray(consts[node.input[2]]).reshape(-1)[0]) if len(node.input) > 2 and node.input[2] else 0.0
    if mode != "constant" or (len(node.input) > 3 and node.input[3]):
        raise ValueError(f"onnx.load: node '{node.name}' (Pad): only constant padding of all axes is supported")
    n = len(pads) // 2
    torch_pad = [p for i in reversed(range(n)) for p in (pads[i], pads[n + i])]  # last dim first
    return None, lambda xs: F.pad(xs[0], torch_pad, value=value)


BUILDERS = {
    "Slice": _slice, "Pad": _pad,
    "Conv": _conv, "ConvTranspose": lambda n, a, c: _conv(n, a, c, transposed=True),
    "MaxPool": _pool, "AveragePool": _pool, "BatchNormalization": _batch_norm, "Gemm": _gemm, "LRN": _lrn,
    "Reshape": _reshape, "Flatten": _flatten, "Clip": _clip, "ReduceMean": _reduce_mean,
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze,
    "GlobalAveragePool": _layer(lambda a: nn.AdaptiveAvgPool2d((1, 1))),
    "GlobalMaxPool": _layer(lambda a: nn.AdaptiveMaxPool2d((1, 1))),
    "Relu": _layer(lambda a: nn.ReLU()), "Sigmoid": _layer(lambda a: nn.Sigmoid()),
    "Tanh": _layer(lambda a: nn.Tanh()), "Abs": _layer(lambda a: nn.Abs()),
    "LeakyRelu": _layer(lambda a: nn.LeakyReLU(float(a.get("alpha", 0.01)))),
    "Elu": _layer(lambda a: nn.ELU(float(a.get("alpha", 1.0)))),
    "Selu": _layer(lambda a: nn.SELU()), "Softplus": _layer(lambda a: nn.Softplus()),
    "Softsign": _layer(lambda a: nn.Softsign()), "HardSwish": _layer(lambda a: nn.Hardswish()),
    "Softmax": _layer(lambda a: nn.Softmax(int(a.get("axis", -1)))),
    "LogSoftmax": _layer(lambda a: nn.LogSoftmax(int(a.get("axis", -1)))),
    "Identity": lambda n, a, c: (None, lambda xs: xs[0]),
    "Dropout": lambda n, a, c: (None, lambda xs: xs[0]),     # inference: identity
    "Add": _binary(lambda x, y: x + y), "Sub": _binary(lambda x, y: x - y),
    "Mul": _binary(lambda x, y: x * y), "Div": _binary(lambda x, y: x / y),
    "MatMul": _binary(lambda x, y: x @ y), "Pow": _binary(lambda x, y: x ** y),
    "Max": _binary(lambda x, y: _maximum(x, y)),
    "Sqrt": lambda n, a, c: (None, lambda xs: xs[0].sqrt()), "Neg": lambda n, a, c: (None, lambda xs: -xs[0]),
    "Exp": lambda n, a, c: (None, lambda xs: xs[0].exp()), "Log": lambda n, a, c: (None, lambda xs: xs[0].log()),
    "Concat": lambda n, a, c: (None, lambda xs: _cat(xs, int(a["axis"]))),
    "Transpose": lambda n, a, c: (None, lambda xs: xs[0].permute(tuple(a["perm"])) if "perm" in a
                                  else xs[0].permute(tuple(reversed(range(xs[0].ndim))))),
}


def _maximum(x, y):
    from .. import maximum
    return maximum(x, y)


def _cat(xs, axis):
    from .. import cat
    return cat(list(xs), dim=axis)


def load(path):
    """Read the ONNX file ``path`` and return an :class:`OnnxModel` (a convnet ``nn.Module``).

    Supported ops: Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool/GlobalMaxPool,
    BatchNormalization, LRN (odd size), Gemm, MatMul, Add/Sub/Mul/Div, Concat, Flatten, Reshape,
    Transpose, Squeeze/Unsqueeze, ReduceMean, Clip, Dropout/Identity, Constant and the usual
    activations (Relu, LeakyRelu, Sigmoid, Tanh, Abs, Elu, Selu, Softplus, Softsign, HardSwish,
    Softmax, LogSoftmax). The model is returned in eval mode.

    Raises:
        FileFormatError: the file is not a readable ONNX model.
        ValueError: an op outside the supported set (the message names the op and the node).

    Example:
        >>> import convnet as cn
        >>> m = cn.models.get("lenet5")
        >>> _ = cn.onnx.export(m, cn.randn(1, 1, 32, 32), "/tmp/lenet5.onnx")
        >>> tuple(cn.onnx.load("/tmp/lenet5.onnx")(cn.randn(1, 1, 32, 32)).shape)
        (1, 10)
    """
    onnx = require_onnx("load")
    from onnx import numpy_helper

    try:
        proto = onnx.load(str(path))
    except OSError:
        raise
    except Exception as e:  # protobuf's DecodeError and friends
        raise FileFormatError(f"onnx.load: {path} is not a readable ONNX model ({type(e).__name__}: {e})") from None
    graph = proto.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    steps = []
    for node in graph.node:
        a = _attrs(node)
        if node.op_type == "Constant":
            if "value" not in a:
                raise ValueError(f"onnx.load: node '{node.name}' (Constant): only the 'value' attribute is supported")
            consts[node.output[0]] = numpy_helper.to_array(a["value"])
            continue
        if node.domain not in ("", "ai.onnx") or node.op_type not in BUILDERS:
            raise ValueError(f"onnx.load: unsupported op {node.op_type!r} (node '{node.name}'); supported: "
                             f"{sorted(BUILDERS)}")
        layer, run = BUILDERS[node.op_type](node, a, consts)
        steps.append(_Node(node, run, layer))
    inputs = [i.name for i in graph.input if i.name not in consts]
    tensors = {k: Tensor(np.asarray(v)) for k, v in consts.items()}
    model = OnnxModel(steps, tensors, inputs, [o.name for o in graph.output])
    return model.eval()
