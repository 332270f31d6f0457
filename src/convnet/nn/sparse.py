"""``Embedding``: a learned lookup table (``torch.nn.Embedding``)."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """Map integer ids to learned vectors.

    Args:
        num_embeddings: size of the table (ids ``0..num_embeddings-1``).
        embedding_dim: size of each vector.
        padding_idx: this row is initialised to zeros and gets no gradient.
        max_norm, norm_type: rows looked up with a larger norm are rescaled in place (torch's).

    Shape:
        ``(*)`` int64 -> ``(*, embedding_dim)``.

    Attributes:
        weight: ``(num_embeddings, embedding_dim)`` ~ N(0, 1) (torch's init), padding row zero.

    Example:
        >>> import convnet as cn
        >>> emb = cn.nn.Embedding(10, 3, padding_idx=0)
        >>> emb(cn.tensor([[1, 0, 4]])).shape
        (1, 3, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, *, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if self.num_embeddings < 1 or self.embedding_dim < 1:
            raise ValueError(f"Embedding: num_embeddings and embedding_dim must be positive, got "
                             f"({num_embeddings}, {embedding_dim})")
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings={num_embeddings}, "
                                 f"got {padding_idx}")
            padding_idx %= self.num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            self.weight = Parameter(np.empty(shape, dtype=np.float32 if dtype is None else np.dtype(dtype)))
            self.reset_parameters()
        else:
            w = Parameter(_weight, requires_grad=not _freeze)
            if tuple(w.shape) != shape:
                raise ValueError(f"Embedding: _weight must have shape {shape}, got {tuple(w.shape)}")
            self.weight = w

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose table is ``embeddings`` ``(num_embeddings, embedding_dim)`` (frozen by default)."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {embeddings.shape}")
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s


__all__ = ["Embedding"]
