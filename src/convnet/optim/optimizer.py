"""``Optimizer``: the base class of every update rule, modelled on ``torch.optim.Optimizer``.

An optimizer holds ``param_groups`` (a list of dicts; each group carries its own ``lr`` and
other hyper-parameters next to its ``params``) and per-parameter ``state`` (momentum buffers,
moment estimates). Subclasses only write ``_update(p, grad, group, state)``: the rule for one
parameter, on raw arrays.

Updates never touch ``p.grad`` (gradient arrays may be shared); they change ``p.data`` in
place, like PyTorch, so a ``module.state_dict()`` taken earlier aliases the new values
(copy it if you want a snapshot).

Every optimizer accepts PyTorch's ``foreach=`` keyword and ignores it: there is one implementation
per rule (no multi-tensor or fused kernels).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from .._backend import array_module
from ..autograd import enable_grad
from ..tensor import Tensor


class _Required:
    """Sentinel for a hyper-parameter without a default (``lr`` of a bare Optimizer)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``step``, ``zero_grad``, state dicts.

    Args:
        params: an iterable of Tensors (one group) or of dicts ``{"params": [...], "lr": ...}``
            (one group each; missing keys take the optimizer's defaults).
        defaults: the hyper-parameters a group gets when it does not set them.

    Example:
        >>> import convnet as cn
        >>> w = cn.nn.Parameter(cn.ones(3))
        >>> opt = cn.optim.SGD([w], lr=0.5)
        >>> (w * w).sum().backward(); opt.step()
        >>> w.data.tolist()
        [0.0, 0.0, 0.0]
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)  # Parameter -> {name: array | number}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params argument given to the optimizer should be an "
                            f"iterable of Tensors or dicts, but got a single Tensor")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets will change between runs; use a list")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group (a dict with ``params``) e.g. to train a newly unfrozen layer at its own lr."""
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("add_param_group: optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs; use a list")
        else:
            params = list(params) if params is not None else []
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"add_param_group: optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("add_param_group: can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("add_param_group: a parameter group contains duplicate parameters")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"add_param_group: parameter group didn't specify a value of required "
                                 f"optimization parameter '{name}'")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("add_param_group: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``None`` (default) or fresh zero arrays (never zeroed in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = Tensor._wrap(array_module(p.grad._data).zeros_like(p.grad._data), False)

    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure`` re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if not getattr(getattr(p._data, "flags", None), "writeable", True):
                    p._data = p._data.copy()  # e.g. a read-only view handed to Parameter(...)
                self._update(p, p.grad._data, group, self.state[p])
        return loss

    def _update(self, p, grad, group, state):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no update rule")

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """``{"state": {index: {name: Tensor | number}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are numbered in group order, like PyTorch; state arrays come back as Tensors
        holding copies, so the dict is a snapshot that later steps do not change.
        """
        index, groups, start = {}, [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = list(range(start, start + len(group["params"])))
            index.update({id(p): i for i, p in enumerate(group["params"], start)})
            start += len(group["params"])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index and s:
                state[index[id(p)]] = {k: _state_tensor(v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore groups' hyper-parameters and per-parameter state from :meth:`state_dict`.

        Arrays may be NumPy arrays, convnet Tensors or anything ``np.asarray`` accepts (torch
        tensors); floating state is cast to the parameter's dtype. ``step`` becomes an int.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"load_state_dict: loaded state dict has {len(saved_groups)} parameter group(s) "
                             f"but the optimizer has {len(self.param_groups)}")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"load_state_dict: parameter group {i} has {len(g['params'])} parameters but "
                                 f"the loaded group has {len(s['params'])}")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            id_map.update({old: p for old, p in zip(s["params"], g["params"])})
        new_state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            p = id_map.get(key)
            if p is None:
                p = id_map.get(int(key)) if str(key).lstrip("-").isdigit() else None
            if p is None:
                continue
            new_state[p] = {k: _cast_state(k, v, p) for k, v in values.items()}
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            ng = {k: v for k, v in s.items() if k != "params"}
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _state_tensor(value):
    """A state entry for ``state_dict()``: arrays become Tensors over a copy (torch's
    ``state['exp_avg']`` is a Tensor); numbers stay numbers."""
    if isinstance(value, Tensor):
        return Tensor._wrap(value._data.copy(), False)
    if hasattr(value, "shape") and hasattr(value, "copy"):
        return Tensor._wrap(value.copy(), False)
    return value


def _cast_state(name, value, p):
    if name == "step":
        return int(float(np.asarray(value._data if isinstance(value, Tensor) else value)))
    if isinstance(value, Tensor):
        value = value._data
    if hasattr(value, "shape") or isinstance(value, (list, tuple)):
        xp = array_module(p._data)
        arr = np.asarray(value) if xp is np else xp.asarray(value)
        return arr.astype(p._data.dtype, copy=True) if arr.dtype.kind == "f" else arr.copy()
    return value


def _lerp_(a, b, weight):
    """``a += weight * (b - a)`` in place, with PyTorch's two-sided formula (same rounding)."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        a[...] = b - (b - a) * (1 - weight)
    return a


def _check_hyper(fn, **values):
    for name, v in values.items():
        if v < 0:
            raise ValueError(f"{fn}: invalid {name} value: {v} (must be >= 0)")
