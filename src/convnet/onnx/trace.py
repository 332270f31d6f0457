"""Record what one forward pass executes: the primitives (``Function.apply`` calls) and the
layers that have an export rule of their own (a BatchNorm, an LRN, an activation), in order.

This is tracing as ``torch.jit.trace`` does it: run the model once on example inputs and keep
the executed operations with their arguments. Python control flow is frozen at the example;
shapes in the recorded arguments are concrete (``export`` traces twice to find the ones that
follow a dynamic axis).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from .. import autograd
from ..tensor import Tensor


@dataclass
class Op:
    """One executed operation: a primitive ``Function`` subclass or a whole ``Module``."""
    target: object                # Function subclass, or the Module instance
    inputs: list                  # Tensors (or None for an absent optional input)
    params: dict                  # keyword arguments of the primitive; {} for a module
    output: object                # the output Tensor
    module_name: str = ""         # qualified name of the module the op ran in
    other: "Op" = field(default=None, repr=False)  # the same op in the second trace


@dataclass
class Trace:
    inputs: list
    outputs: list
    ops: list
    keep: list                    # every Tensor seen, so their ids stay unique


@contextlib.contextmanager
def _recording(model, module_rules):
    """Hooks on the modules that have a rule, ``Function.apply`` patched for the rest."""
    ops, keep, stack = [], [], []
    names = {id(m): n for n, m in model.named_modules()}
    handles = []

    def pre(mod, args):
        stack.append(mod)

    def post(mod, args, out):
        stack.pop()
        if not any(type(m) in module_rules for m in stack):  # outermost rule module only
            keep.extend(args)
            keep.append(out)
            ops.append(Op(mod, list(args), {}, out, names.get(id(mod), "")))

    current = []  # name of the innermost module being run, for node names

    def enter(mod, args):
        current.append(names.get(id(mod), ""))

    def leave(mod, args, out):
        current.pop()

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(enter))
        handles.append(m.register_forward_hook(leave))
        if type(m) in module_rules:
            handles.append(m.register_forward_pre_hook(pre))
            handles.append(m.register_forward_hook(post))

    original = autograd.Function.__dict__["apply"]

    def apply(cls, *inputs, **params):
        out = original.__func__(cls, *inputs, **params)
        if not any(type(m) in module_rules for m in stack):
            keep.extend(inputs)
            keep.append(out)
            ops.append(Op(cls, list(inputs), dict(params), out, current[-1] if current else ""))
        return out

    autograd.Function.apply = classmethod(apply)
    try:
        yield ops, keep
    finally:
        autograd.Function.apply = original
        for h in handles:
            h.remove()


def trace(model, args, module_rules):
    """Run ``model(*args)`` once and return the :class:`Trace` of what ran."""
    with _recording(model, module_rules) as (ops, keep):
        out = model(*args)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise ValueError(f"onnx.export: the model must return a Tensor or a tuple of Tensors, "
                             f"got {type(o).__name__}")
    return Trace(list(args), outs, ops, keep + outs + list(args))
