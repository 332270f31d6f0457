"""``update_bn``: batch-norm statistics recomputed over a loader, PyTorch's ``torch.optim.swa_utils.update_bn``.

During training each batch-norm layer keeps an exponential moving average of the batch statistics it saw.
When the weights have moved since (stochastic weight averaging), or the training images differ from the
images the network will be used on (heavy augmentation: elastically distorted digits are blurrier than the
test digits), those averages no longer describe what the layer will see. ``update_bn`` resets them and runs
the model once over ``loader`` in training mode with ``momentum=None``, so each layer stores the plain
average over the loader's batches of the batch means and (unbiased) variances: "precise BN".

Only ``update_bn`` is here; ``AveragedModel`` and ``SWALR`` (weight averaging itself) are not implemented.
"""
from __future__ import annotations

from ..autograd import no_grad

__all__ = ["update_bn"]


def update_bn(loader, model, device=None):
    """Recompute the running mean and variance of every batch-norm layer of ``model`` over ``loader``.

    Args:
        loader: an iterable of batches: tensors or arrays ``(N, ...)``, or tuples / lists whose first item
            is the input (a ``DataLoader`` of ``(images, labels)``); labels are ignored.
        model: a module; nothing happens when it has no batch-norm layer.
        device: accepted for PyTorch compatibility (inputs stay where they are).

    The model runs in training mode (as PyTorch's, dropout is active during the pass: it does not touch
    a batch-norm layer placed before it); afterwards every layer's ``momentum`` and the model's
    training / evaluation mode are what they were before.
    """
    from ..nn.batchnorm import _BatchNorm

    momenta = {m: m.momentum for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats}
    if not momenta:
        return
    for m in momenta:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: factor 1 / num_batches_tracked
    was_training = model.training
    model.train()
    try:
        with no_grad():
            for batch in loader:
                model(batch[0] if isinstance(batch, (tuple, list)) else batch)
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        model.train(was_training)
