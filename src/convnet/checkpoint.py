"""Safe checkpoints: weights in ``safetensors`` plus JSON metadata; loading never runs code.

A model checkpoint is one ``.safetensors`` file (tensors = the ``state_dict``) whose header
metadata holds, as JSON, the architecture (``model.config``, e.g. ``{"name": "lenet5",
"num_classes": 10, "in_channels": 1}``) and user metadata (dataset, classes, input normalisation,
accuracy). ``load`` rebuilds the model with ``convnet.models.get(**config)`` and copies the weights
in, so no training code is needed. A human-readable copy of the metadata is written next to it
(``model.json``). There is no pickle anywhere: safetensors is a flat header + raw buffers.

Training checkpoints (``save_training_state``) store any nested state (model, optimizer and
scheduler ``state_dict``s, epoch, RNG states, history) by putting every array into the
safetensors body and the rest (numbers, strings, lists, dicts) into the JSON header.

Every write goes to a temporary file in the target directory, then ``os.replace`` moves it into
place, so a crash never leaves a partial checkpoint behind.

Example:
    >>> cn.save("runs/demo/model.safetensors", model, meta={"dataset": "digits"})
    >>> model2 = cn.load("runs/demo")            # the file, its .json, or the run directory
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "load_state", "read_metadata", "save_training_state", "load_training_state",
           "atomic_write", "MODEL_FORMAT", "TRAINING_FORMAT"]

MODEL_FORMAT = "convnet.model"
TRAINING_FORMAT = "convnet.training"
FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024


# ---------------------------------------------------------------------------- files
def atomic_write(path, data: bytes | str):
    """Write ``data`` to ``path`` through a temporary file in the same directory and ``os.replace``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _resolve(path):
    """Accept the ``.safetensors`` file, its ``.json`` sidecar, or a run directory holding ``model.safetensors``."""
    path = os.fspath(path)
    if os.path.isdir(path):
        cand = os.path.join(path, "model.safetensors")
        if not os.path.isfile(cand):
            raise ValueError(f"{path} is a directory without a model.safetensors checkpoint "
                             "(expected a convnet checkpoint file or a run directory that holds one)")
        return cand
    if path.endswith(".json") and os.path.isfile(path[:-5] + ".safetensors"):
        return path[:-5] + ".safetensors"
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    return path


def _read(path):
    """``(header dict, raw bytes)`` of a safetensors file, with errors that name the file."""
    with open(path, "rb") as f:
        raw = f.read()
    expected = "expected a convnet checkpoint (.safetensors file written by convnet.save)"
    if len(raw) < 8:
        raise ValueError(f"{path} is not a checkpoint: only {len(raw)} bytes ({expected})")
    n = int.from_bytes(raw[:8], "little")
    if n > _MAX_HEADER or raw[8:9] != b"{":
        raise ValueError(f"{path} is not a checkpoint: it does not start with a safetensors header ({expected})")
    if 8 + n > len(raw):
        raise ValueError(f"{path} is truncated: its header needs {n} bytes but the file has {len(raw) - 8} "
                         f"after the length prefix ({expected})")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError:
        raise ValueError(f"{path} is corrupt: its safetensors header is not valid JSON ({expected})") from None
    return header, raw


def _tensors(path, raw):
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    try:
        return st_load(raw)
    except SafetensorError as e:
        raise ValueError(f"{path} is truncated or corrupt ({e}); expected a complete safetensors checkpoint") \
            from None


def read_metadata(path):
    """The JSON metadata of a convnet checkpoint: ``{"format", "architecture", "meta", ...}``."""
    path = _resolve(path)
    header, _ = _read(path)
    md = header.get("__metadata__") or {}
    if "convnet" not in md:
        raise ValueError(f"{path} is a safetensors file without convnet metadata (expected a checkpoint written "
                         "by convnet.save; use convnet.checkpoint.load_state for bare weights)")
    try:
        return json.loads(md["convnet"])
    except ValueError:
        raise ValueError(f"{path} is corrupt: its convnet metadata is not valid JSON") from None


def load_state(path):
    """The stored tensors as a dict of NumPy arrays (a model's ``state_dict``), checked for integrity."""
    path = _resolve(path)
    header, raw = _read(path)
    state = _tensors(path, raw)
    md = header.get("__metadata__") or {}
    if md.get("format") == TRAINING_FORMAT:
        state = {k[len("model/"):]: v for k, v in state.items() if k.startswith("model/")}
    return state


# ---------------------------------------------------------------------------- model checkpoints
def _model_config(model):
    config = getattr(model, "config", None)
    if config is None:
        return None
    config = dict(config)
    json.dumps(config)  # must be JSON-able to be rebuilt without code
    return config


def _state_arrays(model):
    return {k: np.ascontiguousarray(v._data if isinstance(v, Tensor) else v) for k, v in model.state_dict().items()}


def save(path, model, meta=None):
    """Save ``model``'s weights and architecture to ``path`` (``.safetensors``; a directory gets ``model.safetensors``).

    Args:
        path: target file, or a directory.
        model: a ``Module``; its ``config`` dict (set by ``convnet.models``) is stored so that
            ``load`` can rebuild it. Models without ``config`` are saved as bare weights.
        meta: JSON-able dict of extra information (dataset, classes, normalisation, metrics).

    Returns:
        the path written. A ``.json`` copy of the metadata is written next to it.
    """
    from safetensors.numpy import save as st_save

    path = os.fspath(path)
    if os.path.isdir(path) or not os.path.splitext(path)[1]:
        path = os.path.join(path, "model.safetensors")
    info = {"format": MODEL_FORMAT, "format_version": FORMAT_VERSION, "architecture": _model_config(model),
            "meta": meta or {}}
    text = json.dumps(info)
    blob = st_save(_state_arrays(model), metadata={"format": MODEL_FORMAT, "convnet": text})
    atomic_write(path, blob)
    sidecar = os.path.splitext(path)[0] + ".json"
    atomic_write(sidecar, json.dumps(info, indent=2) + "\n")
    return path


def load(path, strict=True):
    """Rebuild the model stored at ``path`` (file, ``.json`` sidecar or run directory), in eval mode.

    The returned model has ``checkpoint_meta`` (the ``meta`` dict given to ``save``).

    Raises:
        FileNotFoundError: no such path.
        ValueError: not a convnet checkpoint, truncated/corrupt, unknown architecture, or weights whose
            shapes do not match the architecture (the mismatched keys are listed).
    """
    from . import models

    path = _resolve(path)
    info = read_metadata(path)
    config = info.get("architecture")
    if not config or "name" not in config:
        raise ValueError(f"{path} stores weights without an architecture config; build the model yourself and "
                         "call model.load_state_dict(convnet.checkpoint.load_state(path))")
    config = dict(config)
    try:
        model = models.get(**config)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: cannot rebuild architecture {config}: {e}") from None
    state = load_state(path)
    try:
        model.load_state_dict(state, strict=strict)
    except (KeyError, ValueError) as e:
        msg = e.args[0] if e.args else str(e)
        raise ValueError(f"{path} does not fit architecture {config['name']!r}: {msg}") from None
    model.eval()
    object.__setattr__(model, "checkpoint_meta", info.get("meta") or {})
    return model


# ---------------------------------------------------------------------------- training checkpoints
def _join(key, k):
    return f"{key}/{k}" if key else str(k)


def _flatten(obj, key, arrays):
    """Replace arrays in a nested structure by references ``{"__array__": key}``; collect them in ``arrays``."""
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, (np.ndarray, np.generic)):
        if obj.dtype == object:
            raise TypeError(f"save_training_state: {key} is an object array, which cannot be stored safely")
        if key in arrays:
            raise ValueError(f"save_training_state: duplicate key {key}")
        arrays[key] = np.ascontiguousarray(obj)
        return {"__scalar__" if isinstance(obj, np.generic) else "__array__": key}
    if isinstance(obj, Counter):  # MultiStepLR's milestones
        return {"__counter__": [[k, int(v)] for k, v in obj.items()]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _flatten(v, _join(key, k), arrays) for k, v in obj.items()}
        if not all(isinstance(k, (str, int, float, bool)) or k is None for k in obj):
            raise TypeError(f"save_training_state: {key} has dict keys of unsupported type")
        return {"__items__": [[k, _flatten(v, _join(key, k), arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_flatten(v, _join(key, i), arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_flatten(v, _join(key, i), arrays) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save_training_state: {key} has a value of type {type(obj).__name__}, which cannot be "
                    "stored (arrays, numbers, strings, lists, tuples and dicts only)")


def _unflatten(obj, arrays, path):
    if isinstance(obj, list):
        return [_unflatten(v, arrays, path) for v in obj]
    if not isinstance(obj, dict):
        return obj
    for tag in ("__array__", "__scalar__"):
        if tag in obj:
            if obj[tag] not in arrays:
                raise ValueError(f"{path} is corrupt: tensor {obj[tag]} is referenced but missing")
            a = arrays[obj[tag]]
            return a[()] if tag == "__scalar__" else a
    if "__counter__" in obj:
        return Counter({k: v for k, v in obj["__counter__"]})
    if "__tuple__" in obj:
        return tuple(_unflatten(v, arrays, path) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {k: _unflatten(v, arrays, path) for k, v in obj["__items__"]}
    return {k: _unflatten(v, arrays, path) for k, v in obj.items()}


def save_training_state(path, state, model=None):
    """Atomically save a nested training ``state`` (dicts/lists of arrays and JSON values) to ``path``.

    ``state["model"]`` should be the model's state_dict; passing ``model`` also stores its
    architecture so ``load(path)`` can rebuild the model from a training checkpoint.
    """
    from safetensors.numpy import save as st_save

    arrays = {}
    tree = _flatten(state, "", arrays)  # model weights are stored as "model/<param name>"
    info = {"format": TRAINING_FORMAT, "format_version": FORMAT_VERSION,
            "architecture": _model_config(model) if model is not None else None, "state": tree, "meta": {}}
    blob = st_save(arrays, metadata={"format": TRAINING_FORMAT, "convnet": json.dumps(info)})
    return atomic_write(path, blob)


def load_training_state(path):
    """The nested state saved by ``save_training_state`` (arrays as NumPy arrays)."""
    path = _resolve(path)
    header, raw = _read(path)
    info = read_metadata(path)
    if info.get("format") != TRAINING_FORMAT:
        raise ValueError(f"{path} is a model checkpoint, not a training checkpoint (expected a "
                         "training_state.safetensors written by Trainer.fit(checkpoint_dir=...))")
    return _unflatten(info["state"], _tensors(path, raw), path)
