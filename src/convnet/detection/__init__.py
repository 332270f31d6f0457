"""Object detection on the multi-digit canvases (an application on top of ``nn``/``functional``).

* :mod:`convnet.detection.yolo`: YOLO v1's target encoding, loss (lambda_coord = 5, lambda_noobj = 0.5,
  square roots of w and h, confidence trained toward the IoU) and decoding with NMS.
* :mod:`convnet.detection.train`: ``train_yolo``, ``YOLODetector`` and ``evaluate`` (COCO mAP, time per image).
* :mod:`convnet.detection.sliding_window`: the LeNet-5 + background class baseline over windows at several scales.
* :mod:`convnet.detection.fast_rcnn`: proposals -> ``roi_pool`` on a shared feature map -> class + box regression.
* :mod:`convnet.detection.draw`: boxes, labels and scores drawn on an image (PNG).
"""
from . import yolo  # noqa: F401
from .train import YOLODetector, evaluate, train_yolo  # noqa: F401
