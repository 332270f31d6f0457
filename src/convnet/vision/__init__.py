"""Vision applications on top of ``nn``/``functional``, as torchvision sits on top of PyTorch.

* :mod:`convnet.vision.ops`: detection primitives with torchvision's names (``box_iou``, ``nms``,
  ``batched_nms``, ``roi_pool``, ``roi_align``, ...).
* :mod:`convnet.vision.metrics`: ``mean_average_precision`` (COCO's definition, as pycocotools) and
  VOC-style AP@0.5.
"""
from . import ops  # noqa: F401
from . import metrics  # noqa: F401

__all__ = ["ops", "metrics"]
