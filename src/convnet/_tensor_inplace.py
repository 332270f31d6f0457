"""In-place Tensor methods (``add_``, ``mul_``, ``+=``, ``fill_``, ``uniform_``, ...), as in torch.

Two cases:

* Nothing to record (grad mode off, or neither operand requires a gradient): the result is
  written into the tensor's existing memory, so views of it and ``.data`` aliases see the
  change, and the object keeps its identity.
* Recorded (grad mode on and an operand requires a gradient): the out-of-place result is
  computed through the ordinary differentiable op, then the tensor takes over that result's
  array and graph node. Its identity is kept, its memory is not reused (views of the old
  array do not see the change), and unlike torch there is no version check: an op that saved
  the old value for its backward keeps the old value, so its gradient stays correct.

A leaf that requires grad cannot be changed in place while grad mode is on (torch's
RuntimeError); under ``no_grad`` it can (optimizers and ``nn.init`` do this).
"""
from __future__ import annotations

import weakref

import numpy as np

from . import _backend
from .autograd import is_grad_enabled
from .errors import ShapeError

_LEAF_MSG = "a leaf Variable that requires grad is being used in an in-place operation."


def _raw(x):
    return x._data if hasattr(x, "_data") else x


def _is_float_value(o):
    if hasattr(o, "_data"):
        return o._data.dtype.kind in "fc"
    if isinstance(o, np.ndarray):
        return o.dtype.kind in "fc"
    return isinstance(o, (float, np.floating)) and not isinstance(o, bool)


class InplaceMethods:
    """Mixin of :class:`~convnet.tensor.Tensor`'s in-place methods."""

    # ------------------------------------------------------------------ machinery
    def _check_inplace(self):
        if self.requires_grad and self.is_leaf and is_grad_enabled():
            raise RuntimeError(_LEAF_MSG)

    def _records(self, *others):
        return is_grad_enabled() and (self.requires_grad or any(getattr(o, "requires_grad", False)
                                                                for o in others))

    def _check_cast(self, name, *others):
        """torch's rule: a float result cannot be stored into an integer/bool tensor."""
        if self._data.dtype.kind in "iub" and any(_is_float_value(o) for o in others):
            src = next(o for o in others if _is_float_value(o))
            kind = src._data.dtype if hasattr(src, "_data") else type(src).__name__
            raise RuntimeError(f"{name}: result type {kind} can't be cast to the desired output type "
                               f"{self._data.dtype}")

    def _take(self, out, name):
        """Make ``self`` hold ``out`` (a Tensor of the result): in memory or by taking its node."""
        if out.shape != self.shape:
            raise ShapeError(f"{name}: output with shape {list(self.shape)} doesn't match the broadcast "
                             f"shape {list(out.shape)}")
        if out.requires_grad and is_grad_enabled():
            if out._data.dtype != self._data.dtype:
                out = out.to(self._data.dtype)
            self._data, self._ctx, self.requires_grad, self.is_leaf = out._data, out._ctx, True, False
            if out._ctx is not None:
                out._ctx._out = weakref.ref(self)
                out._ctx = None
            return self
        return self._write(out._data, name)

    def _write(self, arr, name):
        """Store ``arr`` into this tensor's own memory (cast to its dtype)."""
        try:
            self._data[...] = arr
        except ValueError as e:  # a read-only array: an expand()/broadcast view
            raise RuntimeError(f"{name}: unsupported operation: more than one element of the written-to "
                               f"tensor refers to a single memory location ({e})") from None
        return self

    def _binary_(self, op, other, name, alpha=None):
        self._check_inplace()
        self._check_cast(name, other)
        if alpha is not None:
            self._check_cast(name, alpha)
            other = other * alpha
        if not self._records(other):  # nothing to record: compute outside the graph, write in place
            return self._take(op(self.detach(), other.detach() if hasattr(other, "_data") else other), name)
        return self._take(op(self, other), name)

    def _unary_(self, fn, name):
        self._check_inplace()
        return self._take(fn(self if self._records() else self.detach()), name)

    # ------------------------------------------------------------------ arithmetic
    def add_(self, other, alpha=None):
        """``self += alpha * other`` in place."""
        return self._binary_(lambda a, b: a + b, other, "add_", alpha)

    def sub_(self, other, alpha=None):
        return self._binary_(lambda a, b: a - b, other, "sub_", alpha)

    def mul_(self, other):
        return self._binary_(lambda a, b: a * b, other, "mul_")

    def div_(self, other, rounding_mode=None):
        if rounding_mode is None:
            self._check_cast("div_", 1.0)
            return self._binary_(lambda a, b: a / b, other, "div_")
        if rounding_mode == "floor":
            return self._binary_(lambda a, b: a // b, other, "div_")
        raise ValueError(f"div_: rounding_mode must be None or 'floor', got {rounding_mode!r}")

    def pow_(self, exponent):
        return self._binary_(lambda a, b: a ** b, exponent, "pow_")

    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)
    def __ifloordiv__(self, other): return self.div_(other, rounding_mode="floor")

    def __imod__(self, other):
        return self._binary_(lambda a, b: a % b, other, "remainder_")

    def exp_(self): return self._unary_(lambda t: t.exp(), "exp_")
    def relu_(self): return self._unary_(lambda t: t.relu(), "relu_")
    def sqrt_(self): return self._unary_(lambda t: t.sqrt(), "sqrt_")
    def neg_(self): return self._unary_(lambda t: -t, "neg_")
    def abs_(self): return self._unary_(lambda t: t.abs(), "abs_")
    def sigmoid_(self): return self._unary_(lambda t: t.sigmoid(), "sigmoid_")
    def tanh_(self): return self._unary_(lambda t: t.tanh(), "tanh_")

    def clamp_(self, min=None, max=None):
        self._check_cast("clamp_", *(v for v in (min, max) if v is not None))
        return self._unary_(lambda t: t.clamp(min, max), "clamp_")

    clip_ = clamp_

    # ------------------------------------------------------------------ filling
    def _fill_with(self, arr, name, src=None):
        """Overwrite every element with ``arr`` (broadcast); ``src`` is a tensor it came from."""
        self._check_inplace()
        if self._records(*(() if src is None else (src,))):
            from .ops import where

            new = src.to(self._data.dtype) if src is not None else _wrap_like(self, arr)
            return self._take(where(np.zeros(self.shape, dtype=bool), self, new), name)  # d/dself = 0
        return self._write(arr, name)

    def fill_(self, value):
        if hasattr(value, "_data") and value._data.size != 1:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        return self._fill_with(np.asarray(_raw(value)).reshape(()).astype(self._data.dtype), "fill_")

    def zero_(self):
        return self._fill_with(np.zeros((), dtype=self._data.dtype), "zero_")

    def copy_(self, src, non_blocking=False):
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor."""
        raw = _raw(src)
        try:
            arr = np.broadcast_to(np.asarray(raw), self.shape)
        except ValueError:
            raise ShapeError(f"copy_: the size of src {tuple(np.shape(raw))} must match (broadcast to) "
                             f"the size of self {self.shape}") from None
        if hasattr(src, "_data") and src.requires_grad and is_grad_enabled():
            return self._fill_with(None, "copy_", src=src.expand(self.shape))
        return self._fill_with(arr.astype(self._data.dtype, copy=False), "copy_")

    def uniform_(self, a=0.0, b=1.0, generator=None):
        """Samples from U(a, b), from the generator seeded by ``manual_seed``."""
        arr = _backend.default_generator().uniform(a, b, self.shape).astype(self._data.dtype)
        return self._fill_with(arr, "uniform_")

    def normal_(self, mean=0.0, std=1.0, generator=None):
        """Samples from N(mean, std^2), from the generator seeded by ``manual_seed``."""
        arr = _backend.default_generator().normal(mean, std, self.shape).astype(self._data.dtype)
        return self._fill_with(arr, "normal_")

    def masked_fill_(self, mask, value):
        self._check_inplace()
        return self._take(self.masked_fill(mask, value) if self._records(value) else
                          self.detach().masked_fill(mask, value), "masked_fill_")

    def __setitem__(self, idx, value):
        """``t[idx] = value``: written in place; recorded (gradient 0 at ``idx``) when ``t`` is in
        the graph. A value that requires grad is not differentiated through."""
        from .ops import raw_index

        self._check_inplace()
        raw = raw_index(idx)
        if self._records():
            vals = np.array(self._data)  # a full array whose idx part holds the new values
            vals[raw] = _raw(value)
            mask = np.zeros(self.shape, dtype=bool)
            mask[raw] = True
            out = self.masked_fill(mask, 0) + _wrap_like(self, np.where(mask, vals, 0))
            self._take(out, "__setitem__")
            return
        self._data[raw] = _raw(value)


def _wrap_like(t, arr):
    """A constant Tensor (no gradient) holding ``arr`` in ``t``'s dtype."""
    from .tensor import Tensor

    return Tensor._wrap(np.asarray(arr, dtype=t._data.dtype), False)
