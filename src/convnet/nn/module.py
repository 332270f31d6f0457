"""``Module`` and ``Parameter``: the stateful layer API, modelled on ``torch.nn.Module``.

A Module owns Parameters (trainable tensors), buffers (state such as batch-norm running
statistics) and child Modules, registered automatically by attribute assignment.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from ..autograd import no_grad
from ..device import check_device
from ..tensor import Tensor, parse_to_args
from ..errors import ShapeError

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictKeyError(KeyError, RuntimeError):
    """``load_state_dict(strict=True)`` found missing or unexpected keys (a ``KeyError``, and a
    ``RuntimeError`` as torch raises)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable. ``requires_grad`` defaults to True."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        super().__init__(data._data if isinstance(data, Tensor) else data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model.

    Subclasses assign Parameters / Modules as attributes in ``__init__`` and implement
    ``forward``. Calling the module runs forward hooks around ``forward``.
    """

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign attributes before Module.__init__() is called")
        if isinstance(value, Parameter):
            self._buffers.pop(name, None)
            self._modules.pop(name, None)
            self._parameters[name] = value
            self.__dict__.pop(name, None)
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self._modules[name] = value
            self.__dict__.pop(name, None)
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} to buffer '{name}' (Tensor or None expected)")
            self._buffers[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter '{name}' "
                                "(Parameter or None expected)")
            self._parameters[name] = None
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module '{name}' "
                                "(Module or None expected)")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None, got {type(param).__name__}")
        self._parameters[name] = param

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module, got {type(module).__name__}")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{part}' (in '{target}')")
            mod = mod._modules[part]
        return mod

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix="", memo=None):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mprefix}.{name}" if mprefix else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{mprefix}.{name}" if mprefix else name), b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ modes
    def train(self, mode=True):
        # a module frozen by ``convnet.freeze`` (its ``_frozen_eval`` flag) stays in eval mode, so the
        # batch norm of a frozen base keeps its running statistics while the head trains
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode) and not m.__dict__.get("_frozen_eval", False))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = Tensor._wrap(np.zeros_like(p.grad._data), False)

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``: converts floating
        parameters and buffers (and their gradients) to ``dtype`` in place and returns ``self``.
        Only the CPU exists: another device raises RuntimeError."""
        device, dtype, _ = parse_to_args(args, kwargs)
        if device is not None:
            check_device(device, "Module.to")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        if dtype == np.float16:
            raise TypeError("nn.Module.to: float16 training is not supported (convnet computes in float32 "
                            "or float64)")
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is not None and t._data.dtype.kind == "f" and t._data.dtype != dtype:
                        t._data = t._data.astype(dtype)
                        if t.grad is not None:
                            t.grad = Tensor._wrap(t.grad._data.astype(dtype), False)
        return self

    def cpu(self):
        return self

    def cuda(self, device=None):
        check_device("cuda" if device is None else device, "Module.cuda")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def type(self, dst_type):
        return self.to(dst_type)

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix=""):
        """Ordered mapping of parameter and persistent buffer names to (detached) tensors."""
        out = OrderedDict()
        for mprefix, m in self.named_modules(prefix.rstrip(".")):
            for name, p in m._parameters.items():
                if p is not None:
                    out[f"{mprefix}.{name}" if mprefix else name] = p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[f"{mprefix}.{name}" if mprefix else name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors or NumPy arrays) into this module's parameters and buffers.

        Raises ``KeyError`` (also a ``RuntimeError``) listing missing/unexpected keys when
        ``strict``, and ``ShapeError`` (``ValueError`` + ``RuntimeError``) listing every key whose
        shape differs. Returns ``(missing_keys, unexpected_keys)``.
        """
        own = {}
        for mprefix, m in self.named_modules():
            for store, skip in ((m._parameters, set()), (m._buffers, m._non_persistent)):
                for name, t in store.items():
                    if t is not None and name not in skip:
                        own[f"{mprefix}.{name}" if mprefix else name] = t
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, t in own.items():
            if k in state_dict:
                v = state_dict[k]
                arr = np.asarray(v._data if isinstance(v, Tensor) else v)
                if tuple(arr.shape) != t.shape:
                    mismatched.append(f"{k}: checkpoint {tuple(arr.shape)} vs model {t.shape}")
        if mismatched:
            raise ShapeError("load_state_dict: size mismatch for " + str(len(mismatched)) + " key(s):\n  "
                             + "\n  ".join(mismatched))
        if strict and (missing or unexpected):
            raise StateDictKeyError(f"load_state_dict: missing keys {missing}; unexpected keys {unexpected}")
        with no_grad():
            for k, t in own.items():
                if k in state_dict:
                    v = state_dict[k]
                    arr = np.asarray(v._data if isinstance(v, Tensor) else v)
                    t._data = arr.astype(t._data.dtype, copy=True)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ call
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        if not self._forward_pre_hooks and not self._forward_hooks:  # the usual case: no hooks
            return self.forward(*args, **kwargs)
        for hook in self._forward_pre_hooks.values():
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        for hook in self._forward_hooks.values():
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    def register_forward_hook(self, hook):
        """``hook(module, inputs, output)``; returns a handle with ``.remove()``."""
        return _Handle(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook):
        return _Handle(self._forward_pre_hooks, hook)

    # ------------------------------------------------------------------ repr
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (extra if extra else "")
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._modules) + list(self._buffers)


class _Handle:
    _next = 0

    def __init__(self, store, hook):
        _Handle._next += 1
        self.id, self.store = _Handle._next, store
        store[self.id] = hook

    def remove(self):
        self.store.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
