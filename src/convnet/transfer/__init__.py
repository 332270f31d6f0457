"""Transfer learning as the notes teach it: reuse a network trained before instead of random weights.

    import convnet as cn
    model = cn.load("runs/lenet5-mnist")               # trained before
    head = cn.replace_head(model, 2)                     # a fresh output layer for the new classes
    cn.freeze(model, "features.*")                       # (1) freeze the base, train the head
    opt = cn.optim.Adam(cn.transfer.param_groups(model, head_lr=1e-3, base_lr=1e-4))  # (2) fine-tune
    feats = cn.extract_features(model, train_set, None, "feats.safetensors")          # (3) cache once
    cn.fit(head, cn.data.DataLoader(feats, batch_size=64, shuffle=True), epochs=20)   #     train fast

``freeze`` keeps the batch norm (and dropout) of the frozen base in eval mode even when
``model.train()`` is called. See ``docs/guide/transfer.md``.
"""
from .freeze import find_head, freeze, param_groups, replace_head, unfreeze  # noqa: F401
from .features import FEATURES_FORMAT, extract_features, load_features  # noqa: F401

__all__ = ["freeze", "unfreeze", "find_head", "replace_head", "param_groups", "extract_features",
           "load_features", "FEATURES_FORMAT"]
