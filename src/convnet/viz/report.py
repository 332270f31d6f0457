"""The visualisation report of a run: every picture of :mod:`convnet.viz` for one image, and an
``index.html`` that ties them together with captions (relative links, no server, no scripts)::

    write_report("runs/lenet", "digit.png", "runs/lenet/viz")     # what `convnet visualize` does
"""
from __future__ import annotations

import html
import os
import shutil

import numpy as np

from .. import nn
from ..checkpoint import atomic_write
from . import attribution as A
from . import demos, features, plots

__all__ = ["write_report", "load_run_image"]


def load_run_image(model, image_path):
    """The image file prepared as the run's ``convnet predict`` would: ``(1, C, H, W)`` float32."""
    from ..data.images import load_images
    from .. import models

    meta = getattr(model, "checkpoint_meta", {}) or {}
    shape = meta.get("input_shape") or models.default_input_shape(model.config["name"])
    recipe = {"digits": "digits", "mnist": "mnist"}.get(meta.get("dataset"), "resize")
    invert = "auto" if meta.get("dark_background", True) else "no"
    batch = load_images([image_path], shape, meta.get("normalization"), recipe=recipe, invert=invert)
    if batch.failed:
        raise ValueError(batch.failed[0][1])
    return np.asarray(batch.x, np.float32)


def _dataset(model, limit):
    from .. import data

    meta = getattr(model, "checkpoint_meta", {}) or {}
    name = meta.get("dataset")
    if not name:
        return None
    size = (meta.get("input_shape") or [None, 32])[1]
    root = (meta.get("settings") or {}).get("data_dir")
    return data.get(name, "test", root=root, size=size)


def _cam_layer(model, x):
    """The last Conv2d whose maps are still larger than 1x1 (Grad-CAM needs a spatial map)."""
    maps = features.feature_maps(model, x)
    spatial = [n for n, m in maps.items() if m.shape[-1] > 1 and m.shape[-2] > 1]
    return spatial[-1] if spatial else None, maps


def write_report(run_dir, image_path, out_dir, limit=500, method="pca", class_steps=60):
    """Write the pictures and ``out_dir/index.html`` for the model of ``run_dir`` and one image file.

    Returns the list of files written (relative to ``out_dir``), ``index.html`` last.
    """
    from ..checkpoint import load_model

    model = load_model(run_dir)
    model.eval()
    x = load_run_image(model, image_path)
    meta = getattr(model, "checkpoint_meta", {}) or {}
    classes = meta.get("classes")
    os.makedirs(out_dir, exist_ok=True)
    put = lambda fig, name: plots.save(fig, os.path.join(out_dir, name)) and name  # noqa: E731
    with A.no_grad():
        logits = np.asarray(model(A.Tensor(x))._data)[0]
    pred = int(logits.argmax())
    label = classes[pred] if classes else str(pred)
    sections = []   # (heading, [(file, caption)])

    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{run_dir}: the model has no Conv2d layer to visualise")
    first_name, first = convs[0]
    sections.append(("What the first layer looks for", [(put(plots.plot_filters(first, f"{first_name}: learned "
                     "filters"), "filters.png"), f"The {first.weight.shape[0]} kernels of {first_name}, "
                     f"{tuple(first.weight.shape)}; red positive, blue negative weights.")]))

    cam_layer, maps = _cam_layer(model, x)
    figs = [(put(plots.plot_feature_maps(n, m), f"feature_maps_{n.replace('.', '_')}.png"),
             f"Activation maps of {n} for the input image ({m.shape[0]} channels of {m.shape[1]}x{m.shape[2]}).")
            for n, m in maps.items()]
    sections.append(("Feature maps (forward hooks)", figs))

    window = max(2, x.shape[-1] // 8)
    attrs = {"saliency": A.saliency(model, x, pred)[0], "guided backprop": A.guided_backprop(model, x, pred)[0],
             "deconvnet": A.deconvnet(model, x, pred)[0],
             "occlusion": A.occlusion(model, x, pred, window=(window, window), stride=(window // 2,) * 2)[0]}
    items = [(put(plots.plot_attributions(x[0], attrs, f"why '{label}'? (predicted, score {logits[pred]:.2f})"),
                  "attributions.png"),
              "Saliency |dS/dx|, guided backprop, ZFNet's deconvnet and occlusion (score drop when a "
              f"{window}x{window} patch is zeroed) for the predicted class, as Captum defines them.")]
    if cam_layer:
        cam = A.upsample(A.grad_cam(model, x, pred, cam_layer), x.shape[-2:])[0, 0]
        items.append((put(plots.plot_attributions(x[0], {f"Grad-CAM ({cam_layer})": cam,
                                                         "overlay": plots.overlay(x[0], cam)}), "grad_cam.png"),
                      f"Grad-CAM at {cam_layer}, upsampled to the input and laid over it."))
    probs = A.occlusion_map(model, x, pred, window=(x.shape[-1] // 4,) * 2, stride=(2, 2))[0]
    items.append((put(plots.plot_occlusion_map(x[0], probs, "probability of the predicted class as a square of zeros "
                                                                 "slides"), "occlusion_map.png"),
                  "ZFNet Figure 7: the probability of the predicted class as a square of zeros slides over the image."))
    sections.append(("Which pixels the decision rests on", items))

    dataset = _dataset(model, limit)
    items = []
    if dataset is not None:
        pts, labels, _ = features.embedding(model, dataset, method=method, limit=limit)
        items.append((put(plots.plot_embedding(pts, labels, classes, f"penultimate-layer features ({method.upper()}, "
                                               f"{len(labels)} test images)"), "embedding.png"),
                      "Each test image's penultimate-layer feature vector projected to 2-D, coloured by its class."))
        if cam_layer:
            try:
                channel = int(maps[cam_layer].reshape(maps[cam_layer].shape[0], -1).max(axis=1).argmax())
                top = features.top_activations(model, dataset, cam_layer, channel, k=6, limit=limit)
                items.append((put(plots.plot_top_activations(top, f"{cam_layer}, channel {channel}: top images"),
                                  "top_activations.png"),
                              f"ZFNet Figure 2 in miniature: the test patches that most excite channel {channel} of "
                              f"{cam_layer}, each beside its deconvnet projection (unpooling with the switches)."))
            except ValueError:
                pass  # not a plain Conv/ReLU/MaxPool chain: no explicit deconvnet projection
    n_cls = len(logits)
    if n_cls <= 10:
        imgs = [features.class_model(model, c, steps=class_steps, input_shape=x.shape[1:])[0] for c in range(n_cls)]
        items.append((put(plots.plot_class_model(imgs, classes or range(n_cls)), "class_model.png"),
                      "Class models: inputs optimised to maximise each class score, with L2 decay and blurring."))
    if items:
        sections.append(("What the network has learned overall", items))

    run_items = []
    for name, caption in (("training_curve.png", "Loss and accuracy per epoch (from the run)."),
                          ("confusion_matrix.png", "Test confusion matrix (from the run).")):
        src = os.path.join(run_dir, name)
        if os.path.isfile(src):
            shutil.copyfile(src, os.path.join(out_dir, name))
            run_items.append((name, caption))
    if run_items:
        sections.append(("Training", run_items))

    written = [f for _, items in sections for f, _ in items]
    title = f"{(model.config or {}).get('name', type(model).__name__)}: what the network learned"
    atomic_write(os.path.join(out_dir, "index.html"), _html(title, run_dir, image_path, label, sections))
    return written + ["index.html"]


def _html(title, run_dir, image_path, label, sections):
    e = html.escape
    body = [f"<h1>{e(title)}</h1>",
            f"<p>Run <code>{e(os.fspath(run_dir))}</code>, image <code>{e(os.path.basename(image_path))}</code>, "
            f"predicted class <b>{e(str(label))}</b>.</p>"]
    for heading, items in sections:
        body.append(f"<h2>{e(heading)}</h2>")
        for f, caption in items:
            body.append(f'<figure><img src="{e(f)}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption></figure>')
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
             "figure{margin:1em 0 2em}img{max-width:100%;border:1px solid #ddd}"
             "figcaption{font-size:0.9em;color:#555}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(title)}</title><style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
