"""The autograd engine: ``Function`` (one primitive = forward + backward side by side),
grad mode, and reverse-mode traversal of the graph.

Primitives subclass :class:`Function` and implement ``forward(ctx, *arrays, **params)`` and
``backward(ctx, grad_out)`` on raw arrays. ``Function.apply`` wraps inputs and outputs in
:class:`~convnet.tensor.Tensor` and records the graph when any input requires a gradient.
"""
from __future__ import annotations

import contextlib
import threading
import weakref
from .errors import ShapeError

_ref = weakref.ref

_state = threading.local()
_Tensor = None  # convnet.tensor.Tensor, bound lazily by Function.apply


def _add(a, b):
    return a + b


_accumulate = [_add]  # how the engine sums two gradients of one array; the ops layer sets a faster one


def set_gradient_accumulator(fn):
    """Let ``fn(a, b) -> a + b`` (a new array, never in place) sum the gradients that reach one
    array from several uses (the ops layer registers one that reuses memory and threads)."""
    _accumulate[0] = fn


def _copy(g, dtype):
    return g.astype(dtype, copy=True)


_keep = [_copy]  # how a leaf takes its gradient (never sharing memory with anything else)


def set_gradient_keeper(fn):
    """Let ``fn(g, dtype)`` give the array a leaf's ``.grad`` holds: ``g`` itself only when nothing
    else refers to its memory, else a ``dtype`` copy (the ops layer knows its recycled buffers)."""
    _keep[0] = fn


def is_grad_enabled() -> bool:
    return getattr(_state, "grad_enabled", True)


def set_grad_enabled(mode: bool):
    _state.grad_enabled = bool(mode)


class no_grad(contextlib.ContextDecorator):
    """Context manager (and decorator) that disables graph recording, like ``torch.no_grad``."""

    def __enter__(self):
        self._prev = is_grad_enabled()
        set_grad_enabled(False)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._prev)
        return False


class enable_grad(no_grad):
    def __enter__(self):
        self._prev = is_grad_enabled()
        set_grad_enabled(True)
        return self


class Function:
    """Base class of every differentiable primitive.

    Subclasses define::

        def forward(self, *arrays, **params) -> array
        def backward(self, grad_out) -> array | tuple[array | None, ...]

    ``backward`` returns one gradient per tensor input (``None`` where not needed); check
    ``self.needs_input_grad[i]`` to skip work. State goes on ``self`` (``save_for_backward``).

    The graph is made of these objects: each recorded call keeps an edge to the Function that
    produced each input (or to the input itself when it is a leaf) but only a *weak* reference
    to the input Tensors, so an intermediate activation is freed as soon as nothing but the
    graph points at it, unless an op saved it for its backward (as PyTorch does).
    """

    needs_input_grad: tuple = ()
    saved_tensors: tuple = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    @property
    def parents(self):
        """The input Tensors of this call (``None`` for one that has since been freed)."""
        return tuple(r() for r in self.__dict__.get("_parent_refs", ()))

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        global _Tensor
        if _Tensor is None:  # tensor.py imports this module, so bind Tensor on first use
            from .tensor import Tensor as _Tensor

        ctx = cls()
        if not getattr(_state, "grad_enabled", True):
            # under no_grad nothing is recorded, so no input needs a gradient: forwards that
            # check needs_input_grad skip saving state for a backward that never runs
            ctx.needs_input_grad = (False,) * len(inputs)
            return _Tensor._wrap(ctx.forward(*[t._data for t in inputs], **params), False)
        needs = ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
        track = True in needs
        out = ctx.forward(*[t._data for t in inputs], **params)
        result = _Tensor._wrap(out, track)
        if track:
            ctx._parent_refs = tuple([_ref(t) for t in inputs])
            # edge per input: None (no gradient), the producing Function, or the tensor itself
            # (a leaf, or a non-leaf whose graph is already released), with its shape
            ctx._next = tuple([((t._ctx if t._ctx is not None else t), t._data.shape) if t.requires_grad
                               else None for t in inputs])
            ctx._out = _ref(result)
            result._ctx = ctx
            result.is_leaf = False
        return result

    def _release(self):
        """Drop everything this call saved (after a backward without ``retain_graph``)."""
        self.__dict__.clear()
        self._released = True


def _topological_order(root):
    """Graph nodes (Functions and leaf Tensors) reachable from ``root``, inputs before outputs."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for edge in node.__dict__.get("_next", ()) if isinstance(node, Function) else ():
            if edge is not None and id(edge[0]) not in seen:
                stack.append((edge[0], False))
    return order


def backward(root, grad=None, retain_graph=False):
    """Reverse-mode accumulation from ``root``: chain rule in reverse topological order.

    Leaf tensors that require a gradient accumulate into ``.grad``; the graph (and every
    array saved for backward) is released as the traversal passes it, unless
    ``retain_graph`` is true.
    """
    from .tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError("backward: tensor does not require grad and has no grad_fn")
    if root._ctx is None and not root.is_leaf:
        raise RuntimeError(
            "backward: trying to backward through the graph a second time; "
            "pass retain_graph=True to the first backward() call")
    xp = root._xp
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, got shape {root.shape}")
        grad = xp.ones_like(root._data)
    else:
        grad = grad._data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=root._data.dtype)
        if grad.shape != root.shape:
            raise ShapeError(f"backward: grad has shape {grad.shape} but the tensor has shape {root.shape}")

    start = root._ctx if root._ctx is not None else root
    grads = {id(start): grad}
    order = _topological_order(start)
    del root, grad, start
    while order:
        # pop, so each Function (and what it saved) is freed as soon as it has run
        node = order.pop()
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if not isinstance(node, Function):  # a tensor: a leaf accumulates into .grad
            for hook in node._hooks:
                r = hook(Tensor._wrap(g, False))
                if r is not None:
                    g = r._data if isinstance(r, Tensor) else r
            if node.is_leaf and node.requires_grad:
                g = _keep[0](g, node._data.dtype)
                if node.grad is None:
                    node.grad = Tensor._wrap(g, False)
                else:
                    node.grad = Tensor._wrap(_accumulate[0](node.grad._data, g), False)
            continue
        ctx = node
        if ctx.__dict__.get("_released"):  # already consumed by an earlier backward()
            continue
        out = ctx._out()  # the output tensor, if anything still holds it
        if out is not None:
            for hook in out._hooks:
                r = hook(Tensor._wrap(g, False))
                if r is not None:
                    g = r._data if isinstance(r, Tensor) else r
            if out._retain_grad:
                out.grad = Tensor._wrap(g.copy() if out.grad is None else out.grad._data + g, False)
            if not retain_graph:
                out._ctx = None
        out = None
        in_grads = ctx.backward(g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for edge, pg in zip(ctx._next, in_grads):
            if pg is None or edge is None:
                continue
            parent, shape = edge
            if not isinstance(parent, Function) and not parent.requires_grad:
                continue
            if pg.shape != shape:  # a bug in a backward, never user error
                raise RuntimeError(
                    f"{type(ctx).__name__}.backward returned a gradient of shape {pg.shape} "
                    f"for an input of shape {shape}")
            prev = grads.get(id(parent))
            grads[id(parent)] = pg if prev is None else _accumulate[0](prev, pg)
        if not retain_graph:
            ctx._release()
        node = ctx = in_grads = pg = prev = g = parent = None  # free this step's arrays now
