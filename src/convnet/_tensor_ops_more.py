"""Tensor methods for the index, scan and contraction ops (``gather``, ``cumsum``, ``dot``, ...):
each dispatches to its op in ``convnet.ops`` (``indexing``, ``scan``, ``rearrange``, ``matmul``)."""
from __future__ import annotations


class MoreOpsMethods:
    """Mixin of :class:`~convnet.tensor.Tensor`: index, scan, reorder and product methods."""

    # ------------------------------------------------------------------ indexing
    def gather(self, dim, index):
        from .ops.indexing import gather

        return gather(self, dim, index)

    def index_select(self, dim, index):
        from .ops.indexing import index_select

        return index_select(self, dim, index)

    def masked_select(self, mask):
        from .ops.indexing import masked_select

        return masked_select(self, mask)

    def scatter(self, dim, index, src=None, value=None):
        from .ops.indexing import scatter

        return scatter(self, dim, index, src, value)

    def scatter_add(self, dim, index, src):
        from .ops.indexing import scatter_add

        return scatter_add(self, dim, index, src)

    def nonzero(self, as_tuple=False):
        from .ops.indexing import nonzero

        return nonzero(self, as_tuple)

    def count_nonzero(self, dim=None):
        from .ops.indexing import count_nonzero

        return count_nonzero(self, dim)

    # ------------------------------------------------------------------ products and scans
    def prod(self, dim=None, keepdim=False, dtype=None):
        from .ops.scan import prod

        return prod(self, dim, keepdim, dtype)

    def cumsum(self, dim, dtype=None):
        from .ops.scan import cumsum

        return cumsum(self, dim, dtype)

    def cumprod(self, dim, dtype=None):
        from .ops.scan import cumprod

        return cumprod(self, dim, dtype)

    def logsumexp(self, dim, keepdim=False):
        from .ops.scan import logsumexp

        return logsumexp(self, dim, keepdim)

    # ------------------------------------------------------------------ reordering
    def flip(self, *dims):
        from .ops.rearrange import flip

        return flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts, dims=None):
        from .ops.rearrange import roll

        return roll(self, shifts, dims)

    def unbind(self, dim=0):
        from .ops.rearrange import unbind

        return unbind(self, dim)

    # ------------------------------------------------------------------ products of tensors
    def dot(self, other):
        from .ops.matmul import dot

        return dot(self, other)

    def bmm(self, mat2):
        from .ops.matmul import bmm

        return bmm(self, mat2)

    def outer(self, vec2):
        from .ops.matmul import outer

        return outer(self, vec2)

    def equal(self, other):
        """True when both tensors have the same shape and the same values (``torch.equal``)."""
        return self.shape == other.shape and bool((self._data == other._data).all())
