"""See what a network learned: attributions (Captum's definitions), filters, feature maps, the
deconvnet, Grad-CAM, class models, embeddings, teaching demos and a one-page HTML report.

An application on top of ``convnet.nn`` / ``convnet.functional`` (the library never imports it).
The functions here return NumPy arrays; :mod:`convnet.viz.plots` draws them (matplotlib, PNG) and
:mod:`convnet.viz.report` writes the report ``convnet visualize`` makes::

    from convnet import viz
    maps = viz.saliency(model, x, target=3)            # (N, C, H, W)
"""
from .attribution import (deconvnet, grad_cam, guided_backprop, occlusion, occlusion_map,  # noqa: F401
                          resolve_layer, saliency, upsample)
from .projection import layer_chain, project_down, receptive_box  # noqa: F401
from .features import class_model, dataset_arrays, embedding, feature_maps, filter_tiles, top_activations  # noqa: F401
from .demos import sigmoid_slope_at_zero, translation_equivariance, vanishing_gradient  # noqa: F401


def __getattr__(name):  # the matplotlib layer and the report load on first use
    import importlib

    if name in ("plots", "report"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
