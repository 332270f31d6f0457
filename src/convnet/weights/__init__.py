"""Pretrained weights that ship inside the package (torchvision's ``weights=``)::

    import convnet as cn
    cn.models.available_weights("lenet5")          # ['digits', 'fashion-mnist', 'mnist']
    model = cn.models.get("lenet5", weights="mnist").eval()
    cn.weights.info("lenet5", "mnist")["test_accuracy"]

Each file is a convnet checkpoint (safetensors + JSON header, never pickle) named
``<model>-<weights>.safetensors`` in this folder. ``index.json`` lists them: for every model and
weights name the file, its SHA-256 (checked before every load), the dataset, its input
normalisation, class names and input shape, the test accuracy measured after training, the command
that trained it, the seed and the date. The loaded model carries the same information as
``model.checkpoint_meta``, so ``convnet predict --model lenet5 --weights mnist img.png`` prepares
images exactly as the training images were.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os

from ..errors import FileFormatError

__all__ = ["index", "info", "path", "load", "add", "sha256"]

FOLDER = os.path.dirname(os.path.abspath(__file__))
INDEX = "index.json"


def sha256(file):
    """Hex SHA-256 of the bytes of ``file``."""
    h = hashlib.sha256()
    with open(file, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def index(folder=None):
    """``{model name: {weights name: entry}}`` read from ``folder/index.json`` (default: the shipped one)."""
    file = os.path.join(folder or FOLDER, INDEX)
    if not os.path.isfile(file):
        return {}
    try:
        with open(file) as f:
            data = json.load(f)
    except ValueError as e:
        raise FileFormatError(f"{file} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise FileFormatError(f"{file}: expected a JSON object of model names, got {type(data).__name__}")
    return data


def info(model, weights, folder=None):
    """The index entry of ``model``'s ``weights`` (a copy): file, sha256, dataset, normalization,
    classes, input_shape, test_accuracy, command, seed, date."""
    table = index(folder).get(model, {})
    if weights not in table:
        listed = ", ".join(repr(w) for w in sorted(table)) or "none"
        raise ValueError(f"weights: no {weights!r} weights for model {model!r}; available: {listed}")
    return copy.deepcopy(table[weights])


def path(model, weights, folder=None):
    """Absolute path of the shipped file of ``model``'s ``weights``."""
    return os.path.join(folder or FOLDER, info(model, weights, folder)["file"])


def load(model, weights, folder=None):
    """The network ``model`` with its shipped ``weights``, after checking the file's SHA-256.

    Returns the model in eval mode with ``checkpoint_meta`` (dataset, classes, normalization,
    input_shape, test accuracy) and ``weights_info`` (the index entry).

    Raises:
        ValueError: unknown weights name. FileFormatError: the file is missing, its SHA-256 differs
        from the index (a damaged or replaced file), or it does not fit the architecture.
    """
    from ..checkpoint import load_model

    entry = info(model, weights, folder)
    file = os.path.join(folder or FOLDER, entry["file"])
    if not os.path.isfile(file):
        raise FileFormatError(f"{file}: the {model} {weights!r} weights file is missing from the installation")
    digest = sha256(file)
    if digest != entry["sha256"]:
        raise FileFormatError(f"{file}: SHA-256 {digest} differs from the index's {entry['sha256']} (the file is "
                              "damaged or was replaced); reinstall convnet")
    net = load_model(file)
    if net.config.get("name") != model:
        raise FileFormatError(f"{file} holds a {net.config.get('name')!r} model, the index says {model!r}")
    object.__setattr__(net, "weights_info", entry)
    return net


def add(run_dir, weights, command, folder=None, date=None, test_accuracy=None):
    """Copy the checkpoint of a finished run into ``folder`` as shipped weights.

    Reads ``run_dir/model.safetensors`` (its meta has dataset, classes, normalization, input shape
    and, from ``convnet train``, the test accuracy it measured; a ``convnet reproduce`` arm passes
    ``test_accuracy`` from its results.json) and writes ``<model>-<weights>.safetensors`` plus its
    ``index.json`` entry. Returns the entry.
    """
    import datetime

    from ..checkpoint import atomic_write, load_model, save

    net = load_model(run_dir)
    meta = dict(net.checkpoint_meta)
    if test_accuracy is not None:
        meta["test_accuracy"] = float(test_accuracy)
    if meta.get("test_accuracy") is None:
        raise ValueError(f"weights.add: {run_dir} has no test accuracy in its checkpoint (an unfinished run?)")
    name = net.config["name"]
    folder = folder or FOLDER
    file = f"{name}-{weights}.safetensors"
    keep = ("dataset", "classes", "normalization", "input_shape", "dark_background", "settings", "epoch",
            "test_accuracy", "test_loss", "reproduce", "seed")
    meta = {k: meta[k] for k in keep if k in meta}
    meta["weights"] = weights
    save(net, os.path.join(folder, file), meta=meta)
    entry = {
        "file": file,
        "sha256": sha256(os.path.join(folder, file)),
        "bytes": os.path.getsize(os.path.join(folder, file)),
        "config": dict(net.config),
        "dataset": meta.get("dataset"),
        "normalization": meta.get("normalization"),
        "classes": meta.get("classes"),
        "input_shape": meta.get("input_shape"),
        "test_accuracy": meta["test_accuracy"],
        "command": command,
        "seed": (meta.get("settings") or {}).get("seed", meta.get("seed")),
        "date": date or datetime.date.today().isoformat(),
    }
    table = index(folder)
    table.setdefault(name, {})[weights] = entry
    atomic_write(os.path.join(folder, INDEX), json.dumps(table, indent=2, sort_keys=True) + "\n")
    return entry
