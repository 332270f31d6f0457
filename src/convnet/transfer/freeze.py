"""Freezing a base, replacing the head, and a smaller learning rate for the base.

The notes' recipe for a network trained before: keep its layers (the *base*), put a fresh output
layer (the *head*) for the new classes, then either (1) freeze the base and train the head, or
(2) fine-tune the last layers too, with a smaller learning rate.

Patterns are ``fnmatch`` patterns over the names of ``model.named_parameters()`` and
``model.named_modules()``; a pattern also matches everything below a module it names, so
``"features"`` and ``"features.*"`` both mean the whole ``features`` block.
"""
from __future__ import annotations

from fnmatch import fnmatchcase

from ..nn import Conv2d, Linear, Module

__all__ = ["freeze", "unfreeze", "find_head", "replace_head", "param_groups"]


def _matches(name, patterns):
    return any(fnmatchcase(name, p) or fnmatchcase(name, p + ".*") for p in patterns)


def _selection(model, pattern, fn):
    """``(names of the selected parameters, selected modules)`` of ``model`` for ``pattern``."""
    if not isinstance(model, Module):
        raise TypeError(f"{fn}: model must be a convnet Module, received {type(model).__name__}")
    items = pattern if isinstance(pattern, (list, tuple)) else [pattern]
    patterns = []
    for item in items:
        if item is None:
            patterns.append("*")
        elif isinstance(item, str):
            patterns.append(item)
        elif isinstance(item, Module):
            prefix = next((n for n, m in model.named_modules() if m is item), None)
            if prefix is None:
                raise ValueError(f"{fn}: the {type(item).__name__} passed as pattern is not part of the model")
            patterns.append(prefix or "*")
        else:
            raise TypeError(f"{fn}: pattern must be a name pattern (str), a Module of the model, a list of "
                            f"those, or None (everything); received {type(item).__name__}")
    names = [n for n, _ in model.named_parameters() if _matches(n, patterns)]
    modules = [m for n, m in model.named_modules() if n and _matches(n, patterns)]
    if patterns == ["*"]:
        modules = list(model.modules())
    if not names and not modules:
        top = [n for n, _ in model.named_children()]
        raise ValueError(f"{fn}: pattern {pattern!r} matches no parameter or module of "
                         f"{type(model).__name__}; its top-level modules are {top}")
    return names, modules


def freeze(model, pattern=None):
    """Stop training the parameters named by ``pattern``; their modules stay in eval mode.

    The selected parameters get ``requires_grad=False`` (the optimizer then leaves them alone), and
    every selected module (batch norm and dropout above all) is put in eval mode and stays there
    when ``model.train()`` is called later: the frozen base keeps its running statistics, as a
    PyTorch user arranges by hand.

    Args:
        model: the network.
        pattern: ``fnmatch`` pattern over parameter/module names (``"features.*"``, ``"layer[1-3]"``),
            a sub-``Module`` of ``model``, a list of those, or ``None`` for the whole model.

    Returns:
        the names of the frozen parameters, in ``named_parameters()`` order.

    Example:
        >>> model = cn.models.get("lenet5")
        >>> cn.freeze(model, "features.*")[:2]
        ['features.c1.weight', 'features.c1.bias']
    """
    names, modules = _selection(model, pattern, "freeze")
    params = dict(model.named_parameters())
    for n in names:
        params[n].requires_grad_(False)
    for m in modules:
        object.__setattr__(m, "_frozen_eval", True)
        object.__setattr__(m, "training", False)
    return names


def unfreeze(model, pattern=None):
    """Undo :func:`freeze` for ``pattern`` (default: everything): train those parameters again.

    The selected modules follow ``model.train()`` / ``model.eval()`` again and take ``model``'s
    current mode now. Returns the names of the parameters made trainable.
    """
    names, modules = _selection(model, pattern, "unfreeze")
    params = dict(model.named_parameters())
    for n in names:
        params[n].requires_grad_(True)
    for m in modules:
        m.__dict__.pop("_frozen_eval", None)
        object.__setattr__(m, "training", model.training and not model.__dict__.get("_frozen_eval", False))
    return names


def find_head(model):
    """``(name, layer)`` of the final classifier layer: the last ``Linear`` or ``Conv2d`` registered.

    That is ``fc`` in the ResNets and GoogLeNet, ``classifier.6`` in AlexNet/VGG/ZFNet,
    ``classifier.output`` in LeNet-5 and the last 1x1 convolution (``features.mlpconv3.cccp2``) in
    NiN, whose head is convolutional. When ``model.config`` names ``num_classes``, the layer must
    have that many outputs.
    """
    found = None
    for name, m in model.named_modules():
        if isinstance(m, (Linear, Conv2d)):
            found = (name, m)
    if found is None:
        raise ValueError(f"find_head: {type(model).__name__} has no Linear or Conv2d layer to act as its head")
    n = (getattr(model, "config", None) or {}).get("num_classes")
    if n is not None and _outputs(found[1]) != n:
        raise ValueError(f"find_head: the last layer {found[0]} of {type(model).__name__} has {_outputs(found[1])} "
                         f"outputs but model.config says num_classes={n}; pass the head explicitly")
    return found


def _outputs(layer):
    return layer.out_features if isinstance(layer, Linear) else layer.out_channels


def _fresh(layer, num_classes):
    """A new, freshly initialised layer like ``layer`` with ``num_classes`` outputs."""
    bias = layer.bias is not None
    if isinstance(layer, Linear):
        new = Linear(layer.in_features, num_classes, bias=bias)
    else:
        new = Conv2d(layer.in_channels, num_classes, layer.kernel_size, stride=layer.stride, padding=layer.padding,
                     dilation=layer.dilation, groups=1, bias=bias)
    return new.to(layer.weight._data.dtype)


def _set(model, name, layer):
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent), leaf, layer)


def replace_head(model, num_classes):
    """Replace the final classifier layer (:func:`find_head`) by a fresh one with ``num_classes`` outputs.

    The new layer has the old one's input size (and, for a convolutional head, its kernel) and
    PyTorch's default initialisation; every other layer is untouched. ``model.config["num_classes"]``
    is updated, so ``cn.save``/``cn.load`` rebuild the new architecture. GoogLeNet's auxiliary
    classifiers (``aux_logits=True``) get new output layers too. The new head is trainable and
    follows ``model``'s mode.

    Returns:
        the new head layer.

    Example:
        >>> model = cn.models.get("resnet18")
        >>> replace_head(model, 2)
        Linear(in_features=512, out_features=2, bias=True)
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"replace_head: num_classes must be a positive integer, received {num_classes!r}")
    name, old = find_head(model)
    targets = [name]
    old_n = _outputs(old)
    for child, sub in model.named_children():  # auxiliary classifiers (GoogLeNet) end in a layer like the head
        if child.startswith("aux") and sub is not None:
            last = [(n, m) for n, m in sub.named_modules(child) if isinstance(m, (Linear, Conv2d))]
            if last and _outputs(last[-1][1]) == old_n:
                targets.append(last[-1][0])
    for target in targets:
        new = _fresh(model.get_submodule(target), num_classes)
        object.__setattr__(new, "training", model.training)
        _set(model, target, new)
    config = getattr(model, "config", None)
    if isinstance(config, dict) and "num_classes" in config:
        config["num_classes"] = num_classes
    return model.get_submodule(name)


def param_groups(model, head_lr, base_lr, head=None):
    """Optimizer parameter groups: the head at ``head_lr``, the rest of the trainable base at ``base_lr``.

    The notes' "fine-tune with a smaller learning rate": ``base_lr`` is typically ``head_lr / 10``.
    Frozen parameters (``requires_grad=False``) are left out; an empty group is dropped.

    Args:
        head: which parameters form the head: a pattern, a sub-Module or a list (as in :func:`freeze`);
            default the final layer found by :func:`find_head`.

    Example:
        >>> opt = cn.optim.SGD(param_groups(model, head_lr=0.01, base_lr=0.001), lr=0.01, momentum=0.9)
    """
    if head is None:
        head = find_head(model)[0]
    head_names = set(_selection(model, head, "param_groups")[0])
    groups = [{"params": [p for n, p in model.named_parameters() if p.requires_grad and n in head_names],
               "lr": float(head_lr)},
              {"params": [p for n, p in model.named_parameters() if p.requires_grad and n not in head_names],
               "lr": float(base_lr)}]
    groups = [g for g in groups if g["params"]]
    if not groups:
        raise ValueError("param_groups: every parameter of the model is frozen; nothing to train")
    return groups
