"""Nested Python objects <-> (JSON tree, named arrays), the layout of convnet's non-model files.

``flatten`` replaces every array by a reference ``{"__array__": name}`` (``__tensor__`` for a convnet
``Tensor``, ``__scalar__`` for a NumPy scalar) and collects the arrays under path-like names
(``model/conv1.weight``), so a state_dict's tensors keep their own names in the safetensors body.
Containers that JSON cannot say directly get one tag each: ``__tuple__``, ``__counter__``, and
``__items__`` (``[[key, value], ...]``) for dicts whose keys are not all plain strings, e.g. an
optimizer state's int keys. ``unflatten`` checks every node of a (possibly hostile) tree and raises
``FileFormatError`` for anything it did not write.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from .errors import FileFormatError
from .tensor import Tensor

__all__ = ["flatten", "unflatten"]

_ARRAY_TAGS = ("__array__", "__scalar__", "__tensor__")
_TAGS = _ARRAY_TAGS + ("__counter__", "__tuple__", "__items__")
_KEY_TYPES = (str, int, float, bool, type(None))


def _where(key):
    return f"entry {key!r}" if key else "the object"


def _join(key, k):
    return f"{key}/{k}" if key else str(k)


def _store(obj, key, arrays, tag, who):
    if obj.dtype == object:
        raise TypeError(f"{who}: {_where(key)} is an object array, which cannot be stored safely")
    name, i = key or "tensor", 1
    while name in arrays:  # e.g. {"a/b": x, "a": {"b": y}}: both would be "a/b"
        name, i = f"{key}#{i}", i + 1
    arrays[name] = obj if obj.flags.c_contiguous else obj.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
    return {tag: name}


def flatten(obj, key, arrays, who="save"):
    """The JSON tree of ``obj``; its arrays go into ``arrays`` (name -> ndarray, insertion order)."""
    if isinstance(obj, Tensor):
        return _store(obj._data, key, arrays, "__tensor__", who)
    if isinstance(obj, np.ndarray):
        return _store(obj, key, arrays, "__array__", who)
    if isinstance(obj, np.generic):
        return _store(np.asarray(obj), key, arrays, "__scalar__", who)
    if isinstance(obj, Counter):  # MultiStepLR's milestones
        if not all(isinstance(k, _KEY_TYPES) for k in obj):
            raise TypeError(f"{who}: {_where(key)} is a Counter with keys of unsupported type")
        return {"__counter__": [[k, int(v)] for k, v in obj.items()]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: flatten(v, _join(key, k), arrays, who) for k, v in obj.items()}
        bad = [k for k in obj if not isinstance(k, _KEY_TYPES)]
        if bad:
            raise TypeError(f"{who}: {_where(key)} has a dict key of type {type(bad[0]).__name__} "
                            "(keys may be str, int, float, bool or None)")
        return {"__items__": [[k, flatten(v, _join(key, k), arrays, who)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten(v, _join(key, i), arrays, who) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten(v, _join(key, i), arrays, who) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"{who}: {_where(key)} has a value of type {type(obj).__name__}, which cannot be "
                    "stored without pickling code (tensors, arrays, numbers, strings, None, lists, tuples and "
                    "dicts only; save a module's state_dict())")


def _key(k, path):
    if not isinstance(k, _KEY_TYPES):
        raise FileFormatError(f"{path} is corrupt: a stored dict key is a {type(k).__name__}")
    return k


def _pairs(v, path, tag):
    if not isinstance(v, list) or not all(isinstance(p, list) and len(p) == 2 for p in v):
        raise FileFormatError(f"{path} is corrupt: {tag} is not a list of [key, value] pairs")
    return v


def unflatten(obj, arrays, path):
    """Rebuild the object of ``flatten``'s tree ``obj``; ``arrays`` are the file's tensors."""
    if isinstance(obj, list):
        return [unflatten(v, arrays, path) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if not isinstance(obj, dict):  # pragma: no cover - json.loads makes nothing else
        raise FileFormatError(f"{path} is corrupt: unexpected {type(obj).__name__} in the stored state")
    tags = [k for k in obj if k.startswith("__")]
    if not tags:
        return {k: unflatten(v, arrays, path) for k, v in obj.items()}
    tag, value = tags[0], obj[tags[0]]
    if len(obj) != 1 or tag not in _TAGS:
        raise FileFormatError(f"{path} is corrupt: unknown entry {tag!r} in the stored state")
    if tag in _ARRAY_TAGS:
        if not isinstance(value, str) or value not in arrays:
            raise FileFormatError(f"{path} is corrupt: tensor {value!r} is referenced but missing")
        a = arrays[value]
        if tag == "__scalar__":
            if a.size != 1:  # older files stored scalars with shape (1,)
                raise FileFormatError(f"{path} is corrupt: scalar {value!r} has shape {a.shape}")
            return a.reshape(())[()]
        return Tensor._wrap(a, False) if tag == "__tensor__" else a
    if tag == "__tuple__":
        if not isinstance(value, list):
            raise FileFormatError(f"{path} is corrupt: __tuple__ is not a list")
        return tuple(unflatten(v, arrays, path) for v in value)
    pairs = _pairs(value, path, tag)
    if tag == "__counter__":
        if not all(type(n) is int for _, n in pairs):
            raise FileFormatError(f"{path} is corrupt: __counter__ counts are not integers")
        return Counter({_key(k, path): n for k, n in pairs})
    return {_key(k, path): unflatten(v, arrays, path) for k, v in pairs}
