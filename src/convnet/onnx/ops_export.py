"""Export rules of the primitives (``convnet.ops`` Functions), the registries, and (in
:mod:`convnet.onnx.ops_layers`) the rules of the layers exported whole (conv layers, batch norm,
LRN, local contrast norm, every activation module).

A rule receives the :class:`~convnet.onnx.graph.Graph` and the traced
:class:`~convnet.onnx.trace.Op` and returns the name of the ONNX value that holds the op's
output. Operator meanings follow the ONNX operator specification (opset 17 unless noted).
"""
from __future__ import annotations

import math

import numpy as np


PRIMITIVES = {}   # Function class name -> rule
MODULES = {}      # Module class -> rule


def primitive(*names):
    def deco(fn):
        for n in names:
            PRIMITIVES[n] = fn
        return fn
    return deco


def module(*classes):
    def deco(fn):
        for c in classes:
            MODULES[c] = fn
        return fn
    return deco


def _x(g, op, i=0):
    return g.value(op.inputs[i])


def _pads(padding):
    """((lo, hi), ...) or (p, ...) -> ONNX ``pads`` [lo_1, ..., lo_n, hi_1, ..., hi_n]."""
    pairs = [(p, p) if isinstance(p, (int, np.integer)) else tuple(p) for p in padding]
    return [int(a) for a, _ in pairs] + [int(b) for _, b in pairs]


# ---------------------------------------------------------------------- convolution and pooling
@primitive("ConvNd")
def _conv(g, op):
    p = op.params
    w = op.inputs[1]
    ins = [_x(g, op), g.value(w)] + ([g.value(op.inputs[2])] if len(op.inputs) > 2 and op.inputs[2] is not None
                                     else [])
    return g.node("Conv", ins, kernel_shape=list(w.shape[2:]), strides=list(p["stride"]),
                  pads=_pads(p["padding"]), dilations=list(p["dilation"]), group=int(p["groups"]))


@primitive("ConvTransposeNd")
def _conv_t(g, op):
    p = op.params
    w = op.inputs[1]
    ins = [_x(g, op), g.value(w)] + ([g.value(op.inputs[2])] if len(op.inputs) > 2 and op.inputs[2] is not None
                                     else [])
    return g.node("ConvTranspose", ins, kernel_shape=list(w.shape[2:]), strides=list(p["stride"]),
                  pads=_pads(p["padding"]), output_padding=list(p["output_padding"]),
                  dilations=list(p["dilation"]), group=int(p["groups"]))


def _pool_size(n, k, s, p, d, ceil_mode):
    """Output length with PyTorch's rule (a ceil-mode window must start inside input + left pad)."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _ceil_pads(shape, k, s, p, d, ceil_mode):
    """ONNX pads that give PyTorch's output size without ONNX's ``ceil_mode``: floor mode
    with extra padding at the end (filled like the pad: -inf for max, excluded for average)."""
    lo, hi = list(p), list(p)
    for i, n in enumerate(shape):
        want = _pool_size(n, k[i], s[i], p[i], d[i], ceil_mode)
        while _pool_size(n + lo[i] + hi[i] - 2 * p[i], k[i], s[i], p[i], d[i], False) < want:
            hi[i] += 1
    return lo + hi


@primitive("MaxPoolNd")
def _max_pool(g, op):
    p = op.params
    if p.get("indices_out"):
        raise ValueError(f"onnx.export: max pooling with return_indices=True (in module '{op.module_name}') "
                         "is not supported")
    k, s, d, pad = p["kernel_size"], p["stride"], p["dilation"], p["padding"]
    shape = op.inputs[0].shape[-len(k):]
    x = _x(g, op)
    if not p.get("largest", True):  # min pooling = -max_pool(-x)
        x = g.node("Neg", [x])
    y = g.node("MaxPool", [x], kernel_shape=list(k), strides=list(s), dilations=list(d),
               pads=_ceil_pads(shape, k, s, pad, d, p["ceil_mode"]))
    return y if p.get("largest", True) else g.node("Neg", [y])


@primitive("AvgPoolNd")
def _avg_pool(g, op):
    p = op.params
    k, s, pad = p["kernel_size"], p["stride"], p["padding"]
    nd = len(k)
    shape = op.inputs[0].shape[-nd:]
    x = _x(g, op)
    ceil = p["ceil_mode"]
    if p["count_include_pad"] or p["divisor_override"] is not None:
        # PyTorch divides by the window clipped to the padded input: pad explicitly with zeros,
        # then average with the ceil-mode overhang excluded from the count
        if any(pad):
            x = g.node("Pad", [x, g.ints([0, 0] + list(pad) + [0, 0] + list(pad), "pads")], mode="constant")
            shape = tuple(n + 2 * q for n, q in zip(shape, pad))
            pad = (0,) * nd
    pads = _ceil_pads(shape, k, s, pad, (1,) * nd, ceil)
    y = g.node("AveragePool", [x], kernel_shape=list(k), strides=list(s), pads=pads, count_include_pad=0)
    if p["divisor_override"] is not None:
        if ceil or any(p["padding"]) and not p["count_include_pad"]:
            raise ValueError(f"onnx.export: avg_pool with divisor_override and ceil_mode/padding (in module "
                             f"'{op.module_name}') is not supported")
        y = g.node("Mul", [y, g.scalar(math.prod(k) / p["divisor_override"])])
    return y


def _adaptive_matrix(n, o):
    """(o, n) averaging matrix of adaptive pooling: row i averages [floor(i n/o), ceil((i+1) n/o))."""
    a = np.zeros((o, n), dtype=np.float32)
    for i in range(o):
        lo, hi = (i * n) // o, -(-((i + 1) * n) // o)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


@primitive("AdaptiveAvgPoolNd")
def _adaptive_avg(g, op):
    out = [int(o) for o in op.params["output_size"]]
    nd = len(out)
    shape = op.inputs[0].shape[-nd:]
    x = _x(g, op)
    if all(o == 1 for o in out) and len(op.inputs[0].shape) == nd + 2:
        return g.node("GlobalAveragePool", [x])
    if all(n % o == 0 for n, o in zip(shape, out)):
        k = [n // o for n, o in zip(shape, out)]
        return g.node("AveragePool", [x], kernel_shape=k, strides=k)
    # separable: out = A_1 (x along axis 1) ... as MatMuls with constant (o, n) matrices
    rank = len(op.inputs[0].shape)
    for a, (n, o) in enumerate(zip(shape, out)):
        axis = rank - nd + a
        perm = list(range(rank))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        if axis != rank - 1:
            x = g.node("Transpose", [x], perm=perm)
        x = g.node("MatMul", [x, g.const(_adaptive_matrix(n, o).T, "adaptive")])  # (..., n) @ (n, o)
        if axis != rank - 1:
            x = g.node("Transpose", [x], perm=perm)
    return x


@primitive("AdaptiveMaxPoolNd")
def _adaptive_max(g, op):
    out = [int(o) for o in op.params["output_size"]]
    shape = op.inputs[0].shape[-len(out):]
    if all(o == 1 for o in out) and len(op.inputs[0].shape) == len(out) + 2:
        return g.node("GlobalMaxPool", [_x(g, op)])
    if any(n % o for n, o in zip(shape, out)):
        raise ValueError(f"onnx.export: adaptive max pooling from {tuple(shape)} to {tuple(out)} (in module "
                         f"'{op.module_name}') is only supported when the sizes divide")
    k = [n // o for n, o in zip(shape, out)]
    return g.node("MaxPool", [_x(g, op)], kernel_shape=k, strides=k)


# ---------------------------------------------------------------------- linear algebra
@primitive("Linear")
def _linear(g, op):
    x, w = op.inputs[0], op.inputs[1]
    bias = op.inputs[2] if len(op.inputs) > 2 else None
    if len(x.shape) == 2:
        ins = [g.value(x), g.value(w)] + ([g.value(bias)] if bias is not None else [])
        return g.node("Gemm", ins, transB=1)                        # x W^T + b
    y = g.node("MatMul", [g.value(x), g.node("Transpose", [g.value(w)], perm=[1, 0])])
    return g.node("Add", [y, g.value(bias)]) if bias is not None else y


@primitive("MatMul")
def _matmul(g, op):
    return g.node("MatMul", [_x(g, op, 0), _x(g, op, 1)])


# ---------------------------------------------------------------------- elementwise
for _name in ("Add", "Sub", "Mul", "Div", "Pow"):
    PRIMITIVES[_name] = (lambda t: lambda g, op: g.node(t, [_x(g, op, 0), _x(g, op, 1)]))(_name)
for _name, _onnx in (("Neg", "Neg"), ("Exp", "Exp"), ("Log", "Log"), ("Sqrt", "Sqrt"), ("Abs", "Abs"),
                     ("ReLU", "Relu"), ("Sigmoid", "Sigmoid"), ("Tanh", "Tanh")):
    PRIMITIVES[_name] = (lambda t: lambda g, op: g.node(t, [_x(g, op)]))(_onnx)


@primitive("LeakyReLU")
def _leaky(g, op):
    return g.node("LeakyRelu", [_x(g, op)], alpha=float(op.params.get("negative_slope", 0.01)))


@primitive("Softplus")
def _softplus_p(g, op):
    return _softplus(g, _x(g, op), op.params.get("beta", 1.0))


def _softplus(g, x, beta):
    if beta == 1:
        return g.node("Softplus", [x])
    return g.node("Div", [g.node("Softplus", [g.node("Mul", [x, g.scalar(beta)])]), g.scalar(beta)])


@primitive("GELU")
def _gelu_p(g, op):
    return _gelu(g, _x(g, op), "none")


def _gelu(g, x, approximate):
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [x3, g.scalar(0.044715)])]),
                               g.scalar(math.sqrt(2 / math.pi))])
        t = g.node("Tanh", [inner])
    elif g.opset >= 20:
        return g.node("Gelu", [x])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = g.node("Erf", [g.node("Mul", [x, g.scalar(1 / math.sqrt(2))])])
    return g.node("Mul", [g.node("Mul", [x, g.scalar(0.5)]), g.node("Add", [t, g.scalar(1.0)])])


@primitive("Softmax", "LogSoftmax")
def _softmax(g, op):
    return g.node(op.target.__name__, [_x(g, op)], axis=int(op.params.get("dim", -1)))


@primitive("Clip")
def _clip(g, op):
    lo, hi = op.params.get("lo"), op.params.get("hi")
    dt = op.inputs[0]._data.dtype
    return g.node("Clip", [_x(g, op), g.scalar(lo, dt) if lo is not None else "",
                           g.scalar(hi, dt) if hi is not None else ""])


@primitive("Cast")
def _cast(g, op):
    from onnx import helper
    to = helper.np_dtype_to_tensor_dtype(np.dtype(op.output._data.dtype))
    return g.node("Cast", [_x(g, op)], to=int(to))


@primitive("Dropout")
def _dropout(g, op):
    raise ValueError(f"onnx.export: dropout ran in training mode (in module '{op.module_name}'); "
                     "export puts the model in eval mode, so a functional dropout needs training=self.training")


# ---------------------------------------------------------------------- reductions
_REDUCE = {"Sum": "ReduceSum", "Mean": "ReduceMean"}


@primitive("Sum", "Mean", "Amax")
def _reduce(g, op):
    name = op.target.__name__
    onnx_op = _REDUCE.get(name) or ("ReduceMax" if op.params.get("largest", True) else "ReduceMin")
    axes = op.params.get("axes")
    if isinstance(axes, int):
        axes = (axes,)
    return g.reduce(onnx_op, _x(g, op), axes, op.params.get("keepdim", False))


# ---------------------------------------------------------------------- shapes and data movement
def _dynamic(op, key):
    """Positions where the recorded shape argument ``key`` changed in the second trace."""
    if op.other is None:
        return set()
    a, b = op.params[key], op.other.params[key]
    return {i for i, (u, v) in enumerate(zip(a, b)) if u != v}


@primitive("Reshape")
def _reshape(g, op):
    shape = [int(s) for s in op.params["shape"]]
    changed = _dynamic(op, "shape")
    if changed:
        ins, ins2 = op.inputs[0].shape, op.other.inputs[0].shape
        copy = {i for i in changed if i < len(ins) and ins[i] == shape[i]
                and ins2[i] == op.other.params["shape"][i] and all(ins[j] == shape[j] for j in range(i))}
        rest = changed - copy
        if len(rest) > 1 or (rest and -1 in shape):
            raise ValueError(f"onnx.export: a reshape to {tuple(shape)} (in module '{op.module_name}') changes "
                             "with the dynamic axes in more than one place; it cannot be exported")
        for i in copy:
            shape[i] = 0      # ONNX: copy the input's size
        for i in rest:
            shape[i] = -1     # ONNX: infer
    return g.node("Reshape", [_x(g, op), g.ints(shape)])


@primitive("Permute")
def _permute(g, op):
    return g.node("Transpose", [_x(g, op)], perm=[int(d) for d in op.params["dims"]])


@primitive("Expand")
def _expand(g, op):
    shape = [int(s) for s in op.params["shape"]]
    ins = op.inputs[0].shape
    lead = len(shape) - len(ins)
    for i in _dynamic(op, "shape"):
        if i >= lead and ins[i - lead] == shape[i]:
            shape[i] = 1      # broadcasting keeps the input's (dynamic) size
        else:
            raise ValueError(f"onnx.export: an expand to {tuple(shape)} (in module '{op.module_name}') follows a "
                             "dynamic axis; it cannot be exported")
    return g.node("Expand", [_x(g, op), g.ints(shape)])


@primitive("Cat")
def _cat(g, op):
    return g.node("Concat", [g.value(t) for t in op.inputs], axis=int(op.params.get("dim", 0)))


@primitive("Pad")
def _pad(g, op):
    pairs = op.params["pads"]
    pads = [int(b) for b, _ in pairs] + [int(e) for _, e in pairs]
    value = g.scalar(op.params.get("value", 0.0), op.inputs[0]._data.dtype)
    return g.node("Pad", [_x(g, op), g.ints(pads, "pads"), value], mode="constant")


@primitive("GetItem")
def _getitem(g, op):
    """Basic indexing (ints, slices, None, ...) as Slice + Squeeze + Unsqueeze."""
    idx = op.params["idx"]
    idx = idx if isinstance(idx, tuple) else (idx,)
    rank = len(op.inputs[0].shape)
    if any(p is Ellipsis for p in idx):
        e = idx.index(Ellipsis)
        fill = rank - sum(1 for p in idx if p is not None and p is not Ellipsis)
        idx = idx[:e] + (slice(None),) * fill + idx[e + 1:]
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    axis, out_axis = 0, 0
    for p in idx:
        if p is None:
            new.append(out_axis)
            out_axis += 1
            continue
        if isinstance(p, (int, np.integer)):
            n = op.inputs[0].shape[axis]
            i = int(p) % n
            starts.append(i), ends.append(i + 1), axes.append(axis), steps.append(1)
            drop.append(axis)
        elif isinstance(p, slice):
            if p != slice(None):
                step = 1 if p.step is None else int(p.step)
                big = np.iinfo(np.int64).max
                start = p.start if p.start is not None else (0 if step > 0 else -1)
                end = p.stop if p.stop is not None else (big if step > 0 else -big)
                starts.append(int(start)), ends.append(int(end)), axes.append(axis), steps.append(step)
            out_axis += 1
        else:
            raise ValueError(f"onnx.export: indexing with {type(p).__name__} (in module '{op.module_name}') is "
                             "not supported; only ints, slices, None and ... are")
        axis += 1
    y = _x(g, op)
    if axes:
        y = g.node("Slice", [y, g.ints(starts, "starts"), g.ints(ends, "ends"), g.ints(axes, "axes"),
                             g.ints(steps, "steps")])
    if drop:
        y = g.squeeze(y, drop)
    if new:
        y = g.unsqueeze(y, new)
    if not (axes or drop or new):
        y = g.node("Identity", [y])
    return y


from . import ops_layers  # noqa: E402,F401  (registers the layer rules)
