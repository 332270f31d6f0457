"""``convnet.onnx.export``: write a model as an ONNX file, with ``torch.onnx.export``'s signature.

The story: put the model in eval mode, trace one forward pass (twice when some axes are
dynamic, to see which recorded shapes follow them), turn every recorded operation into ONNX
nodes with its export rule, name the weights by their state-dict keys, check the model with
``onnx.checker`` and write it atomically.
"""
from __future__ import annotations

import numpy as np

from .. import autograd
from ..tensor import Tensor
from . import ops_export
from ._deps import require_onnx
from .graph import Graph
from .trace import trace


def _as_tuple(args):
    args = args if isinstance(args, (tuple, list)) else (args,)
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            raise TypeError(f"onnx.export: args[{i}] must be a convnet Tensor, got {type(a).__name__}")
    return tuple(args)


def _dynamic_axes(dynamic_axes, names):
    """{name: {axis: dim name}} from torch's forms ({name: [axes]} or {name: {axis: label}})."""
    out = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is not an input or output name "
                             f"(names are {names})")
        if isinstance(axes, dict):
            out[name] = {int(a): str(label) for a, label in axes.items()}
        else:
            out[name] = {int(a): f"{name}_dynamic_axes_{int(a) + 1}" for a in axes}
    return out


def _grown(x, axes):
    """``x`` with each axis in ``axes`` one longer (its last slice repeated): the second trace's input."""
    data = x._data
    for a in axes:
        data = np.concatenate([data, np.take(data, [-1], axis=a)], axis=a)
    return Tensor(data)


def _trace_pair(main, model, args, input_names, dyn):
    """Trace again with every dynamic input axis one longer and pair each op with its twin."""
    moved = {i: list(dyn.get(n, {})) for i, n in enumerate(input_names)}
    if not any(moved.values()):
        return main
    args2 = tuple(_grown(a, moved.get(i, [])) for i, a in enumerate(args))
    try:
        second = trace(model, args2, ops_export.MODULES)
    except (ValueError, RuntimeError) as e:
        raise ValueError(f"onnx.export: the model does not run when a dynamic axis changes size ({e}); "
                         "make fewer axes dynamic") from None
    if [o.target for o in main.ops] != [o.target for o in second.ops]:
        raise ValueError("onnx.export: the model runs different operations for a different size of a "
                         "dynamic axis (data-dependent control flow); it cannot be traced")
    for a, b in zip(main.ops, second.ops):
        a.other = b
    return main


def _value_info(onnx, name, t, axes):
    shape = [axes.get(i, int(s)) for i, s in enumerate(t.shape)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(t._data.dtype))
    return onnx.helper.make_tensor_value_info(name, elem, shape)


def build_model(model, args, input_names=None, output_names=None, dynamic_axes=None, opset_version=17):
    """The ``onnx.ModelProto`` for ``model(*args)`` (see :func:`export`)."""
    onnx = require_onnx("export")
    if opset_version < 17:
        raise ValueError(f"onnx.export: opset_version must be at least 17, got {opset_version}")
    args = _as_tuple(args)
    input_names = list(input_names or [f"input{i}" if len(args) > 1 else "input" for i in range(len(args))])
    if len(input_names) != len(args):
        raise ValueError(f"onnx.export: {len(input_names)} input_names for {len(args)} inputs")
    was_training = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        return _build(onnx, model, args, input_names, output_names, dynamic_axes, opset_version)
    finally:
        for m, mode in was_training:
            m.training = mode


def _build(onnx, model, args, input_names, output_names, dynamic_axes, opset_version):
    for name, m in model.named_modules():  # a layer that knows a trace would freeze part of it says so
        why = getattr(m, "onnx_export_error", None)
        if why:
            raise ValueError(f"onnx.export: module '{name or '<model>'}' cannot be traced: {why}")
    with autograd.no_grad():
        first = trace(model, args, ops_export.MODULES)
        output_names = list(output_names or [f"output{i}" if len(first.outputs) > 1 else "output"
                                             for i in range(len(first.outputs))])
        if len(output_names) != len(first.outputs):
            raise ValueError(f"onnx.export: {len(output_names)} output_names for {len(first.outputs)} outputs")
        dyn = _dynamic_axes(dynamic_axes, input_names + output_names)
        tr = _trace_pair(first, model, args, input_names, dyn) if dyn else first

    params = {id(t): k for k, t in list(model.named_parameters()) + list(model.named_buffers())}
    g = Graph(opset_version, params)
    for name, t in zip(input_names, tr.inputs):
        g.names[id(t)] = name
        g._used.add(name)
    for name in output_names:
        g._used.add(name)
    for op in tr.ops:
        kind = op.target.__name__ if isinstance(op.target, type) else None
        rule = ops_export.PRIMITIVES.get(kind) if kind else ops_export.MODULES.get(type(op.target))
        if rule is None:
            what = f"primitive {kind!r}" if kind else f"layer {type(op.target).__name__}"
            raise ValueError(f"onnx.export: no ONNX rule for {what} (in module '{op.module_name or '<model>'}')")
        _check_constants(op, g.names, params)
        g.scope = op.module_name
        g.names[id(op.output)] = rule(g, op)
    g.scope = ""
    for name, t in zip(output_names, tr.outputs):  # graph outputs carry the requested names
        g.nodes.append(onnx.helper.make_node("Identity", [g.value(t)], [name], name=g.fresh(f"n_{name}")))

    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__,
        [_value_info(onnx, n, t, dyn.get(n, {})) for n, t in zip(input_names, tr.inputs)],
        [_value_info(onnx, n, t, dyn.get(n, {})) for n, t in zip(output_names, tr.outputs)],
        initializer=g.initializers)
    proto = onnx.helper.make_model(graph, producer_name="convnet",
                                   opset_imports=[onnx.helper.make_opsetid("", opset_version)])
    proto.ir_version = min(proto.ir_version, 8 if opset_version <= 18 else 9)
    onnx.checker.check_model(proto)
    return proto


def _check_constants(op, traced, params):
    """A tensor made inside ``forward`` (neither traced nor a weight) whose shape follows a
    dynamic axis would be frozen at the example's size: refuse it."""
    if op.other is None:
        return
    for a, b in zip(op.inputs, op.other.inputs):
        if a is not None and id(a) not in traced and id(a) not in params and a.shape != b.shape:
            raise ValueError(f"onnx.export: a tensor of shape {tuple(a.shape)} created inside forward (in module "
                             f"'{op.module_name or '<model>'}') changes with a dynamic axis; build it from the "
                             "input with tensor ops, or export with static shapes")


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None, opset_version=17):
    """Export ``model`` to the ONNX file ``f`` by tracing ``model(*args)`` (``torch.onnx.export``).

    Args:
        model: a ``convnet.nn.Module``. It is traced in eval mode (dropout off, batch norm with
            its running statistics) and put back in its previous mode afterwards.
        args: a Tensor or a tuple of Tensors, the example inputs.
        f: path of the ``.onnx`` file to write (atomically), or a binary file object.
        input_names, output_names: names of the graph's inputs and outputs (default ``input`` /
            ``output``, numbered when there are several).
        dynamic_axes: ``{name: {axis: label}}`` or ``{name: [axes]}``: axes whose size is left
            free, e.g. ``{"input": {0: "batch"}, "output": {0: "batch"}}`` for any batch size.
        opset_version: ONNX opset, 17 (default) or later.

    Returns:
        The ``onnx.ModelProto`` (torch returns None; the proto is handy for inspection).

    Example:
        >>> import convnet as cn
        >>> m = cn.models.get("lenet5")
        >>> proto = cn.onnx.export(m, cn.randn(1, 1, 32, 32), "/tmp/lenet5.onnx",
        ...                        dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
        >>> [n.op_type for n in proto.graph.node][:3]
        ['Conv', 'Relu', 'MaxPool']
    """
    proto = build_model(model, args, input_names, output_names, dynamic_axes, opset_version)
    data = proto.SerializeToString()
    if hasattr(f, "write"):
        f.write(data)
    else:
        from ..checkpoint import atomic_write
        atomic_write(f, data)
    return proto
