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


def _set_grad_mode(mode):
    _state.grad_enabled = bool(mode)


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn graph recording on or off: at once when called (``set_grad_enabled(False)``), and
    back to the previous mode at the end of a ``with set_grad_enabled(mode):`` block, as torch."""

    def __init__(self, mode: bool):
        self._prev = is_grad_enabled()
        self.mode = bool(mode)
        _set_grad_mode(self.mode)

    def __call__(self, fn):  # used as a decorator: apply the mode only while fn runs
        _set_grad_mode(self._prev)
        return super().__call__(fn)

    def __enter__(self):
        _set_grad_mode(self.mode)
        return self

    def __exit__(self, *exc):
        _set_grad_mode(self._prev)
        return False


class no_grad(contextlib.ContextDecorator):
    """Context manager (and decorator) that disables graph recording, like ``torch.no_grad``."""

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_grad_mode(False)
        return self

    def __exit__(self, *exc):
        _set_grad_mode(self._prev)
        return False


class enable_grad(no_grad):
    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_grad_mode(True)
        return self


class inference_mode(no_grad):
    """``torch.inference_mode``: here the same as :class:`no_grad` (context manager or
    decorator, with or without parentheses); ``inference_mode(False)`` changes nothing."""

    def __new__(cls, mode=True):
        if callable(mode):  # @inference_mode without parentheses
            return no_grad()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = is_grad_enabled()
        if self.mode:
            _set_grad_mode(False)
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
            try:
                return _Tensor._wrap(ctx.forward(*[t._data for t in inputs], **params), False)
            except ValueError as e:
                _reraise_broadcast(cls, inputs, e)
                raise
        needs = ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
        track = True in needs
        try:
            out = ctx.forward(*[t._data for t in inputs], **params)
        except ValueError as e:
            _reraise_broadcast(cls, inputs, e)
            raise
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


def _reraise_broadcast(cls, inputs, err):
    """NumPy's broadcasting ValueError from inside a primitive becomes a ShapeError (a
    RuntimeError, as torch) naming the op and the input shapes."""
    if "could not be broadcast" in str(err) and not isinstance(err, ShapeError):
        shapes = ", ".join(str(tuple(t._data.shape)) for t in inputs)
        raise ShapeError(f"{cls.__name__.lower()}: the shapes of the inputs ({shapes}) cannot be broadcast "
                         "together (sizes must match or be 1 in each dimension)") from None


def _topological_order(roots):
    """Graph nodes (Functions and leaf Tensors) reachable from ``roots``, inputs before outputs
    (a depth-first post-order with one ``seen`` set over all roots)."""
    order, seen = [], set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        edges = [e[0] for e in node.__dict__.get("_next", ()) if e is not None] if isinstance(node, Function) else ()
        # leaves first onto the stack, so they are expanded last and land right before their consumer:
        # backward then reaches a parameter as soon as its gradient is final (DistributedDataParallel
        # starts all-reducing it while the rest of the backward runs); the order of Functions is unchanged
        for parent in sorted(edges, key=lambda p: isinstance(p, Function)):
            if id(parent) not in seen:
                stack.append((parent, False))
    return order


def _seed(root, grad, name):
    """The node a backward pass starts from and its gradient array (checked against ``root``)."""
    from .tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError(f"{name}: tensor does not require grad and has no grad_fn")
    if root._ctx is None and not root.is_leaf:
        raise RuntimeError(
            f"{name}: trying to backward through the graph a second time; "
            "pass retain_graph=True to the first backward() call")
    xp = root._xp
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"{name}: grad can be implicitly created only for scalar outputs, got shape {root.shape}")
        grad = xp.ones_like(root._data)
    else:
        grad = grad._data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=root._data.dtype)
        if grad.shape != root.shape:
            raise ShapeError(f"{name}: grad has shape {grad.shape} but the tensor has shape {root.shape}")
    return (root._ctx if root._ctx is not None else root), grad


def backward(root, grad=None, retain_graph=False):
    """Reverse-mode accumulation from ``root``: chain rule in reverse topological order.

    Leaf tensors that require a gradient accumulate into ``.grad``; the graph (and every
    array saved for backward) is released as the traversal passes it, unless
    ``retain_graph`` is true.
    """
    start, g = _seed(root, grad, "backward")
    del root, grad
    _run([(start, g)], retain_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False,
         materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated into
    ``.grad``), as ``torch.autograd.grad``. First order only: ``create_graph=True`` raises.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors that require grad (leaves or not).
        grad_outputs: the gradient of each output (None: ones, for scalar outputs).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        allow_unused: give None for an input the outputs do not depend on, instead of raising.

    Returns:
        a tuple with one gradient Tensor (or None) per input.
    """
    from .tensor import Tensor

    if create_graph:
        raise NotImplementedError("autograd.grad: create_graph=True (higher-order gradients) is not supported")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"autograd.grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i}: one of the differentiated Tensors does not require grad")
    seeds = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if not o.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        seeds.append(_seed(o, g, "autograd.grad"))
    keys = [id(t._ctx if t._ctx is not None else t) for t in inputs]  # before the graph is released
    capture = dict.fromkeys(keys)
    _run(seeds, bool(retain_graph), capture)
    result = []
    for i, (t, key) in enumerate(zip(inputs, keys)):
        g = capture[key]
        if g is None:
            if materialize_grads:
                g = t._xp.zeros_like(t._data)
            elif not allow_unused:
                raise RuntimeError(f"autograd.grad: input {i}: one of the differentiated Tensors appears to "
                                   "not have been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
        result.append(None if g is None else Tensor._wrap(g.astype(t._data.dtype, copy=False), False))
    return tuple(result)


def _run(seeds, retain_graph, capture=None):
    """Propagate the gradients ``[(node, grad array)]`` back through the graph.

    Without ``capture``, leaves accumulate into ``.grad``. With ``capture`` (a dict keyed by the
    ids of the nodes whose gradient is wanted), the gradient reaching each such node is stored
    there and no ``.grad`` changes (``autograd.grad``).
    """
    from .tensor import Tensor

    grads = {}
    for node, g in seeds:
        prev = grads.get(id(node))
        grads[id(node)] = g if prev is None else _accumulate[0](prev, g)
    order = _topological_order([node for node, _ in seeds])
    del seeds
    node = g = None
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
            if capture is not None:
                if id(node) in capture:
                    capture[id(node)] = g.copy()  # g may live in recycled memory
            elif node.is_leaf and node.requires_grad:
                g = _keep[0](g, node._data.dtype)
                if node.grad is None:
                    node.grad = Tensor._wrap(g, False)
                else:
                    node.grad = Tensor._wrap(_accumulate[0](node.grad._data, g), False)
                for hook in node.__dict__.get("_post_accumulate_grad_hooks", ()):
                    hook(node)  # torch's Tensor.register_post_accumulate_grad_hook: .grad is final here
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
            if out._retain_grad and capture is None:
                out.grad = Tensor._wrap(g.copy() if out.grad is None else out.grad._data + g, False)
            if not retain_graph:
                out._ctx = None
        out = None
        if capture is not None and id(ctx) in capture:
            capture[id(ctx)] = g.copy()
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
