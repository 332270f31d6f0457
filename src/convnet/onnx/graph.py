"""The ONNX graph under construction: value names, initializers and nodes.

A thin layer over ``onnx.helper``: the export rules call :meth:`Graph.node` and
:meth:`Graph.const` and never touch protobufs themselves.
"""
from __future__ import annotations

import numpy as np


class Graph:
    """Nodes and initializers in the order they are added; every value has a unique name.

    Args:
        opset: the ONNX opset the rules write for (17 or later).
        param_names: ``id(tensor) -> state-dict key`` so weights keep their names in the file.
    """

    def __init__(self, opset, param_names):
        import onnx  # the optional dependency, loaded only when exporting

        self.onnx, self.opset, self.param_names = onnx, opset, param_names
        self.nodes, self.initializers = [], []
        self.names = {}          # id(Tensor) -> value name
        self._used = set()
        self.scope = ""          # module name of the op being exported (node names)

    def fresh(self, hint):
        hint = hint.replace(".", "_") or "v"
        name, k = hint, 1
        while name in self._used:
            k += 1
            name = f"{hint}_{k}"
        self._used.add(name)
        return name

    def node(self, op_type, inputs, n_out=1, **attrs):
        """Add one node; returns its output name (a list of names when ``n_out > 1``)."""
        outs = [self.fresh(f"{self.scope}_{op_type}" if self.scope else op_type) for _ in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outs,
                                                     name=self.fresh(f"n_{outs[0]}"), **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, array, hint="const"):
        """An initializer holding ``array`` (float64 is stored as float32 unless asked otherwise)."""
        array = np.asarray(array)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def ints(self, values, hint="shape"):
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    def value(self, t):
        """Name of the value holding Tensor ``t``: a traced value, a weight or a new constant."""
        if t is None:
            return ""
        key = id(t)
        if key not in self.names:
            name = self.param_names.get(key)
            if name is None or name in self._used:
                name = self.fresh("const")
            self._used.add(name)   # weights keep their state-dict key, dots included
            self.initializers.append(self.onnx.numpy_helper.from_array(np.array(t._data, order="C"), name))
            self.names[key] = name
        return self.names[key]

    def param(self, tensor):
        """Initializer for a module's Parameter or buffer (shared by every use)."""
        return self.value(tensor)

    def reduce(self, op_type, x, axes, keepdim):
        """``ReduceMean/ReduceMax/...``: axes are an attribute before opset 18, an input from 18
        (``ReduceSum`` moved at 13)."""
        keep = int(bool(keepdim))
        if axes is None or len(axes) == 0:
            return self.node(op_type, [x], keepdims=keep)
        axes = [int(a) for a in axes]
        input_from = 13 if op_type == "ReduceSum" else 18
        if self.opset >= input_from:
            return self.node(op_type, [x, self.ints(axes, "axes")], keepdims=keep)
        return self.node(op_type, [x], axes=axes, keepdims=keep)

    def unsqueeze(self, x, axes):
        return self.node("Unsqueeze", [x, self.ints(axes, "axes")])

    def squeeze(self, x, axes):
        return self.node("Squeeze", [x, self.ints(axes, "axes")])

    def scalar(self, value, dtype=np.float32, hint="c"):
        return self.const(np.asarray(value, dtype=dtype), hint)
