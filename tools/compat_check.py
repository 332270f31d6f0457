"""Measure how much of a first-hour PyTorch script runs unchanged on convnet.

Each snippet (listed in ``tools/compat_snippets.py``) is written once, with the names ``torch``,
``nn``, ``F`` and ``optim``, and assigns its result to ``out``.
It runs twice: with ``torch``, ``torch.nn``, ``torch.nn.functional``, ``torch.optim``
bound to those names, and with ``convnet``, ``convnet.nn``, ``convnet.functional``, ``convnet.optim``.
(``path`` holds a fresh temporary file name for save/load snippets.) The two ``out`` values are
compared: tensors by shape, dtype name and values (rtol 1e-5, atol 1e-6), tuples/lists/dicts entry
by entry, Python scalars by type and value, dtypes and devices by name, other objects by class name.
Snippets marked ``shape`` (random numbers, random initialisations) compare shapes and dtypes only.

Status: ``works`` (same result, or both raise the same error class), ``differs`` (both ran but the
results disagree, or only torch raised, or the error classes differ), ``fails`` (convnet raised).

    .venv/bin/python tools/compat_check.py              # plain table + total line
    .venv/bin/python tools/compat_check.py --markdown   # the table of docs/pytorch-compat.md
    .venv/bin/python tools/compat_check.py -k conv      # only snippets whose code contains "conv"
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import io
import os
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compat_snippets import SNIPPETS, Snippet  # noqa: E402

__all__ = ["SNIPPETS", "Snippet", "check", "check_all", "compare", "libraries", "render", "run", "totals"]


# ---------------------------------------------------------------------------------------------- running
def libraries(name):
    """The four names a snippet sees, bound to torch or to convnet."""
    if name == "torch":
        import torch
        import torch.nn
        import torch.nn.functional
        import torch.optim
        import torch.utils.data  # noqa: F401
        return {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "optim": torch.optim}
    import convnet
    ns = {"torch": convnet}
    for key, mod in (("nn", "convnet.nn"), ("F", "convnet.functional"), ("optim", "convnet.optim")):
        try:
            ns[key] = importlib.import_module(mod)
        except Exception as e:  # noqa: BLE001 - a broken module must not stop the measurement
            ns[key] = _Broken(mod, e)
    return ns


class _Broken:
    """Stands in for a module that failed to import; any attribute access re-raises its error."""

    def __init__(self, name, error):
        self._name, self._error = name, error

    def __getattr__(self, attr):
        raise ImportError(f"{self._name} failed to import: {self._error!r}")


@contextlib.contextmanager
def _torch_import_alias(lib):
    """``import torch...`` inside a snippet must find convnet when convnet is the library under test."""
    if lib["torch"].__name__ == "torch":
        yield
        return
    saved = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    for k in saved:
        del sys.modules[k]
    sys.modules["torch"] = lib["torch"]
    for sub in ("nn", "nn.functional", "optim", "utils", "utils.data"):
        try:
            sys.modules["torch." + sub] = importlib.import_module("convnet." + sub)
        except Exception:  # noqa: BLE001
            pass
    try:
        yield
    finally:
        for k in [k for k in sys.modules if k == "torch" or k.startswith("torch.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def run(code, lib, tmpdir):
    """Execute ``code`` with the library's names; return ``(out, None)`` or ``(None, exception)``."""
    path = os.path.join(tmpdir, "snippet.pt")
    if os.path.exists(path):
        os.remove(path)
    ns = dict(lib, path=path, __name__="__snippet__")
    top = lib["torch"]
    with contextlib.suppress(Exception):
        top.manual_seed(0)
    try:
        with _torch_import_alias(lib), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            exec(compile(code, "<snippet>", "exec"), ns)  # noqa: S102 - our own snippet strings
        if "out" not in ns:
            return None, NameError("snippet did not set `out`")
        return _normalize(ns["out"]), None
    except Exception as e:  # noqa: BLE001
        return None, e
    finally:  # a snippet that fails inside no_grad() must not leave grad mode off for the next one
        with contextlib.suppress(Exception):
            top.set_grad_enabled(True)


# ---------------------------------------------------------------------------------------------- comparing
def _dtype_name(d):
    return str(d).replace("torch.", "").replace("convnet.", "").replace("dtype(", "").strip("')\"")


def _normalize(x):
    """A framework-neutral form: ('tensor', shape, dtype, ndarray), ('scalar', type, v), lists, dicts..."""
    cls = type(x)
    mod = cls.__module__.split(".")[0]
    if cls.__name__ in ("Tensor", "Parameter") or (hasattr(x, "shape") and hasattr(x, "requires_grad")):
        arr = _as_numpy(x)
        return ("tensor", tuple(int(s) for s in x.shape), _dtype_name(x.dtype), arr)
    if isinstance(x, np.ndarray):
        return ("ndarray", x.shape, x.dtype.name, x)
    if isinstance(x, np.generic):
        return ("numpy-scalar", type(x).__name__, x.item())
    if isinstance(x, (bool, int, float, complex, str)) or x is None:
        return ("scalar", type(x).__name__, x)
    if cls.__name__ == "dtype" or (mod in ("torch", "numpy") and "dtype" in cls.__name__.lower()):
        return ("dtype", _dtype_name(x))
    if cls.__name__ == "device":
        return ("device", str(x))
    if cls.__name__ == "Size" or isinstance(x, tuple) and hasattr(x, "_fields"):
        return ("seq", [_normalize(v) for v in x])  # torch.Size, namedtuples (values, indices)
    if isinstance(x, (list, tuple)):
        return ("seq", [_normalize(v) for v in x])
    if isinstance(x, dict):
        return ("dict", [(str(k), _normalize(v)) for k, v in x.items()])
    if hasattr(x, "__iter__") and hasattr(x, "__next__"):
        return ("seq", [_normalize(v) for v in x])
    return ("object", cls.__name__)


def _as_numpy(t):
    for get in (lambda: t.detach().cpu().numpy(), lambda: np.asarray(t._data), lambda: np.asarray(t)):
        try:
            return np.asarray(get())
        except Exception:  # noqa: BLE001
            continue
    return None


def compare(ours, theirs, mode="value"):
    """``None`` when equal, else a short reason (first difference)."""
    if ours[0] != theirs[0]:
        return f"{_kind(ours)} instead of {_kind(theirs)}"
    kind = ours[0]
    if kind in ("tensor", "ndarray"):
        if ours[1] != theirs[1]:
            return f"shape {ours[1]} vs {theirs[1]}"
        if ours[2] != theirs[2]:
            return f"dtype {ours[2]} vs {theirs[2]}"
        if mode == "shape":
            return None
        a, b = ours[3], theirs[3]
        if a is None:
            return "values unreadable"
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            if not np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-5, atol=1e-6, equal_nan=True):
                return f"values differ (max |diff| {np.nanmax(np.abs(a.astype(float) - b.astype(float))):.3g})"
        elif not np.array_equal(a, b):
            return "values differ"
        return None
    if kind in ("scalar", "numpy-scalar"):
        if ours[1] != theirs[1]:
            return f"{ours[1]} instead of {theirs[1]}"
        if mode == "shape":
            return None
        a, b = ours[2], theirs[2]
        if isinstance(a, float) and isinstance(b, float):
            return None if np.isclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True) else f"{a!r} vs {b!r}"
        return None if a == b else f"{a!r} vs {b!r}"[:80]
    if kind == "seq":
        if len(ours[1]) != len(theirs[1]):
            return f"length {len(ours[1])} vs {len(theirs[1])}"
        for i, (a, b) in enumerate(zip(ours[1], theirs[1])):
            why = compare(a, b, mode)
            if why:
                return f"[{i}]: {why}"
        return None
    if kind == "dict":
        ka, kb = [k for k, _ in ours[1]], [k for k, _ in theirs[1]]
        if ka != kb:
            return f"keys {ka} vs {kb}"[:100]
        for (k, a), (_, b) in zip(ours[1], theirs[1]):
            why = compare(a, b, mode)
            if why:
                return f"[{k!r}]: {why}"
        return None
    return None if ours[1:] == theirs[1:] else f"{ours[1]!r} vs {theirs[1]!r}"


def _kind(n):
    return {"tensor": "tensor", "ndarray": "ndarray", "seq": "sequence", "dict": "dict",
            "scalar": n[1] if n[0] == "scalar" else "", "numpy-scalar": f"numpy.{n[1]}"}.get(n[0], n[0])


def check(snippet, torch_lib, ours_lib, tmpdir):
    """``(status, detail)`` for one snippet: works / differs / fails."""
    theirs, t_err = run(snippet.code, torch_lib, tmpdir)
    ours, o_err = run(snippet.code, ours_lib, tmpdir)
    if t_err is not None and o_err is not None:
        if isinstance(o_err, type(t_err)) or type(o_err).__name__ == type(t_err).__name__:
            return "works", f"same error class ({type(t_err).__name__})"
        return "differs", f"{type(o_err).__name__} instead of {type(t_err).__name__}"
    if o_err is not None:
        return "fails", _short(o_err)
    if t_err is not None:
        return "differs", f"torch raises {type(t_err).__name__}, convnet does not"
    why = compare(ours, theirs, snippet.mode)
    return ("differs", why) if why else ("works", "")


def _short(e, n=90):
    msg = str(e).splitlines()[0] if str(e) else ""
    text = f"{type(e).__name__}: {msg}"
    return text if len(text) <= n else text[: n - 3] + "..."


def check_all(snippets=SNIPPETS):
    torch_lib, ours_lib = libraries("torch"), libraries("convnet")
    with tempfile.TemporaryDirectory(prefix="compat_check_") as tmpdir:
        return [(s, *check(s, torch_lib, ours_lib, tmpdir)) for s in snippets]


# ---------------------------------------------------------------------------------------------- report
def _display(code):
    return " ⏎ ".join(line.strip() for line in code.splitlines())


def totals(results):
    c = collections.Counter(status for _, status, _ in results)
    return f"{len(results)} snippets: {c['works']} work, {c['differs']} differ, {c['fails']} fail"


def render(results, markdown=False):
    lines = []
    if markdown:
        lines += ["| # | area | snippet | status | detail |", "|---|---|---|---|---|"]
        for i, (s, status, detail) in enumerate(results, 1):
            code = _display(s.code).replace("|", "\\|")
            mark = " (shapes)" if s.mode == "shape" else ""
            lines.append(f"| {i} | {s.category}{mark} | `{code}` | {status} | {detail.replace('|', '/')} |")
    else:
        for i, (s, status, detail) in enumerate(results, 1):
            code = _display(s.code)
            code = code if len(code) <= 78 else code[:75] + "..."
            lines.append(f"{i:4d}  {status:8s} {code:78s}  {detail}")
    lines += ["", totals(results)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("-k", default="", help="only snippets whose code or area contains this text")
    parser.add_argument("--status", choices=["works", "differs", "fails"], help="only rows with this status")
    args = parser.parse_args(argv)
    chosen = [s for s in SNIPPETS if args.k in s.code or args.k in s.category]
    results = check_all(chosen)
    shown = [r for r in results if args.status is None or r[1] == args.status]
    text = render(shown, markdown=args.markdown)
    if args.status:
        text += f"\n(of all: {totals(results)})"
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
