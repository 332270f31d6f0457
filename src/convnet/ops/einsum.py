"""``einsum``: Einstein summation over labelled dimensions, with its backward.

The gradient of operand ``i`` is itself an einsum: contract the upstream gradient (labels of the
output) with every other operand, producing operand ``i``'s labels. Labels that appear only in
operand ``i`` were summed away in the forward pass, so the gradient is broadcast along them; a
label repeated within operand ``i`` (a diagonal, ``'ii->i'``) receives the gradient on that
diagonal only.
"""
from __future__ import annotations

import string

from .._backend import array_module
from ..autograd import Function
from ..errors import ShapeError
from ._util import as_tensor


class Einsum(Function):
    def forward(self, *arrays, subs=(), out=""):
        self.subs, self.out = subs, out
        self.save_for_backward(*arrays)
        xp = array_module(*arrays)
        return xp.einsum(",".join(subs) + "->" + out, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        arrays = self.saved_tensors
        xp = array_module(g)
        grads = []
        for i, (a, s) in enumerate(zip(arrays, self.subs)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [(x, t) for j, (x, t) in enumerate(zip(arrays, self.subs)) if j != i]
            seen = set(self.out).union(*[set(t) for _, t in others])
            labels = list(dict.fromkeys(s))                       # operand i's distinct labels
            size = {lab: a.shape[s.index(lab)] for lab in labels}
            keep = "".join(lab for lab in labels if lab in seen)
            eq = ",".join([self.out] + [t for _, t in others]) + "->" + keep
            gk = xp.einsum(eq, g, *[x for x, _ in others], optimize=len(others) > 1)
            # labels summed only inside operand i: broadcast the gradient along them
            shape = [size[lab] if lab in keep else 1 for lab in labels]
            order = [keep.index(lab) for lab in labels if lab in keep]
            gu = xp.broadcast_to(gk.transpose(order).reshape(shape), [size[lab] for lab in labels])
            if len(labels) == len(s):
                grads.append(gu.astype(a.dtype, copy=False))
                continue
            full = xp.zeros(a.shape, dtype=g.dtype)               # a repeated label: its diagonal only
            index = []
            for lab in s:
                k = labels.index(lab)
                index.append(xp.arange(size[lab]).reshape([-1 if m == k else 1 for m in range(len(labels))]))
            full[tuple(index)] = gu
            grads.append(full)
        return tuple(grads)


def _expand_ellipsis(term, ndim, ell):
    """``term`` with ``...`` replaced by the last labels of ``ell`` (one per broadcast dimension)."""
    if "..." not in term:
        return term
    n = ndim - (len(term) - 3)
    if n < 0:
        raise ShapeError(f"einsum: subscripts '{term}' have more labels than the operand's {ndim} dimensions")
    return term.replace("...", ell[len(ell) - n:] if n else "")


def einsum(equation, *operands):
    """Sum of products over labelled dimensions (``torch.einsum``), e.g. ``'bij,bjk->bik'``
    (batched matmul), ``'ii->'`` (trace), ``'i,j->ij'`` (outer product). Operands may also be
    passed as one list. Without ``->`` the output holds the labels that appear once, sorted.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = [as_tensor(t) for t in operands]
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ops):
        raise ShapeError(f"einsum: the equation '{equation}' names {len(terms)} operand(s) but "
                         f"{len(ops)} were given")
    free = [c for c in string.ascii_letters if c not in eq]
    n_ell = max([t.ndim - (len(term) - 3) for t, term in zip(ops, terms) if "..." in term] or [0])
    ell = "".join(free[:n_ell])
    subs = []
    for t, term in zip(ops, terms):
        term = _expand_ellipsis(term, t.ndim, ell)
        if not all(c in string.ascii_letters for c in term) or len(term) != t.ndim:
            raise ShapeError(f"einsum: subscripts '{term}' do not match an operand of shape {tuple(t.shape)}")
        subs.append(term)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = "".join(subs)
        out = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ell))
    if any(c not in "".join(subs) for c in out) or len(set(out)) != len(out):
        raise ShapeError(f"einsum: output subscripts '{rhs}' must be distinct labels that appear in the inputs")
    sizes = {}
    for t, term in zip(ops, subs):
        for c, n in zip(term, t.shape):
            if sizes.setdefault(c, n) != n:
                raise ShapeError(f"einsum: label '{c}' has size {sizes[c]} in one operand and {n} in another "
                                 f"(equation '{equation}', shapes {[tuple(o.shape) for o in ops]})")
    return Einsum.apply(*ops, subs=tuple(subs), out=out)
