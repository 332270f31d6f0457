"""Safe checkpoints: tensors in ``safetensors`` plus JSON metadata; loading never runs code.

``cn.save(obj, f)`` / ``cn.load(f)`` take PyTorch's argument order and accept what ``torch.save``
usually gets:

- a zoo model (a ``Module`` with ``.config``, from ``convnet.models``): its ``state_dict`` and its
  architecture; ``load`` rebuilds it with ``convnet.models.get(**config)``, in eval mode;
- a ``state_dict``, an optimizer ``state_dict`` or a nested checkpoint dict (``{"epoch": 3, "model":
  sd, "optimizer": opt_sd}``) of tensors, arrays, numbers, strings, ``None``, lists, tuples and
  dicts (int keys included): ``load`` returns the same structure (tensors as ``Tensor``).

Whatever the extension (``mnist_cnn.pt`` is fine), the file is one safetensors file: the tensors,
and a JSON header holding the architecture, the rest of the object and user metadata. There is no
pickle anywhere; a real PyTorch ``.pt`` file is refused with the two lines that convert it.

The older path-first form ``cn.save(path, model, meta)`` still works: a directory (or a path
without extension) gets ``model.safetensors``, and a human-readable copy of the metadata
(``model.json``) is written after the weights. That sidecar is documentation only: loading reads
the safetensors header, the single source of truth (a ``.json`` path means the file beside it).

Writes are atomic (:mod:`convnet._atomic_file`); reads are bounded and validated
(:mod:`convnet._safetensors_io`): a corrupt, truncated, hostile or foreign file raises
``FileFormatError`` naming it, after reading at most the header plus the declared tensor bytes.

Example:
    >>> cn.save(model.state_dict(), "mnist_cnn.pt")
    >>> model.load_state_dict(cn.load("mnist_cnn.pt"))
    >>> cn.save("runs/demo/model.safetensors", model, meta={"dataset": "digits"})
    >>> model2 = cn.load("runs/demo")            # the file, its .json, or the run directory
"""
from __future__ import annotations

import json
import os

import numpy as np

from . import _safetensors_io as st
from ._atomic_file import atomic_write
from ._checkpoint_tree import flatten, unflatten
from .errors import FileFormatError
from .tensor import Tensor

__all__ = ["save", "load", "load_model", "load_state", "read_metadata", "save_training_state",
           "load_training_state", "atomic_write", "MODEL_FORMAT", "TRAINING_FORMAT", "OBJECT_FORMAT"]

MODEL_FORMAT = "convnet.model"
TRAINING_FORMAT = "convnet.training"
OBJECT_FORMAT = "convnet.object"
FORMAT_VERSION = 1
_FORMATS = (MODEL_FORMAT, TRAINING_FORMAT, OBJECT_FORMAT)
_MIN_CONFIG_BOUND = 4096  # config integers up to this are always plausible (widths, image sizes)


# ---------------------------------------------------------------------------- reading
def _resolve(path):
    """Accept the ``.safetensors`` file, its ``.json`` sidecar, or a run directory holding ``model.safetensors``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"expected a checkpoint path (str or os.PathLike), got {type(path).__name__}")
    path = os.fspath(path)
    if os.path.isdir(path):
        cand = os.path.join(path, "model.safetensors")
        if not os.path.isfile(cand):
            raise FileFormatError(f"{path} is a directory without a model.safetensors checkpoint "
                                  "(expected a convnet checkpoint file or a run directory that holds one)")
        return cand
    if path.endswith(".json") and os.path.isfile(path[:-5] + ".safetensors"):
        return path[:-5] + ".safetensors"  # the sidecar is documentation; the weights file is the truth
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    return path


def _read(path, tensors=True):
    """``(Header, tensors or None)`` of the checkpoint at ``path`` (already resolved)."""
    f, size = st.open_checked(path)
    with f:
        header = st.read_header(f, size, path)
        return header, (st.read_tensors(f, header) if tensors else None)


def _info(path, header):
    """The validated ``convnet`` metadata of ``header`` (``None`` for a plain safetensors file)."""
    if "convnet" not in header.metadata:
        return None
    try:
        info = json.loads(header.metadata["convnet"])
    except (ValueError, RecursionError):
        raise FileFormatError(f"{path} is corrupt: its convnet metadata is not valid JSON") from None
    if not isinstance(info, dict):
        raise FileFormatError(f"{path} is corrupt: its convnet metadata is a JSON {type(info).__name__}, "
                              "expected an object")
    if info.get("format") not in _FORMATS:
        raise FileFormatError(f"{path} is corrupt: unknown format {info.get('format')!r} (expected one of "
                              f"{list(_FORMATS)})")
    version = info.get("format_version", 1)
    if type(version) is not int or version > FORMAT_VERSION:
        raise FileFormatError(f"{path} has format_version {version!r}; this convnet reads up to {FORMAT_VERSION}")
    arch = info.get("architecture")
    if arch is not None and not (isinstance(arch, dict) and isinstance(arch.get("name"), str)):
        raise FileFormatError(f"{path} is corrupt: its architecture is {type(arch).__name__} "
                              f"{str(arch)[:80]}, expected an object with a 'name'")
    if not isinstance(info.setdefault("meta", {}) or {}, dict):
        raise FileFormatError(f"{path} is corrupt: its meta is a {type(info['meta']).__name__}, expected an object")
    if info["format"] != MODEL_FORMAT and "state" not in info:
        raise FileFormatError(f"{path} is corrupt: its stored state is missing")
    return info


def read_metadata(path):
    """The JSON metadata of a convnet checkpoint: ``{"format", "architecture", "meta", ...}``."""
    path = _resolve(path)
    header, _ = _read(path, tensors=False)
    info = _info(path, header)
    if info is None:
        raise FileFormatError(f"{path} is a safetensors file without convnet metadata (expected a checkpoint "
                              "written by convnet.save; use convnet.checkpoint.load_state for bare weights)")
    return info


def _model_weights(state):
    """The ``model/...`` tensors of a nested file (training state, checkpoint dict), unprefixed."""
    inner = {k[len("model/"):]: v for k, v in state.items() if k.startswith("model/")}
    return inner or state


def load_state(path):
    """The stored tensors as a dict of NumPy arrays (a model's ``state_dict``), checked for integrity.

    For a training state or a nested checkpoint dict, the ``model`` entry's tensors.
    """
    path = _resolve(path)
    header, state = _read(path)
    info = _info(path, header)
    return _model_weights(state) if info is not None and info["format"] != MODEL_FORMAT else state


# ---------------------------------------------------------------------------- model checkpoints
def _model_config(model):
    config = getattr(model, "config", None)
    if config is None:
        return None
    config = dict(config)
    json.dumps(config)  # must be JSON-able to be rebuilt without code
    return config


def _write(path, arrays, info):
    text = json.dumps(info)
    return atomic_write(path, lambda f: st.write(f, arrays, {"format": info["format"], "convnet": text}))


def _save_model(path, model, meta, sidecar):
    info = {"format": MODEL_FORMAT, "format_version": FORMAT_VERSION, "architecture": _model_config(model),
            "meta": meta or {}}
    arrays = {k: (v._data if isinstance(v, Tensor) else np.asarray(v)) for k, v in model.state_dict().items()}
    _write(path, arrays, info)  # the weights first: they are the truth
    if sidecar:
        atomic_write(os.path.splitext(path)[0] + ".json", json.dumps(info, indent=2) + "\n")
    return path


def _is_path(f):
    return isinstance(f, (str, os.PathLike))


def save(obj, f, meta=None):
    """Save ``obj`` to the file ``f`` (PyTorch's order), safely: safetensors + JSON, never pickle.

    Args:
        obj: a zoo model (``Module`` with ``config``), or a state_dict / nested dict / list / tuple of
            tensors, arrays, numbers, strings and ``None``. A custom ``Module`` without ``config``
            cannot be rebuilt without its code: save its ``state_dict()`` instead.
        f: target path (any extension, e.g. ``model.pt``).
        meta: JSON-able dict of extra information (dataset, classes, normalisation, metrics); stored
            with a model and returned as ``model.checkpoint_meta``.

    The older form ``save(path, model, meta=None)`` is recognised by its argument types: ``path``
    (a directory or extensionless path gets ``model.safetensors``), a ``model.json`` sidecar is
    written after the weights, and a model without ``config`` is saved as bare weights.

    Returns:
        the path written.
    """
    from .nn import Module

    if _is_path(obj) and isinstance(f, Module):  # save(path, model, meta): the original convnet order
        path = os.fspath(obj)
        if os.path.isdir(path) or not os.path.splitext(path)[1]:
            path = os.path.join(path, "model.safetensors")
        return _save_model(path, f, meta, sidecar=True)
    if not _is_path(f):
        raise TypeError(f"save: f must be a file path (str or os.PathLike), got {type(f).__name__}")
    path = os.fspath(f)
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path} is a directory; give a file name such as {path}/model.pt")
    if isinstance(obj, Module):
        if getattr(obj, "config", None) is None:
            raise TypeError(f"save: a {type(obj).__name__} without .config cannot be saved as a whole (rebuilding it "
                            "would need its code, i.e. pickle); save its weights instead: "
                            "cn.save(model.state_dict(), f), then model.load_state_dict(cn.load(f))")
        return _save_model(path, obj, meta, sidecar=False)
    arrays = {}
    tree = flatten(obj, "", arrays)
    info = {"format": OBJECT_FORMAT, "format_version": FORMAT_VERSION, "architecture": None, "state": tree,
            "meta": meta or {}}
    return _write(path, arrays, info)


def _check_config(path, config, header):
    """Refuse configs that would allocate far more than the file stores, before building anything.

    Every integer in the config must be at most the largest tensor dimension in the file (or a
    small constant), and ``num_classes`` must be the leading size of some stored tensor (the head).
    """
    dims = [d for _, shape, _, _ in header.tensors.values() for d in shape]
    bound = max([_MIN_CONFIG_BOUND, *dims])

    def ints(v):
        if isinstance(v, bool):
            return []
        if isinstance(v, int):
            return [v]
        return [i for x in v for i in ints(x)] if isinstance(v, list) else []

    for k, v in config.items():
        big = [i for i in ints(v) if abs(i) > bound]
        if big:
            raise FileFormatError(f"{path}: architecture option {k}={big[0]} is larger than any tensor in the file "
                                  f"(largest dimension {bound}); the config does not match the stored weights")
    n = config.get("num_classes")
    if type(n) is int and not any(shape and shape[0] == n for _, shape, _, _ in header.tensors.values()):
        raise FileFormatError(f"{path}: architecture says num_classes={n} but no stored tensor has {n} rows "
                              "(the output layer); the config does not match the stored weights")


def _rebuild(path, info, header, state, strict):
    from . import models

    config = dict(info["architecture"])
    _check_config(path, config, header)
    try:
        model = models.get(**config)
    except Exception as e:  # a hostile config can make a builder fail in any way; the file is at fault
        raise FileFormatError(f"{path}: cannot rebuild architecture {str(config)[:200]}: "
                              f"{type(e).__name__}: {e}") from None
    floats = {a.dtype for a in state.values() if a.dtype.kind == "f"}
    if len(floats) == 1:
        model.to(floats.pop())  # e.g. a model saved after .double() comes back in float64
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    state = {k: (a.reshape(()) if a.shape == (1,) and own.get(k) == () else a)  # files of convnet <= 0.1
             for k, a in state.items()}                                       # stored 0-d buffers as (1,)
    try:
        model.load_state_dict(state, strict=strict)
    except (KeyError, ValueError) as e:
        msg = e.args[0] if e.args else str(e)
        raise FileFormatError(f"{path} does not fit architecture {config['name']!r}: {msg}") from None
    model.eval()
    object.__setattr__(model, "checkpoint_meta", info.get("meta") or {})
    return model


def _check_map_location(map_location):
    if map_location is None:
        return
    if isinstance(map_location, dict):
        targets = list(map_location.values())
    elif callable(map_location):
        raise TypeError("load: a callable map_location is not supported; convnet runs on the CPU, pass "
                        "map_location='cpu' or None")
    else:
        targets = [map_location]
    for t in targets:
        name = str(getattr(t, "type", t)).split(":")[0]
        if name != "cpu":
            raise ValueError(f"load: map_location={map_location!r} names device {t!r}, but convnet runs on the CPU "
                             "only; use map_location='cpu' or None")


def load(f, map_location=None, *, weights_only=None, mmap=None, strict=True):
    """Load what :func:`save` stored at ``f`` (a file, its ``.json`` sidecar, or a run directory).

    Returns the object as saved: a zoo model comes back as the model (rebuilt from its config, in
    eval mode, with ``checkpoint_meta``); a state_dict or nested dict comes back with ``Tensor`` s.

    Args:
        map_location: ``None``, ``"cpu"`` or a CPU device (anything naming CUDA is refused).
        weights_only, mmap: accepted for PyTorch compatibility; loading never runs code either way.
        strict: for models, whether missing/unexpected keys are an error.

    Raises:
        FileNotFoundError: no such path.
        FileFormatError: not a convnet checkpoint, truncated/corrupt, a PyTorch pickle, unknown
            architecture, or weights whose shapes do not match the architecture (keys listed).
    """
    if isinstance(map_location, bool):  # the older load(path, strict)
        map_location, strict = None, map_location
    _check_map_location(map_location)
    path = _resolve(f)
    header, state = _read(path)
    info = _info(path, header)
    if info is None:
        raise FileFormatError(f"{path} is a safetensors file without convnet metadata (expected a checkpoint "
                              "written by convnet.save; use convnet.checkpoint.load_state for bare weights)")
    if info["format"] == OBJECT_FORMAT:
        return _unflatten(path, info, state)
    if not info.get("architecture"):
        raise FileFormatError(f"{path} stores weights without an architecture config; build the model yourself and "
                              "call model.load_state_dict(convnet.checkpoint.load_state(path))")
    if info["format"] == TRAINING_FORMAT:
        state = _model_weights(state)
    return _rebuild(path, info, header, state, strict)


def load_model(path, strict=True):
    """Like :func:`load`, but the result is always a model: anything else raises ``FileFormatError``."""
    from .nn import Module

    out = load(path, strict=strict)
    if not isinstance(out, Module):
        raise FileFormatError(f"{os.fspath(path)} holds a {type(out).__name__}, not a model; {st.EXPECTED}")
    return out


# ---------------------------------------------------------------------------- training checkpoints
def _unflatten(path, info, arrays):
    try:
        return unflatten(info["state"], arrays, path)
    except RecursionError:
        raise FileFormatError(f"{path} is corrupt: its stored state is nested too deeply") from None


def save_training_state(path, state, model=None):
    """Atomically save a nested training ``state`` (dicts/lists of arrays and JSON values) to ``path``.

    ``state["model"]`` should be the model's state_dict; passing ``model`` also stores its
    architecture so ``load(path)`` can rebuild the model from a training checkpoint.
    """
    arrays = {}
    tree = flatten(state, "", arrays, who="save_training_state")  # model weights are "model/<param name>"
    info = {"format": TRAINING_FORMAT, "format_version": FORMAT_VERSION,
            "architecture": _model_config(model) if model is not None else None, "state": tree, "meta": {}}
    return _write(path, arrays, info)


def load_training_state(path):
    """The nested state saved by ``save_training_state`` (arrays as NumPy arrays, tensors as ``Tensor``)."""
    path = _resolve(path)
    header, arrays = _read(path)
    info = _info(path, header)
    if info is None or info["format"] != TRAINING_FORMAT:
        raise FileFormatError(f"{path} is not a training checkpoint (expected a "
                              "training_state.safetensors written by Trainer.fit(checkpoint_dir=...))")
    return _unflatten(path, info, arrays)
