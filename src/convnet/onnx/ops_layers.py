"""Export rules of the layers exported whole: conv layers (every padding mode), batch norm in
eval mode, LRN, local contrast norm (composed of ONNX ops) and every activation module of ``nn``.
A layer with a rule is recorded as one op; its inner primitives are not traced."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..functional.norm import _gaussian_window
from .ops_export import MODULES, _gelu, _softplus, _x, module


# ---------------------------------------------------------------------- layers exported whole
@module(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def _batch_norm(g, op):
    m = op.target
    if m.training or m.running_mean is None:
        raise ValueError(f"onnx.export: batch norm '{op.module_name}' needs running statistics in eval mode "
                         "(track_running_stats=True)")
    c = m.num_features
    scale = g.param(m.weight) if m.weight is not None else g.const(np.ones(c, np.float32), "ones")
    bias = g.param(m.bias) if m.bias is not None else g.const(np.zeros(c, np.float32), "zeros")
    return g.node("BatchNormalization", [_x(g, op), scale, bias, g.param(m.running_mean), g.param(m.running_var)],
                  epsilon=float(m.eps))


def _channel_window_sum(g, x, channels, before, after, spatial):
    """Sum over channels ``c - before .. c + after`` (zeros outside) as a 1x..x1 conv with a band matrix."""
    band = np.zeros((channels, channels) + (1,) * spatial, dtype=np.float32)
    for c in range(channels):
        band[c, max(0, c - before):min(channels, c + after + 1)] = 1.0
    return g.node("Conv", [x, g.const(band, "band")], kernel_shape=[1] * spatial)


@module(nn.LocalResponseNorm)
def _lrn(g, op):
    """ONNX ``LRN`` sums channels ``c - (n-1)//2 .. c + n//2``, PyTorch ``c - n//2 .. c + (n-1)//2``: the
    same window for odd ``n``; even ``n`` is written out with a band-matrix conv."""
    m, x = op.target, _x(g, op)
    n = int(m.size)
    if n % 2:
        return g.node("LRN", [x], size=n, alpha=float(m.alpha), beta=float(m.beta), bias=float(m.k))
    shape = op.inputs[0].shape
    s = _channel_window_sum(g, g.node("Mul", [x, x]), shape[1], n // 2, (n - 1) // 2, len(shape) - 2)
    div = g.node("Add", [g.node("Mul", [s, g.scalar(m.alpha / n)]), g.scalar(m.k)])
    return g.node("Div", [x, g.node("Pow", [div, g.scalar(m.beta)])])


@module(nn.LocalContrastNorm)
def _lcn(g, op):
    """Local contrast norm composed of ONNX ops, the formula of ``F.local_contrast_norm``:
    Gaussian local mean over all maps subtracted, divided by max(local std, its image mean)."""
    m, shape = op.target, op.inputs[0].shape
    if len(shape) != 4:
        raise ValueError(f"onnx.export: local contrast norm '{op.module_name}' needs a 4-D input, got {shape}")
    k = int(m.kernel_size)
    sigma = k / 4 if m.sigma is None else float(m.sigma)
    w1 = np.asarray(_gaussian_window(k, sigma), dtype=np.float64)
    kernel = np.outer(w1, w1).astype(np.float32)[None, None]     # (1, 1, k, k), sums to 1
    before, after = (k - 1) // 2, k - 1 - (k - 1) // 2
    H, W = shape[2:]
    ones = np.pad(np.ones((H, W)), ((before, after), (before, after)))
    coverage = np.zeros((H, W))
    for i in range(k):
        for j in range(k):
            coverage += kernel[0, 0, i, j] * ones[i:i + H, j:j + W]
    kname, cov = g.const(kernel, "gaussian"), g.const(coverage.astype(np.float32)[None, None], "coverage")

    def blur(t):  # zero-padded Gaussian, renormalised by the weight inside the image
        y = g.node("Conv", [t, kname], kernel_shape=[k, k], pads=[before, before, after, after])
        return g.node("Div", [y, cov])

    x = _x(g, op)
    mean = blur(g.reduce("ReduceMean", x, [1], True))                               # (N, 1, H, W)
    v = g.node("Sub", [x, mean])
    var = blur(g.reduce("ReduceMean", g.node("Mul", [v, v]), [1], True))
    sd = g.node("Sqrt", [g.node("Add", [var, g.scalar(float(m.eps) ** 2)])])
    floor = g.reduce("ReduceMean", sd, [2, 3], True)                                # (N, 1, 1, 1)
    return g.node("Div", [v, g.node("Max", [sd, floor])])


def _unary(onnx_op, **attrs):
    return lambda g, op: g.node(onnx_op, [_x(g, op)], **{k: v(op.target) for k, v in attrs.items()})


MODULES.update({
    nn.ReLU: _unary("Relu"), nn.Sigmoid: _unary("Sigmoid"), nn.Tanh: _unary("Tanh"), nn.Abs: _unary("Abs"),
    nn.LeakyReLU: _unary("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
    nn.ELU: _unary("Elu", alpha=lambda m: float(m.alpha)),
    nn.CELU: _unary("Celu", alpha=lambda m: float(m.alpha)),
    nn.SELU: _unary("Selu", alpha=lambda m: 1.6732632423543772, gamma=lambda m: 1.0507009873554805),
    nn.Hardsigmoid: _unary("HardSigmoid", alpha=lambda m: 1 / 6, beta=lambda m: 0.5),
    nn.Hardswish: _unary("HardSwish"), nn.Softsign: _unary("Softsign"),
    nn.Softshrink: _unary("Shrink", lambd=lambda m: float(m.lambd), bias=lambda m: float(m.lambd)),
    nn.Hardshrink: _unary("Shrink", lambd=lambda m: float(m.lambd)),
    nn.Softmax: _unary("Softmax", axis=lambda m: int(m.dim)),
    nn.LogSoftmax: _unary("LogSoftmax", axis=lambda m: int(m.dim)),
    nn.Identity: _unary("Identity"), nn.Dropout: _unary("Identity"), nn.Dropout1d: _unary("Identity"),
    nn.Dropout2d: _unary("Identity"), nn.Dropout3d: _unary("Identity"),
})


@module(nn.Hardtanh, nn.ReLU6)
def _hardtanh(g, op):
    m = op.target
    return g.node("Clip", [_x(g, op), g.scalar(m.min_val), g.scalar(m.max_val)])


@module(nn.Softplus)
def _softplus_m(g, op):
    return _softplus(g, _x(g, op), op.target.beta)


@module(nn.GELU)
def _gelu_m(g, op):
    return _gelu(g, _x(g, op), op.target.approximate)


@module(nn.SiLU)
def _silu(g, op):
    x = _x(g, op)
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


@module(nn.Mish)
def _mish(g, op):
    x = _x(g, op)
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])])


@module(nn.Tanhshrink)
def _tanhshrink(g, op):
    x = _x(g, op)
    return g.node("Sub", [x, g.node("Tanh", [x])])


@module(nn.LogSigmoid)
def _logsigmoid(g, op):  # log(sigmoid(x)) = -softplus(-x)
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [_x(g, op)])])])


@module(nn.Softmin)
def _softmin(g, op):
    return g.node("Softmax", [g.node("Neg", [_x(g, op)])], axis=int(op.target.dim))


@module(nn.Threshold)
def _threshold(g, op):
    m, x = op.target, _x(g, op)
    dt = op.inputs[0]._data.dtype
    keep = g.node("Greater", [x, g.scalar(m.threshold, dt)])
    return g.node("Where", [keep, x, g.scalar(m.value, dt)])


@module(nn.PReLU)
def _prelu(g, op):
    m, rank = op.target, len(op.inputs[0].shape)
    slope = m.weight._data
    if slope.size > 1 and rank > 2:  # one slope per channel (dim 1): broadcast as (C, 1, ..., 1)
        slope = slope.reshape((-1,) + (1,) * (rank - 2))
    return g.node("PRelu", [_x(g, op), g.const(slope, g.param_names.get(id(m.weight), "slope"))])


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@module(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def _conv_layer(g, op):
    """A conv layer: ``Conv`` with its (possibly asymmetric, 'same') zero padding, or ``Pad``
    in reflect / edge / wrap mode followed by an unpadded ``Conv`` for the other padding modes."""
    m, x = op.target, _x(g, op)
    n = len(m.kernel_size)
    rev = m._reversed_padding_repeated_twice               # (left, right) pairs, last dim first
    pairs = [(rev[2 * i], rev[2 * i + 1]) for i in reversed(range(n))]
    pads = [a for a, _ in pairs] + [b for _, b in pairs]
    if m.padding_mode != "zeros" and any(pads):
        mode = _PAD_MODES[m.padding_mode]
        if mode == "wrap" and g.opset < 19:
            raise ValueError(f"onnx.export: circular padding (in module '{op.module_name}') needs opset_version >= 19")
        full = [0, 0] + pads[:n] + [0, 0] + pads[n:]
        x = g.node("Pad", [x, g.ints(full, "pads")], mode=mode)
        pads = [0] * 2 * n
    ins = [x, g.param(m.weight)] + ([g.param(m.bias)] if m.bias is not None else [])
    return g.node("Conv", ins, kernel_shape=list(m.kernel_size), strides=list(m.stride), pads=pads,
                  dilations=list(m.dilation), group=int(m.groups))


@module(nn.Embedding)
def _embedding(g, op):
    """Rows of the table: ``Gather(weight, ids, axis=0)`` (``max_norm`` renormalises at lookup: refused)."""
    m = op.target
    if getattr(m, "max_norm", None) is not None:
        raise ValueError(f"onnx.export: embedding '{op.module_name}' with max_norm is not supported")
    return g.node("Gather", [g.param(m.weight), _x(g, op)], axis=0)
