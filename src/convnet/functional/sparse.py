"""Lookup tables: ``embedding`` and ``one_hot`` (``torch.nn.functional``'s sparse family).

``embedding`` is a gather of weight rows (indexing's backward scatter-adds the upstream gradient
into the rows, adding where an index repeats); the ``padding_idx`` row gets no gradient.
"""
from __future__ import annotations

from .. import ops
from .._backend import array_module
from ..ops._util import check_float
from ..tensor import Tensor


def _check_indices(fn, input, n):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: argument 'input' must be a Tensor of integer indices, got {type(input).__name__}")
    if input.dtype.kind not in "iu":
        raise TypeError(f"{fn}: argument 'input' must be an integer tensor (int64 indices), got dtype {input.dtype}")
    idx = input._data
    if idx.size and (idx.min() < 0 or (n is not None and idx.max() >= n)):
        bad = idx.min() if idx.min() < 0 else idx.max()
        valid = "non-negative class indices" if n is None else f"{n} rows (valid: 0..{n - 1})"
        raise IndexError(f"{fn}: index {int(bad)} is out of range for {valid}")
    return idx


def _padding_index(fn, padding_idx, n):
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise ValueError(f"{fn}: padding_idx must be within [-{n}, {n}) for num_embeddings={n}, got {padding_idx}")
    return padding_idx % n


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` at the indices ``input``.

    Args:
        input: integer tensor of any shape ``(*)``, values in ``[0, num_embeddings)``.
        weight: ``(num_embeddings, embedding_dim)``.
        padding_idx: the row at this index receives no gradient.
        max_norm: if given, the referenced rows whose ``norm_type``-norm exceeds it are rescaled
            in place to norm ``max_norm`` before the lookup (as torch).

    Shape:
        ``(*) -> (*, embedding_dim)``.

    Backward:
        dL/dweight[i] = sum of dL/dy over the positions whose index is i (a scatter-add of the gathered rows'
        gradients); the ``padding_idx`` row gets none; ``input`` (integers) has no gradient.
    """
    check_float("embedding", "weight", weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    if scale_grad_by_freq or sparse:
        raise ValueError("embedding: scale_grad_by_freq=True and sparse=True are not supported")
    n = weight.shape[0]
    idx = _check_indices("embedding", input, n)
    padding_idx = _padding_index("embedding", padding_idx, n)
    if max_norm is not None:
        _renorm_rows(weight._data, idx, max_norm, norm_type)
    out = ops.getitem(weight, idx)                                 # (*, embedding_dim)
    if padding_idx is not None and (idx == padding_idx).any():     # no gradient to the padding row
        frozen = Tensor._wrap(weight._data[idx], False)
        out = ops.where((idx == padding_idx)[..., None], frozen, out)
    return out


def _renorm_rows(w, idx, max_norm, norm_type):
    """torch's embedding_renorm_: rows referenced by ``idx`` with norm > max_norm scaled to max_norm."""
    xp = array_module(w)
    rows = xp.unique(idx.reshape(-1))
    norms = (xp.abs(w[rows]) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    big = norms > max_norm
    scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
    w[rows[big]] *= scale[:, None]


def one_hot(tensor, num_classes=-1):
    """``(*)`` int64 class indices -> ``(*, num_classes)`` int64 one-hot rows.

    ``num_classes=-1`` takes ``max(tensor) + 1``.
    """
    idx = _check_indices("one_hot", tensor, None)
    xp = array_module(idx)
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot: can not infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    elif num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be positive or -1, got {num_classes}")
    elif idx.size and idx.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, "
                         f"got {int(idx.max())}")
    out = (idx[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor._wrap(out, False)


__all__ = ["embedding", "one_hot"]
