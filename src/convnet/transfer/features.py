"""Cached features: run the frozen base once, keep its outputs on disk, train a shallow net on them.

The notes' third recipe ("to go faster"): a frozen base computes the same representation of an
image in every epoch, so compute it once. :func:`extract_features` writes the representation of a
whole dataset in chunks of ``chunk_size`` samples, each chunk an atomic safetensors file in
``PATH.parts/``; an interrupted extraction continues from the chunks already on disk (each checked
to belong to the same model, layer and dataset) and recomputes none of them. The chunks are then
joined into ``PATH``, one safetensors file with the tensors ``features`` ``(N, ...)`` float32 and
``labels`` ``(N,)`` int64, readable by any safetensors reader.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np

from .. import _safetensors_io as st
from ..autograd import no_grad
from ..checkpoint import atomic_write
from ..errors import FileFormatError
from ..nn import Module
from ..tensor import Tensor
from .freeze import find_head

__all__ = ["extract_features", "load_features", "FEATURES_FORMAT"]

FEATURES_FORMAT = "convnet.features"


class _Captured(Exception):
    """Raised by the capture hook to stop the forward pass once the wanted layer has run."""


def _layer(model, layer):
    """``(name, module, "output" | "input")``: where the features are read."""
    if layer is None:
        name, head = find_head(model)
        return name, head, "input"  # what the final layer sees: the penultimate representation
    if isinstance(layer, Module):
        name = next((n for n, m in model.named_modules() if m is layer), None)
        if name is None:
            raise ValueError("extract_features: the layer Module passed is not part of the model")
        return name, layer, "output"
    if not isinstance(layer, str):
        raise TypeError(f"extract_features: layer must be a module name (str), a Module of the model or None, "
                        f"received {type(layer).__name__}")
    try:
        return layer, model.get_submodule(layer), "output"
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n and n.count(".") < 1]
        raise ValueError(f"extract_features: model has no layer {layer!r}; top-level layers: {names}") from None


def _batch(dataset, idx):
    """Inputs ``(B, ...)`` float array and labels ``(B,)`` int64 of the samples ``idx``."""
    if hasattr(dataset, "get_batch"):
        x, y = dataset.get_batch(idx)[:2]
    else:
        pairs = [dataset[int(i)] for i in idx]
        x = np.stack([np.asarray(p[0]._data if isinstance(p[0], Tensor) else p[0]) for p in pairs])
        y = np.asarray([int(np.asarray(p[1]._data if isinstance(p[1], Tensor) else p[1])) for p in pairs])
    x = x._data if isinstance(x, Tensor) else np.asarray(x)
    y = y._data if isinstance(y, Tensor) else np.asarray(y)
    return x, y.astype(np.int64)


def _fingerprint(model, layer_name, where, dataset, chunk_size):
    """Identifies an extraction: the weights, the layer, the chunking, and the dataset's size and ends."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        a = np.ascontiguousarray(v._data)
        h.update(f"{k}:{a.dtype}:{a.shape};".encode())
        h.update(memoryview(a.reshape(-1)).cast("B"))
    n = len(dataset)
    h.update(f"{layer_name}:{where}:{n}:{chunk_size};".encode())
    for i in sorted({0, n - 1}):
        x, y = _batch(dataset, np.asarray([i]))
        h.update(np.ascontiguousarray(x, np.float32).tobytes() + y.tobytes())
    return h.hexdigest()


def _read(path):
    f, size = st.open_checked(path)
    with f:
        header = st.read_header(f, size, path)
        return header.metadata, st.read_tensors(f, header)


def _write(path, features, labels, meta):
    arrays = {"features": features, "labels": labels}
    atomic_write(path, lambda f: st.write(f, arrays, {"format": FEATURES_FORMAT, "convnet": json.dumps(meta)}))


def _cached_chunk(path, fingerprint):
    """The chunk at ``path`` if it exists and belongs to this extraction, else None."""
    if not os.path.isfile(path):
        return None
    try:
        metadata, arrays = _read(path)
        meta = json.loads(metadata.get("convnet", "{}"))
    except (FileFormatError, ValueError, OSError):
        return None  # a foreign or damaged file is recomputed
    return arrays if meta.get("fingerprint") == fingerprint else None


def _compute(model, module, where, x):
    """Run ``model`` on ``x`` until ``module`` has its input (``where="input"``) or output; returns it."""
    got = []

    def capture(*args):
        got.append(args[1][0] if where == "input" else args[2])
        raise _Captured

    handle = module.register_forward_pre_hook(lambda m, a: capture(m, a)) if where == "input" \
        else module.register_forward_hook(capture)
    try:
        with no_grad():
            model(Tensor(x))
    except _Captured:
        pass
    finally:
        handle.remove()
    if not got:
        raise ValueError(f"extract_features: the model's forward pass never ran the chosen layer ({where})")
    return np.ascontiguousarray(got[0]._data, dtype=np.float32)


def extract_features(model, dataset, layer=None, path=None, batch_size=256, chunk_size=2048, resume=True):
    """Run ``model`` up to ``layer`` over ``dataset`` once and save the features to ``path``.

    The model runs in eval mode without gradients, and stops right after ``layer`` (the rest of
    the network is not computed). Features go to ``PATH.parts/`` one chunk of ``chunk_size``
    samples at a time (atomic files), then into ``PATH`` (atomically); the parts are removed.

    Args:
        model: the (frozen) network.
        dataset: a dataset of ``(x, y)``; samples are taken in order, without augmentation.
        layer: a module name (``"features"``) or Module whose *output* is kept; ``None`` (default)
            keeps the *input* of the final layer (:func:`~convnet.transfer.find_head`), the
            representation a new head would be trained on.
        path: the output file (``.safetensors``).
        batch_size: samples per forward pass.
        chunk_size: samples per chunk file (the unit of resumption).
        resume: reuse a finished ``path`` and the chunks of an interrupted run made by the same
            model, layer and dataset; ``False`` recomputes everything.

    Returns:
        ``data.TensorDataset(features, labels)`` of the saved file (see :func:`load_features`).

    Example:
        >>> feats = cn.extract_features(model, data.digits("train"), "features", "digits-feats.safetensors")
        >>> feats.arrays[0].shape
        (1295, 120, 1, 1)
    """
    if not isinstance(model, Module):
        raise TypeError(f"extract_features: model must be a convnet Module, received {type(model).__name__}")
    if path is None:
        raise ValueError("extract_features: path is required (the .safetensors file to write)")
    for arg, v in (("batch_size", batch_size), ("chunk_size", chunk_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"extract_features: {arg} must be a positive integer, received {v!r}")
    if len(dataset) == 0:
        raise ValueError("extract_features: the dataset is empty")
    path = os.fspath(path)
    name, module, where = _layer(model, layer)
    was_training = model.training
    model.eval()
    try:
        fingerprint = _fingerprint(model, name, where, dataset, chunk_size)
        if resume and os.path.isfile(path):
            try:
                done = load_features(path)
                if done.meta.get("fingerprint") == fingerprint:
                    return done
            except (FileFormatError, ValueError, OSError):
                pass  # a damaged or foreign file is recomputed
        parts = path + ".parts"
        if not resume and os.path.isdir(parts):
            shutil.rmtree(parts)
        os.makedirs(parts, exist_ok=True)
        n = len(dataset)
        feats, labels = [], []
        for k, start in enumerate(range(0, n, chunk_size)):
            stop = min(start + chunk_size, n)
            chunk_path = os.path.join(parts, f"chunk-{k:06d}.safetensors")
            cached = _cached_chunk(chunk_path, fingerprint) if resume else None
            if cached is None:
                fs, ys = [], []
                for b in range(start, stop, batch_size):
                    x, y = _batch(dataset, np.arange(b, min(b + batch_size, stop)))
                    fs.append(_compute(model, module, where, x))
                    ys.append(y)
                cached = {"features": np.concatenate(fs), "labels": np.concatenate(ys)}
                _write(chunk_path, cached["features"], cached["labels"],
                       {"fingerprint": fingerprint, "start": start, "stop": stop})
            feats.append(cached["features"])
            labels.append(cached["labels"])
        meta = {"fingerprint": fingerprint, "layer": name, "where": where, "num_samples": n,
                "model": (getattr(model, "config", None) or {}).get("name"),
                "classes": list(getattr(dataset, "classes", []) or [])}
        _write(path, np.concatenate(feats), np.concatenate(labels), meta)
        shutil.rmtree(parts, ignore_errors=True)
    finally:
        model.train(was_training)
    return load_features(path)


def load_features(path):
    """The features file written by :func:`extract_features` as ``data.TensorDataset(features, labels)``.

    The dataset also has ``meta`` (layer, model name, classes, fingerprint) and ``classes``.
    """
    from ..data import TensorDataset

    path = os.fspath(path)
    metadata, arrays = _read(path)
    if metadata.get("format") != FEATURES_FORMAT or set(arrays) != {"features", "labels"}:
        raise FileFormatError(f"{path} is not a features file (expected a .safetensors file written by "
                              "convnet.extract_features / 'convnet features')")
    try:
        meta = json.loads(metadata.get("convnet", "{}"))
    except ValueError:
        raise FileFormatError(f"{path} is corrupt: its convnet metadata is not valid JSON") from None
    ds = TensorDataset(arrays["features"], arrays["labels"])
    ds.meta = meta if isinstance(meta, dict) else {}
    ds.classes = ds.meta.get("classes") or []
    return ds
