"""The autograd engine: ``Function`` (one primitive = forward + backward side by side),
grad mode, and reverse-mode traversal of the graph.

Primitives subclass :class:`Function` and implement ``forward(ctx, *arrays, **params)`` and
``backward(ctx, grad_out)`` on raw arrays. ``Function.apply`` wraps inputs and outputs in
:class:`~convnet.tensor.Tensor` and records the graph when any input requires a gradient.
"""
from __future__ import annotations

import contextlib
import threading

_state = threading.local()


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
    """

    needs_input_grad: tuple = ()
    saved_tensors: tuple = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        from .tensor import Tensor

        ctx = cls()
        ctx.needs_input_grad = tuple(t.requires_grad for t in inputs)
        out = ctx.forward(*(t.data for t in inputs), **params)
        track = is_grad_enabled() and any(ctx.needs_input_grad)
        result = Tensor._wrap(out, track)
        if track:
            ctx.parents = inputs
            result._ctx = ctx
            result.is_leaf = False
        return result


def _topological_order(root):
    """Tensors reachable from ``root`` through recorded Functions, parents before children."""
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
        if node._ctx is not None:
            for p in node._ctx.parents:
                if p.requires_grad and id(p) not in seen:
                    stack.append((p, False))
    return order


def backward(root, grad=None, retain_graph=False):
    """Reverse-mode accumulation from ``root``: chain rule in reverse topological order.

    Leaf tensors that require a gradient accumulate into ``.grad``; the graph (and every
    array saved for backward) is released afterwards unless ``retain_graph`` is true.
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
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, got shape {root.shape}")
        grad = xp.ones_like(root.data)
    else:
        grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=root.data.dtype)
        if grad.shape != root.shape:
            raise ValueError(f"backward: grad has shape {grad.shape} but the tensor has shape {root.shape}")

    grads = {id(root): grad}
    for node in reversed(_topological_order(root)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        for hook in node._hooks:
            r = hook(Tensor._wrap(g, False))
            if r is not None:
                g = r.data if isinstance(r, Tensor) else r
        ctx = node._ctx
        if ctx is None:  # a leaf: accumulate into .grad
            if node.is_leaf:
                g = g.astype(node.data.dtype, copy=True)
                if node.grad is None:
                    node.grad = Tensor._wrap(g, False)
                else:
                    node.grad = Tensor._wrap(node.grad.data + g, False)
            continue
        if node._retain_grad:
            node.grad = Tensor._wrap(g.copy() if node.grad is None else node.grad.data + g, False)
        in_grads = ctx.backward(g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for parent, pg in zip(ctx.parents, in_grads):
            if pg is None or not parent.requires_grad:
                continue
            if pg.shape != parent.shape:  # a bug in a backward, never user error
                raise RuntimeError(
                    f"{type(ctx).__name__}.backward returned a gradient of shape {pg.shape} "
                    f"for an input of shape {parent.shape}")
            prev = grads.get(id(parent))
            grads[id(parent)] = pg if prev is None else prev + pg
        if not retain_graph:
            node._ctx = None
