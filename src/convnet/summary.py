"""Layer-by-layer summary of a network: output shapes, parameters, MACs and receptive fields.

    import convnet as cn
    s = cn.summary(cn.models.get("lenet5"), (1, 32, 32))
    print(s)                      # a Keras-style table
    s.total_params, s.total_macs  # 61706, 416520
    s.rows[0].output_shape        # (1, 6, 28, 28)

``summary`` runs one forward pass (eval mode, batch 1 unless the shape has a batch dimension)
with forward hooks on every leaf module (a module without children) and records one row per
call, in execution order. A module called twice (e.g. a ResNet block's shared ``relu``) gives
two rows; its parameters are counted on the first.

**MACs** (multiply-accumulates, per sample; bias additions are not counted):

- convolution: ``C_out · H_out · W_out · (C_in/groups) · kH · kW``
- transposed convolution: ``C_in · H_in · W_in · (C_out/groups) · kH · kW``
- linear: ``in_features · out_features`` (times any extra leading dims)
- pooling, batch norm, activations, dropout, flatten and the tensor ops between modules
  (``+``, ``cat``): 0, as is conventional (they are cheap next to the convolutions).

**Receptive field** (``shapes.receptive_field``): tracked per tensor, not per row. Each leaf
output remembers the chain of ``(kernel, stride, dilation)`` layers behind it; a tensor made
by an operation between modules (``+`` in a residual block, ``cat`` in an Inception module)
inherits the largest receptive field among the tensors it was computed from (found through
the autograd graph). Convolutions and pools add their kernel; adaptive pooling adds its
largest window; ``Flatten`` (and so a following ``Linear``) covers its whole input map;
element-wise and channel-wise layers leave the field unchanged. Rows show the receptive
field of the row's output, in input pixels (it may exceed the image when padding is used).

``main_summary(name, input_shape=None)`` builds a registered model and returns the table as
a string (the ``convnet summary`` command).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .autograd import enable_grad
from .shapes import adaptive_bounds, ntuple, receptive_field
from .tensor import Tensor


@dataclass
class SummaryRow:
    """One call of one leaf module.

    ``receptive_field`` is an int when equal along H and W, else ``(r_H, r_W)``; ``jump`` is
    the distance in input pixels between neighbouring outputs (the product of the strides).
    """

    name: str
    type: str
    input_shape: tuple
    output_shape: tuple
    params: int
    macs: int
    receptive_field: object = None
    jump: object = None


@dataclass
class ModelSummary:
    """What :func:`summary` returns; ``str()`` gives the table."""

    model_name: str
    input_shape: tuple
    output_shape: tuple
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0

    @property
    def non_trainable_params(self):
        return self.total_params - self.trainable_params

    def __str__(self):
        return format_table(self)

    def __repr__(self):
        return (f"ModelSummary({self.model_name}, input {self.input_shape}, {len(self.rows)} rows, "
                f"{self.total_params:,} params, {self.total_macs:,} MACs)")


# ---------------------------------------------------------------------------- geometry
def _layer_geometry(module, in_shape, out_shape):
    """``[(k, s, d)]`` per spatial axis for the receptive-field chain, or None (unchanged).

    ``in_shape`` / ``out_shape`` include the batch dimension.
    """
    kind = type(module).__name__
    n_sp = len(in_shape) - 2
    if kind == "Flatten":
        if n_sp >= 1 and module.start_dim in (1, -len(in_shape) + 1):
            return [(n, n, 1) for n in in_shape[2:]]  # one window over the whole map
        return None
    if n_sp < 1 or len(out_shape) != len(in_shape):
        return None
    if "Adaptive" in kind:
        return [(max(b - a for a, b in adaptive_bounds(n_in, n_out)), max(1, n_in // n_out), 1)
                for n_in, n_out in zip(in_shape[2:], out_shape[2:])]
    k = getattr(module, "kernel_size", None)
    if k is None or "Transpose" in kind:
        return None
    k = ntuple(k, n_sp, "kernel_size", "summary")
    stride = getattr(module, "stride", 1)  # no stride attribute (e.g. LocalContrastNorm): 1
    s = ntuple(k if stride is None else stride, n_sp, "stride", "summary")  # pools: None = k
    d = ntuple(getattr(module, "dilation", 1) or 1, n_sp, "dilation", "summary")
    return list(zip(k, s, d))


def _macs(module, in_shape, out_shape):
    """Multiply-accumulates per sample (see the module docstring)."""
    w = getattr(module, "weight", None)
    kind = type(module).__name__
    if kind == "LSTM":  # per step and layer: 4 gates of H units, each reading the layer's input and h
        steps = in_shape[1] if module.batch_first else in_shape[0]
        d = 2 if module.bidirectional else 1
        sizes = [module.input_size] + [d * module.hidden_size] * (module.num_layers - 1)
        return d * steps * sum(4 * module.hidden_size * (i + module.hidden_size) for i in sizes)
    if not isinstance(w, Tensor) or "Norm" in kind:
        return 0
    per_out = int(np.prod(out_shape[1:]))
    if w.ndim >= 3 and hasattr(module, "groups"):  # convolution
        if "Transpose" in kind:
            return int(np.prod(in_shape[1:])) * int(np.prod(w.shape[1:]))
        return per_out * int(np.prod(w.shape[1:]))  # (C_out H W) · (C_in/g kH kW)
    if w.ndim == 2 and (kind == "Linear" or hasattr(module, "in_features")):
        return per_out * int(w.shape[1])  # out · in (per extra leading dim)
    return 0


class _RFTracker:
    """Receptive-field chains per tensor, with graph lookup for tensors made between modules."""

    def __init__(self, x, n_sp):
        self.n_sp = n_sp
        self.chains = {id(x): tuple(() for _ in range(n_sp))}
        self.keep = [x]  # keep tensors alive so their ids stay unique

    def chain_of(self, t):
        """Chain of ``t``; unknown tensors take the largest among their graph ancestors."""
        if id(t) in self.chains:
            return self.chains[id(t)]
        best = None
        ctx = getattr(t, "grad_fn", None)
        for p in getattr(ctx, "parents", ()) if ctx is not None else ():
            if isinstance(p, Tensor) and (id(p) in self.chains or p.grad_fn is not None):
                c = self.chain_of(p)
                if best is None or self._bigger(c, best):
                    best = c
        if best is None:  # not reachable from the input (a constant): no spatial extent
            best = tuple(() for _ in range(self.n_sp))
        self.chains[id(t)] = best
        self.keep.append(t)
        return best

    @staticmethod
    def _bigger(a, b):
        ra = [receptive_field(c) for c in a]
        rb = [receptive_field(c) for c in b]
        return ra > rb

    def record(self, inp, out, geometry):
        chain = self.chain_of(inp)
        if geometry is not None:
            chain = tuple(c + (g,) for c, g in zip(chain, geometry))
        self.chains[id(out)] = chain
        self.keep.append(out)
        rj = [receptive_field(c) for c in chain]
        r = tuple(v[0] for v in rj)
        j = tuple(v[1] for v in rj)
        return (_squash(r), _squash(j)) if rj else (None, None)


def _squash(v):
    """``(5, 5) -> 5``; ``(5, 3)`` stays a tuple."""
    return v[0] if len(set(v)) == 1 else v


def _first_tensor(obj):
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (tuple, list)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


# ---------------------------------------------------------------------------- summary
def summary(model, input_shape, dtype=np.float32):
    """Run one forward pass of ``model`` and tabulate every leaf module call.

    Args:
        model: a ``convnet.nn.Module``.
        input_shape: ``(C, H, W)`` (batch 1 is added) or ``(N, C, H, W)``; any rank works
            (``(features,)`` for an MLP).
        dtype: input dtype (float32); an integer dtype feeds token ids (all 1: a sentence with no padding)
            to a text model, ``(N, L)``.

    Returns:
        :class:`ModelSummary` with ``rows`` (``name, type, output_shape, params, macs,
        receptive_field``), ``total_params``, ``trainable_params`` and ``total_macs`` (per
        sample). The model's train/eval modes are restored afterwards.

    Example:
        >>> import convnet as cn
        >>> s = cn.summary(cn.models.get("lenet5"), (1, 32, 32))
        >>> s.total_params, s.total_macs
        (61706, 416520)
    """
    from .nn import Module

    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be a convnet.nn.Module, got {type(model).__name__}")
    shape = _parse_shape(input_shape, "summary")
    if len(shape) in (1, 3):
        shape = (1,) + shape
    if np.issubdtype(np.dtype(dtype), np.integer):  # token ids: no gradient flows into them
        x = Tensor(np.ones(shape, dtype=dtype))
    else:
        x = Tensor(np.zeros(shape, dtype=dtype))
        x.requires_grad_(True)  # record the graph so tensors made between modules can be traced
    tracker = _RFTracker(x, max(0, len(shape) - 2))

    names = {id(m): n for n, m in model.named_modules()}
    rows, counted, handles = [], set(), []

    def hook(module, inputs, output):
        inp, out = _first_tensor(inputs), _first_tensor(output)
        if inp is None or out is None:
            return
        params = 0
        if id(module) not in counted:
            counted.add(id(module))
            params = sum(p._data.size for p in module.parameters())
        geom = _layer_geometry(module, inp.shape, out.shape)
        r, j = tracker.record(inp, out, geom)
        # a layer run on frames folded into the batch ((N T, C, H, W) in a video model) does T times the work
        fold = inp.shape[0] // shape[0] if inp.ndim and inp.shape[0] % shape[0] == 0 else 1
        rows.append(SummaryRow(names.get(id(module), type(module).__name__), type(module).__name__,
                               tuple(inp.shape), tuple(out.shape), int(params),
                               fold * _macs(module, inp.shape, out.shape), r, j))

    modes = {id(m): m.training for m in model.modules()}
    for m in model.modules():
        if not any(True for _ in m.children()):
            handles.append(m.register_forward_hook(hook))
    try:
        model.eval()
        with enable_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
        for m in model.modules():
            object.__setattr__(m, "training", modes[id(m)])

    out_t = _first_tensor(out)
    params = {id(p): p for p in model.parameters()}.values()
    return ModelSummary(
        model_name=type(model).__name__, input_shape=shape,
        output_shape=tuple(out_t.shape) if out_t is not None else (),
        rows=rows,
        total_params=int(sum(p._data.size for p in params)),
        trainable_params=int(sum(p._data.size for p in params if p.requires_grad)),
        total_macs=int(sum(r.macs for r in rows)),
    )


def _parse_shape(shape, fn, name="input_shape"):
    """``"3,224,224"`` / ``(3, 224, 224)`` -> a tuple of positive ints; errors say ``fn: name ...``."""
    if isinstance(shape, str):
        try:
            shape = tuple(int(v) for v in shape.replace("x", ",").split(",") if v.strip())
        except ValueError:
            raise ValueError(f"{fn}: {name} must look like '3,224,224', got {shape!r}") from None
    try:
        shape = tuple(int(v) for v in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {name} must be a tuple of ints like (3, 224, 224), "
                        f"got {shape!r}") from None
    if not shape or any(v < 1 for v in shape):
        raise ValueError(f"{fn}: {name} must be positive ints like (3, 224, 224), got {shape!r}")
    return shape


# ---------------------------------------------------------------------------- table
def human(n):
    """``15_470_264_320 -> '15.47 G'``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def format_table(s):
    """The Keras-style table for a :class:`ModelSummary`."""
    def fmt_rf(v):
        if v is None:
            return "-"
        return str(v) if isinstance(v, int) else "x".join(map(str, v))

    header = ("Layer (type)", "Output shape", "Param #", "MACs", "RF")
    body = [(f"{r.name} ({r.type})", str(tuple(r.output_shape)), f"{r.params:,}",
             f"{r.macs:,}" if r.macs else "0", fmt_rf(r.receptive_field)) for r in s.rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]

    def line(cells):
        first = cells[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])])

    total_w = sum(widths) + 2 * (len(widths) - 1)
    act_bytes = sum(math.prod(r.output_shape) for r in s.rows) * 4
    out = [f"Model: {s.model_name}    input {tuple(s.input_shape)} -> output {tuple(s.output_shape)}",
           "=" * total_w, line(header), "=" * total_w]
    out += [line(b) for b in body]
    out += ["=" * total_w,
            f"Total params: {s.total_params:,}",
            f"Trainable params: {s.trainable_params:,}",
            f"Non-trainable params: {s.non_trainable_params:,}",
            f"Total MACs (per sample): {s.total_macs:,} ({human(s.total_macs)})",
            f"Parameter memory (float32): {s.total_params * 4 / 2**20:.2f} MiB; "
            f"layer outputs: {act_bytes / 2**20:.2f} MiB",
            "-" * total_w]
    return "\n".join(out)


MAX_SUMMARY_BYTES = 4 << 30  # refuse a summary whose layer outputs would need more than 4 GiB


def _fmt_bytes(n):
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


def estimate_output_bytes(name, input_shape, num_classes=None, **options):
    """Estimated float32 bytes of all layer outputs of model ``name`` at ``input_shape`` (C, H, W).

    Computed without allocating them: the model's summary at its default input shape, scaled by
    the ratio of input pixels (convolutional activations grow with the input area), plus the input.
    """
    from . import models

    base = models.default_input_shape(name)
    c, h, w = input_shape
    pixels, base_pixels = math.prod(input_shape), math.prod(base)
    if pixels <= base_pixels:
        probe_bytes = None  # no larger than the default: bounded by the default's cost
    else:
        model = models.get(name, num_classes=num_classes, in_channels=base[0], **options)
        probe = summary(model, base)
        probe_bytes = sum(math.prod(r.output_shape) for r in probe.rows) * 4
    scale = (h * w) / (base[1] * base[2])
    return 4 * pixels + (0 if probe_bytes is None else int(probe_bytes * scale))


def main_summary(name, input_shape=None, num_classes=None, max_bytes=MAX_SUMMARY_BYTES, arg="input_shape",
                 **options):
    """Build the registered model ``name`` and return its summary table as a string.

    ``input_shape`` (``(C, H, W)``, or a string ``"3,224,224"``) defaults to
    ``models.default_input_shape(name)``; ``in_channels`` follows its C. ``num_classes``
    defaults to the paper's (1000 for the ImageNet networks, 10 for the CIFAR/MNIST ones).

    Raises:
        ValueError naming ``arg`` (the CLI passes ``"--input-shape"``): not three positive ints
        ``C,H,W``; layer outputs estimated (:func:`estimate_output_bytes`) above ``max_bytes``
        (checked before anything is allocated); or a shape the model cannot take.
    """
    from . import models

    if input_shape is None:
        shape = models.default_input_shape(name)
    else:
        shape = _parse_shape(input_shape, "summary", arg)
        if len(shape) != 3:
            raise ValueError(f"summary: {arg} must be C,H,W (three positive ints, e.g. 3,224,224), "
                             f"got {input_shape if isinstance(input_shape, str) else shape!r}")
        need = estimate_output_bytes(name, shape, num_classes, **options)
        if need > max_bytes:
            raise ValueError(f"summary: {arg} {','.join(map(str, shape))} is too large: {name}'s layer outputs "
                             f"would need about {_fmt_bytes(need)} (the input alone {_fmt_bytes(4 * math.prod(shape))}"
                             f"), more than the {_fmt_bytes(max_bytes)} limit")
    model = models.get(name, num_classes=num_classes, in_channels=shape[0], **options)
    from .nn import Embedding

    if any(isinstance(m, Embedding) for m in model.modules()):  # a text model reads token ids (N, L)
        return str(summary(model, shape, dtype=np.int64))
    if input_shape is None:
        return str(summary(model, shape))
    try:
        return str(summary(model, shape))
    except (ValueError, RuntimeError, MemoryError) as e:  # ShapeError is both
        raise ValueError(f"summary: {arg} {','.join(map(str, shape))} does not fit {name} (designed for "
                         f"{','.join(map(str, models.default_input_shape(name)))}): {e}") from None


class _CallableModule(__import__("types").ModuleType):
    """``convnet.summary`` is both this module and the function: importing the submodule
    rebinds the package attribute ``convnet.summary`` to the module, so the module is made
    callable to keep ``cn.summary(model, shape)`` working either way."""

    def __call__(self, model, input_shape, dtype=np.float32):
        return summary(model, input_shape, dtype)


__import__("sys").modules[__name__].__class__ = _CallableModule
