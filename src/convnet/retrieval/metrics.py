"""How good a ranking is: mean average precision over the whole gallery and precision@k.

A gallery item is relevant to a query when it has the query's label. For one query, rank the whole
gallery by distance; precision@k is the fraction of relevant items among the first ``k``, and the
average precision is the mean, over the relevant items, of the precision at each one's rank
(``sklearn.metrics.average_precision_score`` of the negated distances, without ties). mAP is the mean
over queries.
"""
from __future__ import annotations

import numpy as np

from .index import squared_distances

__all__ = ["retrieval_metrics"]


def retrieval_metrics(queries, query_labels, gallery, gallery_labels, k=10):
    """``{"map", "precision_at_k", "k"}`` of ranking ``gallery`` ``(N, D)`` for each of ``queries`` ``(Q, D)``
    by squared Euclidean distance (ties in index order)."""
    queries, gallery = np.asarray(queries, np.float32), np.asarray(gallery, np.float32)
    query_labels, gallery_labels = np.asarray(query_labels).reshape(-1), np.asarray(gallery_labels).reshape(-1)
    if len(queries) != len(query_labels) or len(gallery) != len(gallery_labels):
        raise ValueError("retrieval_metrics: one label per query and per gallery vector is needed, received "
                         f"{len(query_labels)} for {len(queries)} queries, {len(gallery_labels)} for {len(gallery)}")
    ap, pk = np.zeros(len(queries)), np.zeros(len(queries))
    ranks = np.arange(1, len(gallery) + 1)
    for s, d in squared_distances(queries, gallery, offset=False):  # ranks only
        order = np.argsort(d, axis=1, kind="stable")                        # (rows, N) nearest first
        rel = gallery_labels[order] == query_labels[s:s + len(d), None]     # (rows, N) relevant?
        hits = np.cumsum(rel, axis=1)
        n_rel = hits[:, -1]
        ap[s:s + len(d)] = np.where(n_rel > 0, (rel * hits / ranks).sum(1) / np.maximum(n_rel, 1), 0.0)
        pk[s:s + len(d)] = hits[:, min(k, len(gallery)) - 1] / min(k, len(gallery))
    return {"map": float(ap.mean()), "precision_at_k": float(pk.mean()), "k": int(k)}
