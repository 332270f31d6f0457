"""A YOLO-v1-style detector (Redmon, Divvala, Girshick & Farhadi, 2016) small enough to train on a CPU.

The image is divided into an S x S grid; each cell predicts B boxes ``(x, y, w, h, confidence)`` and
one set of C class probabilities, so the network's output is an ``S x S x (B*5 + C)`` tensor, as in
the paper. The paper's 24-layer backbone and fully connected head are replaced by five 3x3
convolutions (batch norm, leaky ReLU 0.1 as in the paper) with four 2x2 max-pools (stride 16, so a
96x96 canvas gives S = 6) and two 1x1 convolutions as the head::

    input 1@96x96
    conv 3x3 w,   pool  -> w@48x48
    conv 3x3 2w,  pool  -> 2w@24x24
    conv 3x3 4w,  pool  -> 4w@12x12
    conv 3x3 4w,  pool  -> 4w@6x6
    conv 3x3 8w         -> 8w@6x6        receptive field 63 px
    conv 1x1 (boxes) and conv 1x1 (classes), concatenated -> (B*5+C)@6x6 -> permuted to (N, 6, 6, B*5+C)

The outputs are raw scores; :mod:`convnet.detection.yolo` turns them into boxes (sigmoid offsets in
the cell, sigmoid square roots of width and height relative to the image, sigmoid confidence,
softmax class probabilities), holds the paper's loss and decodes detections with NMS.
"""
from __future__ import annotations

from collections import OrderedDict

from .. import cat, nn
from . import register

STRIDE = 16


def _block(c_in, c_out, pool):
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.1)]
    return nn.Sequential(*(layers + ([nn.MaxPool2d(2, 2)] if pool else [])))


class YOLOv1(nn.Module):
    """YOLO-v1 head on a small convolutional backbone.

    Args:
        num_classes: C, the number of object classes (10 digits).
        in_channels: input channels.
        boxes_per_cell: B, boxes predicted per grid cell.
        width: channels of the first convolution (the others are 2, 4, 4 and 8 times it).

    Shape:
        - Input: ``(N, in_channels, H, W)`` with H and W multiples of 16
        - Output: ``(N, H/16, W/16, B*5 + C)``: per cell ``[x, y, w, h, conf] * B`` then C class scores

    Example:
        >>> import convnet as cn
        >>> cn.models.get("yolo_v1")(cn.randn(2, 1, 96, 96)).shape
        (2, 6, 6, 20)
    """

    def __init__(self, num_classes=10, in_channels=1, boxes_per_cell=2, width=16):
        super().__init__()
        self.num_classes, self.boxes_per_cell, self.stride = num_classes, boxes_per_cell, STRIDE
        w = width
        self.features = nn.Sequential(OrderedDict([
            ("b1", _block(in_channels, w, True)), ("b2", _block(w, 2 * w, True)),
            ("b3", _block(2 * w, 4 * w, True)), ("b4", _block(4 * w, 4 * w, True)),
            ("b5", _block(4 * w, 8 * w, False)),
        ]))
        self.box_head = nn.Conv2d(8 * w, boxes_per_cell * 5, 1)   # [x, y, w, h, conf] * B per cell
        self.class_head = nn.Conv2d(8 * w, num_classes, 1)        # C class scores per cell

    def forward(self, x):
        if x.shape[-1] % STRIDE or x.shape[-2] % STRIDE:
            raise ValueError(f"YOLOv1: input height and width must be multiples of {STRIDE}, received "
                             f"shape {tuple(x.shape)}")
        f = self.features(x)
        out = cat([self.box_head(f), self.class_head(f)], dim=1)  # (N, B*5+C, S, S)
        return out.permute(0, 2, 3, 1)                             # (N, S, S, B*5+C), the paper's layout


@register("yolo_v1", input_shape=(1, 96, 96))
def yolo_v1(num_classes=10, in_channels=1, boxes_per_cell=2, width=16):
    """YOLO-v1-style detector (see :class:`YOLOv1`): S = H/16 grid, B boxes per cell."""
    return YOLOv1(num_classes, in_channels, boxes_per_cell=boxes_per_cell, width=width)
