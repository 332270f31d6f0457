"""The two helpers every op test uses.

* ``check_against_torch(our_fn, torch_fn, inputs)``: forward output and the gradient of every
  floating input, for a random upstream gradient, compared with PyTorch 2.13 CPU.
* ``gradcheck(our_fn, inputs)``: float64 central finite differences, no PyTorch needed.

Inputs are NumPy arrays; floating ones become ``requires_grad`` leaves in both frameworks,
integer ones (targets, indices) are passed through as tensors without gradient.
"""
from __future__ import annotations

import numpy as np

import convnet as cn

TOL = {np.dtype(np.float32): (2e-5, 2e-4), np.dtype(np.float64): (1e-9, 1e-7)}


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def _np(x):
    if hasattr(x, "detach"):  # torch or convnet tensor
        x = x.detach()
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


def check_against_torch(our_fn, torch_fn, inputs, atol=None, rtol=None, grad=True, seed=0,
                        grad_inputs=None):
    """Compare ``our_fn(*cn_tensors)`` with ``torch_fn(*torch_tensors)``, forward and backward.

    ``grad_inputs``: indices of inputs whose gradient is compared (default: every float input).
    Returns our output (NumPy) for extra assertions.
    """
    import torch

    inputs = [np.asarray(a) for a in inputs]
    floats = [i for i, a in enumerate(inputs) if a.dtype.kind == "f"]
    grad_inputs = floats if grad_inputs is None else list(grad_inputs)
    dtype = inputs[floats[0]].dtype if floats else np.dtype(np.float32)
    d_atol, d_rtol = TOL.get(dtype, (1e-3, 1e-3))
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol

    ours = [cn.tensor(a.copy(), requires_grad=grad and i in grad_inputs) for i, a in enumerate(inputs)]
    theirs = [torch.tensor(a.copy(), requires_grad=grad and i in grad_inputs) for i, a in enumerate(inputs)]
    out_ours = _first(our_fn(*ours))
    out_theirs = _first(torch_fn(*theirs))
    o, t = _np(out_ours), _np(out_theirs)
    assert o.shape == t.shape, f"forward shape: ours {o.shape} vs torch {t.shape}"
    assert o.dtype == t.dtype, f"forward dtype: ours {o.dtype} vs torch {t.dtype}"
    np.testing.assert_allclose(o, t, atol=atol, rtol=rtol, err_msg="forward differs from torch")
    if not grad or not grad_inputs:
        return o
    rng = np.random.default_rng(seed + 1)
    up = rng.standard_normal(o.shape).astype(o.dtype)
    out_ours.backward(cn.tensor(up))
    out_theirs.backward(torch.tensor(up))
    for i in grad_inputs:
        g_o, g_t = ours[i].grad, theirs[i].grad
        assert g_o is not None, f"input {i}: our gradient is None"
        assert g_t is not None, f"input {i}: torch gradient is None"
        g_o, g_t = _np(g_o), _np(g_t)
        assert g_o.shape == g_t.shape, f"input {i} gradient shape: ours {g_o.shape} vs torch {g_t.shape}"
        scale = max(1.0, float(np.abs(g_t).max()) if g_t.size else 1.0)
        np.testing.assert_allclose(g_o, g_t, atol=atol * scale, rtol=rtol,
                                   err_msg=f"gradient of input {i} differs from torch")
    return o


def gradcheck(our_fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0, max_coords=60, grad_inputs=None):
    """Float64 central finite differences of ``sum(our_fn(x) * R)`` against our backward.

    Checks up to ``max_coords`` random coordinates of every floating input, plus one random
    direction over the whole input (Chainer's directional check).
    """
    inputs = [np.asarray(a) for a in inputs]
    inputs = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in inputs]
    floats = [i for i, a in enumerate(inputs) if a.dtype.kind == "f"]
    grad_inputs = floats if grad_inputs is None else list(grad_inputs)
    rng = np.random.default_rng(seed)

    def loss(arrs, R=None):
        with cn.no_grad():
            out = _first(our_fn(*[cn.tensor(a) for a in arrs]))
        return float((_np(out) * R).sum())

    ts = [cn.tensor(a.copy(), requires_grad=i in grad_inputs) for i, a in enumerate(inputs)]
    out = _first(our_fn(*ts))
    R = rng.standard_normal(out.shape)
    out.backward(cn.tensor(R))
    for i in grad_inputs:
        analytic = _np(ts[i].grad)
        x = inputs[i]
        n = x.size
        coords = rng.choice(n, size=min(n, max_coords), replace=False)
        for c in coords:
            plus = [a.copy() for a in inputs]
            minus = [a.copy() for a in inputs]
            plus[i].reshape(-1)[c] += eps
            minus[i].reshape(-1)[c] -= eps
            numeric = (loss(plus, R) - loss(minus, R)) / (2 * eps)
            a = analytic.reshape(-1)[c]
            assert abs(numeric - a) <= atol + rtol * abs(numeric), (
                f"input {i}, flat index {c}: finite difference {numeric:.8g} vs backward {a:.8g}")
        v = rng.standard_normal(x.shape)
        plus = [a.copy() for a in inputs]
        minus = [a.copy() for a in inputs]
        plus[i] = plus[i] + eps * v
        minus[i] = minus[i] - eps * v
        numeric = (loss(plus, R) - loss(minus, R)) / (2 * eps)
        a = float((analytic * v).sum())
        assert abs(numeric - a) <= 10 * atol + rtol * abs(numeric), (
            f"input {i}, random direction: finite difference {numeric:.8g} vs backward {a:.8g}")


def away_from_ties(shape, rng, low=-1.0, high=1.0, dtype=np.float64):
    """Distinct values (a shuffled ramp with small jitter): no max-pool ties and nothing
    within a few percent of a step of 0, so ReLU/abs kinks and pooling ties are avoided."""
    n = int(np.prod(shape))
    k = np.arange(n) + 1 / 3 + rng.uniform(-0.1, 0.1, n)
    vals = low + (high - low) * k / n
    rng.shuffle(vals)
    return vals.reshape(shape).astype(dtype)


def record_calls(monkeypatch, module, names):
    """Wrap ``module.<name>`` for each of ``names`` (with ``monkeypatch``) so that every call
    appends the name to the returned list, then runs the real function: which kernels ran."""
    ran = []
    for name in names:
        real = getattr(module, name)

        def wrapped(*a, _real=real, _name=name, **kw):
            ran.append(_name)
            return _real(*a, **kw)

        monkeypatch.setattr(module, name, wrapped)
    return ran


def record_chunk_counts(monkeypatch, module):
    """Wrap ``module.run`` (the C pool's entry, :func:`convnet.ops._clib.run`) so that every job
    appends ``(number of chunks, parallel)`` to the returned list, then runs."""
    runs = []
    real = module.run

    def wrapped(chunks, parallel=True):
        runs.append((len(chunks), parallel))
        return real(chunks, parallel)

    monkeypatch.setattr(module, "run", wrapped)
    return runs


def check_conv2d_f32_against_loop_reference(x, w, b, rng, **kw):
    """float32 ``conv2d(x, w, b, **kw)`` forward and its three gradients against the float64 slow
    loop reference (``convnet.ops.conv_ref``), for the C kernels' tests."""
    from convnet.ops.conv_ref import conv2d_ref, conv2d_ref_grads
    import convnet.functional as F

    xt, wt, bt = (cn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt, **kw)
    x64, w64, b64 = (a.astype(np.float64) for a in (x, w, b))
    np.testing.assert_allclose(y.detach().numpy(), conv2d_ref(x64, w64, b64, **kw), rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(cn.tensor(g))
    for ours, ref in zip((xt.grad, wt.grad, bt.grad), conv2d_ref_grads(x64, w64, g.astype(np.float64), **kw)):
        np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-4, atol=1e-4)


def _as_array(x):
    """NumPy view of a convnet tensor, a torch tensor or anything array-like (no dtype change)."""
    if hasattr(x, "_data") and not hasattr(x, "detach_"):  # convnet Tensor (torch tensors have detach_)
        return np.asarray(x._data)
    return _np(x)


def assert_same(actual, expected, atol=0.0, rtol=0.0, what="value"):
    """Shape, then dtype, then values: the one comparison for round trips and buffers.

    ``actual``/``expected`` may be convnet tensors, torch tensors, NumPy arrays or scalars; a dict
    compares keys (in order-insensitive set form) and then every entry. Exact by default
    (``atol=rtol=0``); pass tolerances for computed values. A 0-d array and a shape-(1,) array
    differ, and so do int64 and int32.
    """
    if isinstance(actual, dict) or isinstance(expected, dict):
        assert isinstance(actual, dict) and isinstance(expected, dict), f"{what}: a dict vs a {type(actual)}"
        assert set(actual) == set(expected), (f"{what}: keys differ: missing {sorted(set(expected) - set(actual))}, "
                                               f"extra {sorted(set(actual) - set(expected))}")
        for k in expected:
            assert_same(actual[k], expected[k], atol=atol, rtol=rtol, what=f"{what}[{k!r}]")
        return
    a, e = _as_array(actual), _as_array(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != expected {e.dtype}"
    if atol == 0 and rtol == 0:
        np.testing.assert_array_equal(a, e, err_msg=f"{what}: values differ")
    else:
        np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, err_msg=f"{what}: values differ")
