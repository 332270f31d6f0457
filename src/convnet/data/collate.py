"""``default_collate``: a list of samples -> one batch, with ``torch.utils.data.default_collate``'s rules.

=========================================  ==============================================
sample element                              batch
=========================================  ==============================================
``cn.Tensor`` ``(*S)``                      ``cn.Tensor`` ``(B, *S)`` (stacked, dtype kept)
NumPy array ``(*S)`` / NumPy scalar         ``cn.Tensor`` ``(B, *S)`` (dtype kept)
Python ``float``                            ``cn.Tensor`` ``(B,)`` float64
Python ``int`` / ``bool``                   ``cn.Tensor`` ``(B,)`` int64 / bool
``str`` / ``bytes``                         the list of them
``dict`` (any Mapping)                      a dict of collated values, key by key
namedtuple                                  the same namedtuple of collated fields
``tuple`` / ``list``                        a ``list`` of collated fields (equal lengths required)
=========================================  ==============================================
"""
from __future__ import annotations

import collections.abc

import numpy as np

from ..tensor import Tensor

__all__ = ["default_collate", "to_tensors"]


def _wrap(a):
    return Tensor._wrap(np.ascontiguousarray(a), False)


def default_collate(batch):
    """Collate a list of samples into a batch (see the module table); nested structures recurse.

    Example:
        >>> out = default_collate([{"x": np.zeros(3, np.float32), "y": 1}, {"x": np.ones(3, np.float32), "y": 2}])
        >>> tuple(out["x"].shape), out["y"].dtype
        ((2, 3), dtype('int64'))
    """
    if not isinstance(batch, (list, tuple)) or not batch:
        raise TypeError(f"default_collate: expected a non-empty list of samples, received {type(batch).__name__}")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _wrap(np.stack([s._data for s in batch]))
    if isinstance(elem, (np.ndarray, np.generic)) and elem.dtype.kind not in "OUSV":
        return _wrap(np.stack([np.asarray(s) for s in batch]))
    if isinstance(elem, bool):
        return _wrap(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return _wrap(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        return _wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(f)) for f in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(s) != size for s in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size; "
                               f"received lengths {sorted({len(s) for s in batch})}")
        return [default_collate(list(f)) for f in zip(*batch)]
    raise TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem)} (add transforms.ToTensor() to the dataset's transform for PIL images)")


def to_tensors(obj):
    """NumPy arrays anywhere in a (nested) batch -> ``cn.Tensor``s; everything else unchanged."""
    if isinstance(obj, np.ndarray):
        return _wrap(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_tensors(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_tensors(v) for v in obj)
    if isinstance(obj, dict):
        return {k: to_tensors(v) for k, v in obj.items()}
    return obj
