"""Content-based image retrieval: a gallery of CNN feature vectors and nearest-neighbour search.

The story: run every gallery image through a trained network up to a layer (by default the input
of its classifier, the penultimate representation), L2-normalise the vectors, keep them. A query
image goes through the same network; its neighbours are the gallery vectors at the smallest
Euclidean distance. With unit vectors ``|q - g|² = 2 - 2 q·g``, so exact search is one matrix
product per block of queries (blocks bound the memory of the ``(queries, gallery)`` distance
matrix). For galleries of 10⁵ vectors and more, ``backend="faiss"`` searches a FAISS HNSW graph
instead (approximate; ``pip install convnet[faiss]``).

    index = Index.build(model, data.fashion_mnist("train"))
    distances, indices = index.search(query_images, k=10)     # (Q, 10) each, nearest first
    index.save("fmnist.index")                                  # safetensors, written atomically
"""
from __future__ import annotations

import json
import os

import numpy as np

from .. import _safetensors_io as st
from .._atomic_file import atomic_write
from ..autograd import no_grad
from ..errors import FileFormatError
from ..nn import Linear, Conv2d, Module
from ..tensor import Tensor

__all__ = ["Index", "embed", "exact_search", "smallest_k", "INDEX_FORMAT"]

INDEX_FORMAT = "convnet.retrieval.index"
BACKENDS = ("exact", "faiss")
_BLOCK_BYTES = 64 << 20  # at most this much memory for one block of the distance matrix


def _layer(model, layer):
    """``(module, "input" | "output")``: where the features are read (None: the last Linear/Conv2d's input)."""
    if layer is None:
        head = [m for _, m in model.named_modules() if isinstance(m, (Linear, Conv2d))]
        if not head:
            raise ValueError(f"Index.build: {type(model).__name__} has no Linear or Conv2d layer; pass layer=")
        return head[-1], "input"
    if not isinstance(layer, str):
        raise TypeError(f"Index.build: layer must be a module name (str) or None, received {type(layer).__name__}")
    try:
        return model.get_submodule(layer), "output"
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n]
        raise ValueError(f"Index.build: model has no layer {layer!r}; layers: {names}") from None


def embed(model, images, layer=None, normalize=True):
    """Feature vectors ``(N, D)`` float32 of ``images`` ``(N, C, H, W)``: the model's activation at
    ``layer`` (a module name; None: the input of its final Linear/Conv2d), flattened, L2-normalised
    when ``normalize``. The model runs in eval mode without gradients."""
    module, where = _layer(model, layer)
    got = []
    hook = (module.register_forward_pre_hook(lambda m, a: got.append(a[0])) if where == "input"
            else module.register_forward_hook(lambda m, a, out: got.append(out)))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            x = images if isinstance(images, Tensor) else Tensor(np.asarray(images, np.float32))
            model(x)
    finally:
        hook.remove()
        model.train(was_training)
    v = np.asarray(got[0]._data, np.float32).reshape(len(got[0]._data), -1)  # (N, ...) -> (N, D)
    return _normalize(v) if normalize else v


def _normalize(v):
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def _block_rows(n_gallery):
    return max(1, _BLOCK_BYTES // (8 * max(n_gallery, 1)))


def squared_distances(queries, gallery, offset=True):
    """Yield ``(start, D)``: blocks of squared Euclidean distances ``|q - g|²`` ``(rows, N)``, as
    ``|g|² - 2 q·g`` (one matrix product per block) ``+ |q|²``. ``offset=False`` leaves out the ``|q|²``
    term, which is the same along a row and so does not change the ranking."""
    g2 = np.einsum("nd,nd->n", gallery, gallery)
    g_2 = -2 * gallery
    rows = _block_rows(len(gallery))
    for s in range(0, len(queries), rows):
        q = queries[s:s + rows]
        d = q @ g_2.T                                                      # (rows, D) @ (D, N)
        d += g2[None, :]
        if offset:
            d += np.einsum("qd,qd->q", q, q)[:, None]
            np.maximum(d, 0, out=d)  # round-off
        yield s, d


def smallest_k(d, k):
    """``(values, indices)`` ``(rows, k)`` of the ``k`` smallest entries of each row of ``d``, ascending,
    equal values in index order.

    A full partition of every row is the slow part of search, so a threshold is found first: the
    ``k``-th smallest of the minima of blocks of 64 columns bounds the ``k``-th smallest entry from
    above (``k`` block minima are ``k`` distinct entries), and only the few entries under it are sorted.
    """
    rows, n = d.shape
    if k >= n:
        idx = np.argsort(d, axis=1, kind="stable")
        return np.take_along_axis(d, idx, 1), idx
    nb = n // 64
    if nb >= k:
        mins = d[:, :nb * 64].reshape(rows, nb, 64).min(axis=2)           # (rows, n) -> (rows, nb, 64) -> (rows, nb)
        threshold = np.partition(mins, k - 1, axis=1)[:, k - 1]
    else:
        threshold = np.partition(d, k - 1, axis=1)[:, k - 1]
    r, c = np.nonzero(d <= threshold[:, None])                             # at least k candidates per row
    v = d[r, c]
    order = np.lexsort((c, v, r))                                          # by row, then value, then index
    r, c, v = r[order], c[order], v[order]
    pos = np.searchsorted(r, np.arange(rows))[:, None] + np.arange(k)      # (rows, k): each row's first k
    return v[pos], c[pos].astype(np.int64)


def exact_search(queries, gallery, k):
    """``(distances, indices)`` ``(Q, k)``: the ``k`` gallery rows nearest each query (squared
    Euclidean distance), nearest first; equal distances in index order."""
    k = min(k, len(gallery))
    dist = np.empty((len(queries), k), np.float32)
    idx = np.empty((len(queries), k), np.int64)
    q2 = np.einsum("qd,qd->q", queries, queries)
    for s, d in squared_distances(queries, gallery, offset=False):
        dist[s:s + len(d)], idx[s:s + len(d)] = smallest_k(d, k)
    dist += q2[:, None]
    return np.maximum(dist, 0, out=dist), idx


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("the faiss backend needs FAISS: pip install 'convnet[faiss]' (or faiss-cpu)") from None
    return faiss


class Index:
    """A searchable gallery of feature vectors.

    Args:
        vectors: ``(N, D)`` gallery features (L2-normalised here when ``normalize``).
        labels: ``(N,)`` int labels of the gallery images, or None.
        model: the network that embeds query images (needed by :meth:`search`, not by
            :meth:`search_vectors`).
        layer: where the model's features are read (None: the input of its final layer).
        normalize: L2-normalise gallery and query vectors.
        backend: ``"exact"`` (default: blocked matrix products) or ``"faiss"`` (HNSW graph,
            approximate, for large galleries).
        meta: JSON-serialisable facts saved with the index (dataset, split, checkpoint path, ...).
    """

    def __init__(self, vectors, labels=None, model=None, layer=None, normalize=True, backend="exact", meta=None):
        vectors = np.ascontiguousarray(vectors, np.float32)
        if vectors.ndim != 2 or len(vectors) == 0:
            raise ValueError(f"Index: vectors must be a non-empty (N, D) array, received shape {vectors.shape}")
        if labels is not None:
            labels = np.asarray(labels, np.int64).reshape(-1)
            if len(labels) != len(vectors):
                raise ValueError(f"Index: {len(labels)} labels for {len(vectors)} vectors")
        if backend not in BACKENDS:
            raise ValueError(f"Index: backend must be one of {BACKENDS}, received {backend!r}")
        self.vectors = _normalize(vectors) if normalize else vectors
        self.labels, self.model, self.layer, self.normalize = labels, model, layer, bool(normalize)
        self.backend, self.meta = backend, dict(meta or {})
        self._faiss_index = None

    def __len__(self):
        return len(self.vectors)

    def __repr__(self):
        return f"Index({len(self)} vectors of dim {self.vectors.shape[1]}, backend={self.backend!r})"

    @classmethod
    def build(cls, model, dataset, layer=None, normalize=True, batch_size=256, backend="exact", meta=None):
        """Embed every sample of ``dataset`` (``(x, y)`` pairs, in order) with ``model`` and index them."""
        if not isinstance(model, Module):
            raise TypeError(f"Index.build: model must be a convnet Module, received {type(model).__name__}")
        if len(dataset) == 0:
            raise ValueError("Index.build: the dataset is empty")
        feats, labels = [], []
        for s in range(0, len(dataset), batch_size):
            x, y = _batch(dataset, np.arange(s, min(s + batch_size, len(dataset))))
            feats.append(embed(model, x, layer, normalize))
            labels.append(y)
        meta = {"layer": layer, **(meta or {})}
        return cls(np.concatenate(feats), np.concatenate(labels), model, layer, normalize, backend, meta)

    def embed(self, images):
        """Query features ``(Q, D)`` of ``images`` ``(Q, C, H, W)`` with the index's model and layer."""
        if self.model is None:
            raise ValueError("Index.search: this index has no model to embed images; pass model= to Index.load, "
                             "or search feature vectors with search_vectors")
        return embed(self.model, images, self.layer, self.normalize)

    def search(self, images, k=10):
        """The ``k`` nearest gallery images of each query image: ``(distances, indices)``, each ``(Q, k)``,
        nearest first; distances are squared Euclidean (``2 - 2·cos`` for normalised features)."""
        return self.search_vectors(self.embed(images), k, normalized=True)

    def search_vectors(self, queries, k=10, normalized=False):
        """As :meth:`search`, for query feature vectors ``(Q, D)``."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"Index.search: k must be a positive integer, received {k!r}")
        q = np.ascontiguousarray(getattr(queries, "_data", queries), np.float32)
        if q.ndim != 2 or q.shape[1] != self.vectors.shape[1]:
            raise ValueError(f"Index.search: queries must have shape (Q, {self.vectors.shape[1]}), received {q.shape}")
        if self.normalize and not normalized:
            q = _normalize(q)
        if self.backend == "faiss":
            return self._search_faiss(q, int(k))
        return exact_search(q, self.vectors, int(k))

    def _search_faiss(self, q, k):
        faiss = _faiss()
        if self._faiss_index is None:  # built on first use (HNSW: no training, ~98% recall@10 here)
            index = faiss.IndexHNSWFlat(self.vectors.shape[1], 32)
            index.hnsw.efConstruction = 80
            index.add(self.vectors)
            self._faiss_index = index
        self._faiss_index.hnsw.efSearch = max(64, 2 * k)
        dist, idx = self._faiss_index.search(q, min(k, len(self)))
        return dist.astype(np.float32), idx.astype(np.int64)

    def save(self, path):
        """Write the index as one safetensors file (``vectors``, ``labels``; settings in its metadata), atomically."""
        arrays = {"vectors": self.vectors}
        if self.labels is not None:
            arrays["labels"] = self.labels
        meta = {**self.meta, "layer": self.layer, "normalize": self.normalize, "backend": self.backend}
        text = json.dumps(meta)
        atomic_write(os.fspath(path), lambda f: st.write(f, arrays, {"format": INDEX_FORMAT, "convnet": text}))
        return os.fspath(path)

    @classmethod
    def load(cls, path, model=None, backend=None):
        """Read an index written by :meth:`save`. ``model`` embeds queries; when None and the index records
        the checkpoint it was built with (``meta["checkpoint"]``), that checkpoint is loaded."""
        path = os.fspath(path)
        f, size = st.open_checked(path)
        with f:
            header = st.read_header(f, size, path)
            arrays = st.read_tensors(f, header)
        if header.metadata.get("format") != INDEX_FORMAT or "vectors" not in arrays:
            raise FileFormatError(f"{path} is not a retrieval index (expected a file written by Index.save / "
                                  "'convnet index')")
        try:
            meta = json.loads(header.metadata.get("convnet", "{}"))
        except ValueError:
            raise FileFormatError(f"{path} is corrupt: its convnet metadata is not valid JSON") from None
        if model is None and meta.get("checkpoint"):
            from ..checkpoint import load_model

            model = load_model(meta["checkpoint"])
        return cls(arrays["vectors"], arrays.get("labels"), model, meta.get("layer"),
                   normalize=False, backend=backend or meta.get("backend", "exact"),
                   meta=meta)._restore_normalize(meta.get("normalize", True))

    def _restore_normalize(self, flag):
        self.normalize = bool(flag)  # the stored vectors are already normalised: only queries need it
        return self


def _batch(dataset, idx):
    """Inputs ``(B, ...)`` float32 and labels ``(B,)`` int64 of the samples ``idx``."""
    if hasattr(dataset, "get_batch"):
        x, y = dataset.get_batch(idx)[:2]
    else:
        pairs = [dataset[int(i)] for i in idx]
        x = np.stack([np.asarray(getattr(p[0], "_data", p[0])) for p in pairs])
        y = np.asarray([int(np.asarray(getattr(p[1], "_data", p[1]))) for p in pairs])
    return np.asarray(getattr(x, "_data", x), np.float32), np.asarray(getattr(y, "_data", y)).astype(np.int64)
