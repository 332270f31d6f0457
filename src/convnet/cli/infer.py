"""``convnet eval``, ``convnet predict`` and ``convnet summary``: use a checkpoint or a named model."""
from __future__ import annotations

import json
import os
import sys

import numpy as np


def _error(msg):
    from .main import CLIError

    return CLIError(msg)


def _format_confusion(cm, classes):
    names = [str(c)[:8] for c in classes]
    w = max(4, *(len(n) for n in names), len(str(int(cm.max()))) + 1)
    lines = [" " * (w + 1) + " ".join(n.rjust(w) for n in names)]
    for name, row in zip(names, cm):
        lines.append(name.rjust(w) + " " + " ".join(str(int(v)).rjust(w) for v in row))
    return "\n".join(lines)


def _warn(command, msg):
    print(f"convnet {command}: warning: {' '.join(str(msg).split())}", file=sys.stderr)


def _check_top_k(k, num_classes=None):
    """``--top-k`` must be in ``1 .. num_classes``; ``None`` (the default) is checked by ``_top_k``."""
    if k is None:
        return
    if k < 1:
        raise _error(f"--top-k must be at least 1, received {k}")
    if num_classes is not None and k > num_classes:
        raise _error(f"--top-k must be at most the number of classes ({num_classes}), received {k}")


def _top_k(args, num_classes, default):
    """The k to use: ``--top-k`` as given (checked), or ``default`` capped at the number of classes."""
    if args.top_k is None:
        return max(1, min(default, num_classes))
    _check_top_k(args.top_k, num_classes)
    return args.top_k


def _mismatch(meta, name, dataset):
    """Why evaluating a checkpoint trained with ``meta`` on ``dataset`` may be meaningless, or None."""
    trained = meta.get("dataset")
    if trained and str(trained).lower().replace("_", "-") != name.lower().replace("_", "-"):
        return (f"the checkpoint was trained on {trained} but is evaluated on {name}; the accuracy "
                "measures a different task")
    stored, used = meta.get("normalization"), getattr(dataset, "normalization", None)
    if (stored is None) != (used is None) or (stored and used and not all(
            np.allclose(np.asarray(stored[key], float), np.asarray(used[key], float), atol=1e-4)
            for key in ("mean", "std"))):
        return (f"the checkpoint's input normalisation {stored} differs from the one of the {name} data "
                f"evaluated ({used})")
    shape = meta.get("input_shape")
    if shape and tuple(shape) != tuple(getattr(dataset, "input_shape", shape)):
        return (f"the checkpoint's input shape {tuple(shape)} differs from the {name} images' "
                f"{tuple(dataset.input_shape)}")
    return None


def run_eval(args):
    from .. import data
    from ..checkpoint import load_model as load
    from ..train import evaluate

    _check_top_k(args.top_k)
    if args.data_dir and not os.path.isdir(os.path.expanduser(args.data_dir)):
        raise _error(f"--data-dir {args.data_dir} does not exist or is not a directory")
    model = load(args.checkpoint)
    meta = model.checkpoint_meta
    name = args.dataset or meta.get("dataset")
    if not name:
        raise _error(f"{args.checkpoint} does not record its dataset; pass --dataset "
                     f"({', '.join(data.DATASETS)})")
    if name.lower().replace("_", "-") not in data.DATASETS:
        raise _error(f"unknown dataset {name!r}; valid names: {', '.join(data.DATASETS)}")
    if args.split not in ("train", "val", "test"):
        raise _error(f"--split must be train, val or test, received {args.split!r}")
    size = (meta.get("input_shape") or [None, 32])[-1]
    root = args.data_dir or (meta.get("settings") or {}).get("data_dir")  # where training found the files
    if args.split == "test":
        dataset = data.get(name, "test", root=root, size=size)
    else:
        dataset = data.load_splits(name, root=root, size=size)[args.split]
    if getattr(dataset, "kind", "image") == "text":  # sentences: the checkpoint's own tokenizer and vocabulary
        from ._text_infer import encode_for_eval

        dataset = encode_for_eval(dataset, meta, args.checkpoint, name)
    classes = meta.get("classes") or getattr(dataset, "classes", None)
    args.top_k = _top_k(args, len(classes), 5) if classes else (args.top_k or 5)
    warning = _mismatch(meta, name, dataset)
    if warning:
        _warn("eval", warning)
    results = evaluate(model, data.DataLoader(dataset, batch_size=args.batch_size), top_k=args.top_k)
    k = results["top_k"]
    arch = model.config.get("name", type(model).__name__) if hasattr(model, "config") else type(model).__name__
    print(f"checkpoint: {args.checkpoint} ({arch}, trained on {meta.get('dataset', '?')}, "
          f"epoch {meta.get('epoch', '?')})")
    print(f"{name} {args.split}: {results['num_samples']} images")
    print(f"loss {results['loss']:.4f}   accuracy {results['accuracy']:.2%}   "
          f"top-{k} accuracy {results[f'top{k}_accuracy']:.2%}")
    print("confusion matrix (rows: true class, columns: predicted class):")
    print(_format_confusion(results["confusion_matrix"], getattr(dataset, "classes", range(len(results[
        "confusion_matrix"])))))
    return 0


def run_predict(args):
    """Classify each readable image; an unreadable one is one stderr line, and the exit status is 2."""
    import convnet as cn

    from ..checkpoint import load_model as load
    from ..data.images import load_images

    _check_top_k(args.top_k)
    model = _predict_model(args, load)
    meta = model.checkpoint_meta
    if getattr(args, "text", None) or meta.get("text"):
        from ._text_infer import predict_text

        return predict_text(args, model, meta)
    if not args.images:
        raise _error("give at least one IMAGE file (or --text \"SENTENCE\" with a text model)")
    shape = meta.get("input_shape")
    if not shape:
        from .. import models

        shape = models.default_input_shape(model.config["name"])
    if meta.get("classes"):
        _check_top_k(args.top_k, len(meta["classes"]))
    invert = args.invert if meta.get("dark_background", True) else "no"
    recipe = args.prepare
    if recipe == "auto":
        recipe = {"digits": "digits", "mnist": "mnist"}.get(meta.get("dataset"), "resize")
    batch = load_images(args.images, shape, meta.get("normalization"), recipe=recipe, invert=invert)
    for path, message in batch.failed:
        print(f"convnet predict: error: {' '.join(message.split())}", file=sys.stderr)
    for path in batch.blank:
        _warn("predict", f"{path}: no ink found (the image is blank); its prediction below is meaningless")
    if batch.paths:
        with cn.no_grad():
            probs = model(cn.Tensor(batch.x)).softmax(1).numpy()  # (N, num_classes)
        classes = meta.get("classes") or [str(k) for k in range(probs.shape[1])]
        args.top_k = _top_k(args, probs.shape[1], 3)
        for path, p in zip(batch.paths, probs):
            top = np.argsort(-p, kind="stable")[:args.top_k]
            if getattr(args, "json", False):  # one strict-JSON object per line, for scripts
                print(json.dumps({"file": path, "top": [
                    {"class": int(i), "label": str(classes[i]), "probability": float(p[i])} for i in top]},
                    allow_nan=False))
                continue
            ranked = "  ".join(f"{classes[i]} ({p[i]:.1%})" for i in top)
            mark = "  [blank image: no ink found]" if path in batch.blank else ""
            print(f"{os.path.basename(path)}: {ranked}{mark}")
    return 2 if batch.failed else 0


def _predict_model(args, load):
    """The model ``convnet predict`` uses: ``--model M --weights W`` (shipped weights) or the CHECKPOINT.

    With ``--model``, the first positional argument is an image, not a checkpoint.
    """
    model_name, weights = getattr(args, "model", None), getattr(args, "weights", None)
    if model_name is None and weights is None:
        if args.checkpoint is None:
            raise _error("give a CHECKPOINT (file or run directory), or --model NAME --weights NAME")
        return load(args.checkpoint)
    from .. import models

    if model_name is None or weights is None:
        raise _error("--model and --weights go together (e.g. --model lenet5 --weights mnist)")
    if model_name not in models.names():
        raise _error(f"--model: unknown model {model_name!r}; valid names: {', '.join(models.names())}")
    available = models.available_weights(model_name)
    if weights not in available:
        raise _error(f"--weights: {model_name} has no {weights!r} weights; available: "
                     f"{', '.join(available) or 'none'}")
    if args.checkpoint is not None:  # no checkpoint with --model: the first positional is an image
        args.images = [args.checkpoint, *args.images]
    args.checkpoint = f"--model {model_name} --weights {weights}"  # how later messages name the model
    return models.get(model_name, weights=weights).eval()


VIDEO_SHAPE = (1, 16, 64, 64)  # a Moving MNIST clip: (C, T, H, W), data.moving_mnist's defaults


def run_summary(args):
    from .. import models
    from ..summary import main_summary

    from ..models import video

    if args.list:
        print("\n".join(f"{n:16s} input {str(models.default_input_shape(n)):15s} {models.describe(n)}"
                        for n in models.names()))
        print("\n".join(f"{n:16s} input {str(VIDEO_SHAPE):15s} video clips (C, T, H, W): models.video.get"
                        f"({n!r})" for n in sorted(video.BUILDERS)))
        return 0
    if not args.model:
        raise _error("give a MODEL name (or --list to see them)")
    if args.model in video.BUILDERS:  # clips (C, T, H, W); --input-shape is for images
        from ..summary import summary

        if args.input_shape is not None:
            raise _error(f"--input-shape is C,H,W for image models; {args.model} reads clips {VIDEO_SHAPE}")
        print(summary(video.get(args.model, num_classes=args.num_classes or 8), (1,) + VIDEO_SHAPE))
        return 0
    if args.model not in models.names():
        raise _error(f"unknown model {args.model!r}; valid names: {', '.join(models.names() + sorted(video.BUILDERS))}")
    if args.num_classes is not None and args.num_classes < 1:
        raise _error(f"--num-classes must be at least 1, received {args.num_classes}")
    try:
        text = main_summary(args.model, input_shape=args.input_shape, num_classes=args.num_classes,
                            arg="--input-shape")
    except (ValueError, TypeError) as e:
        raise _error(str(e).removeprefix("summary: ")) from None
    print(text)
    return 0
