"""Two small networks from the lecture notes: the worked ``simple_cnn`` example and Jarrett's
multi-stage architecture.

``simple_cnn`` (the notes' "example ConvNet", after Andrew Ng's course)::

    input 3@39x39
    conv1 3x3, stride 1, 10 filters   (39 - 3)/1 + 1 = 37   -> 10@37x37
    conv2 5x5, stride 2, 20 filters   (37 - 5)/2 + 1 = 17   -> 20@17x17
    conv3 5x5, stride 2, 40 filters   (17 - 5)/2 + 1 = 7    -> 40@7x7
    flatten 7·7·40 = 1960 -> linear -> classes   (softmax in the loss)

``jarrett`` (Jarrett, Kavukcuoglu, Ranzato & LeCun, "What is the Best Multi-Stage
Architecture for Object Recognition?", ICCV 2009). Each stage is the paper's
``F_CSG - R_abs - N - P_A``:

    convolution (filter bank) -> tanh -> gain g (F_CSG: y_j = g_j tanh(sum_i k_ij * x_i))
    -> |.| (R_abs, absolute-value rectification) -> local contrast normalization (N)
    -> average pooling (P_A)

two stages, then a linear classifier. ``rectify=False`` drops R_abs and ``lcn=False`` drops N
(the paper's ablation: F_CSG - P_A alone); ``gain=False`` drops the trainable gain, which gives
the network this module built before the gain was added (same ``state_dict`` keys).

The paper's Caltech-101 model is 143x143 grey-level input, 64 9x9 filters, 10x10/5 pooling,
256 9x9 filters, 6x6/3 pooling; the defaults here are a CIFAR-sized version (32x32, 16 and 32
5x5 filters, 2x2 pooling), all configurable.
"""
from __future__ import annotations

from collections import OrderedDict

from .. import nn, ones
from ..shapes import conv_output_size, pool_output_size
from . import register


class SimpleCNN(nn.Sequential):
    """The notes' worked example: three convs (10, 20, 40 filters) and one linear layer.

    A ``Sequential`` so its layers can be walked one by one (``conv1``, ``relu1``, ...,
    ``flatten``, ``fc``).

    Shape:
        - Input: ``(N, in_channels, 39, 39)``
        - Output: ``(N, num_classes)``; per layer 10@37x37, 20@17x17, 40@7x7, 1960.

    Example:
        >>> import convnet as cn
        >>> cn.models.get("simple_cnn")(cn.randn(2, 3, 39, 39)).shape
        (2, 10)
    """

    def __init__(self, num_classes=10, in_channels=3, input_size=39):
        s = conv_output_size(input_size, 3, 1)
        s = conv_output_size(s, 5, 2)
        s = conv_output_size(s, 5, 2)                      # 39 -> 37 -> 17 -> 7
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(in_channels, 10, kernel_size=3, stride=1)), ("relu1", nn.ReLU()),
            ("conv2", nn.Conv2d(10, 20, kernel_size=5, stride=2)), ("relu2", nn.ReLU()),
            ("conv3", nn.Conv2d(20, 40, kernel_size=5, stride=2)), ("relu3", nn.ReLU()),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(40 * s * s, num_classes)),
        ]))


class Gain(nn.Module):
    """The trainable per-map gain ``g`` of the notes' F_CSG layer: ``y[:, c] = g[c] * x[:, c]``.

    Args:
        num_features: ``C``, the number of feature maps.

    Shape:
        ``(N, C, H, W)`` -> same.

    Attributes:
        weight: the gains ``g``, shape ``(C,)``, initialised to 1 (so at init the stage is the
            plain ``tanh`` of the filter bank).

    Example:
        >>> import convnet as cn
        >>> Gain(3)(cn.randn(2, 3, 4, 4)).shape
        (2, 3, 4, 4)
    """

    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features
        self.weight = nn.Parameter(ones(num_features))

    def forward(self, x):
        return x * self.weight.reshape(1, -1, 1, 1)  # (C,) -> (1, C, 1, 1), broadcast over N, H, W

    def extra_repr(self):
        return f"{self.num_features}"


def jarrett_stage(in_channels, out_channels, kernel_size, pool_size, pool_stride, lcn_size,
                  pool="avg", rectify=True, lcn=True, gain=True):
    """One ``conv -> tanh -> gain -> abs -> LCN -> pool`` stage (``pool`` 'avg' = P_A, 'max' = P_M).

    ``gain``, ``rectify`` and ``lcn`` switch the gain ``g``, the ``|x|`` (R_abs) and the local
    contrast normalization (N) on or off; the layers left keep their names (``conv``, ``tanh``,
    ``gain``, ``abs``, ``lcn``, ``pool``), so ``state_dict`` keys do not depend on the switches.
    """
    if pool not in ("avg", "max"):
        raise ValueError(f"jarrett_stage: pool must be 'avg' or 'max', got {pool!r}")
    for arg, value in (("rectify", rectify), ("lcn", lcn), ("gain", gain)):
        if not isinstance(value, bool):
            raise TypeError(f"jarrett_stage: argument '{arg}' must be True or False, got {value!r}")
    pool_cls = nn.AvgPool2d if pool == "avg" else nn.MaxPool2d
    layers = [("conv", nn.Conv2d(in_channels, out_channels, kernel_size)), ("tanh", nn.Tanh())]
    if gain:
        layers.append(("gain", Gain(out_channels)))
    if rectify:
        layers.append(("abs", nn.Abs()))
    if lcn:
        layers.append(("lcn", nn.LocalContrastNorm(lcn_size)))
    layers.append(("pool", pool_cls(pool_size, stride=pool_stride)))
    return nn.Sequential(OrderedDict(layers))


class Jarrett(nn.Module):
    """Two ``F_CSG - R_abs - N - P`` stages and a linear classifier (Jarrett et al., 2009).

    Args:
        num_classes: outputs of the classifier.
        in_channels: input channels.
        channels: filters of stage 1 and stage 2.
        kernel_size: filter size of both stages.
        pool_size, pool_stride: pooling window and stride of both stages.
        lcn_size: window of the local contrast normalization.
        pool: 'avg' (the paper's P_A) or 'max' (P_M).
        input_size: H = W of the input, used to size the classifier.
        rectify: absolute-value rectification ``|x|`` after the gain (R_abs); False drops it.
        lcn: local contrast normalization (N); False drops it.
        gain: the trainable per-map gain ``g`` of F_CSG (init 1); False drops it.

    Shape:
        - Input: ``(N, in_channels, input_size, input_size)``
        - Output: ``(N, num_classes)``; defaults: 32 -> conv 28 -> pool 14 -> conv 10 -> pool 5,
          so the classifier sees 32·5·5 = 800 features.

    Attributes:
        stage1, stage2: ``Sequential`` of ``conv``, ``tanh``, ``gain``, ``abs``, ``lcn``, ``pool``
            (those switched on). ``stageK.gain.weight`` has shape ``(channels[K-1],)``.
        classifier: ``Flatten`` then ``Linear(channels[1]·s·s, num_classes)``.

    Example:
        >>> import convnet as cn
        >>> cn.models.get("jarrett")(cn.randn(2, 3, 32, 32)).shape
        (2, 10)
        >>> [name for name, _ in cn.models.get("jarrett", rectify=False, lcn=False).stage1.named_children()]
        ['conv', 'tanh', 'gain', 'pool']
    """

    def __init__(self, num_classes=10, in_channels=3, channels=(16, 32), kernel_size=5,
                 pool_size=2, pool_stride=2, lcn_size=5, pool="avg", input_size=32,
                 rectify=True, lcn=True, gain=True):
        super().__init__()
        c1, c2 = channels
        options = dict(pool=pool, rectify=rectify, lcn=lcn, gain=gain)
        self.stage1 = jarrett_stage(in_channels, c1, kernel_size, pool_size, pool_stride, lcn_size, **options)
        self.stage2 = jarrett_stage(c1, c2, kernel_size, pool_size, pool_stride, lcn_size, **options)
        s = input_size
        for _ in range(2):
            s = pool_output_size(conv_output_size(s, kernel_size), pool_size, pool_stride)
        if s < 1:
            raise ValueError(f"Jarrett: input_size={input_size} is too small for two stages of "
                             f"{kernel_size}x{kernel_size} conv + {pool_size}/{pool_stride} pooling")
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c2 * s * s, num_classes))

    def forward(self, x):
        return self.classifier(self.stage2(self.stage1(x)))


@register("simple_cnn", input_shape=(3, 39, 39))
def simple_cnn(num_classes=10, in_channels=3, input_size=39):
    """The notes' 39x39x3 example network (see :class:`SimpleCNN`)."""
    return SimpleCNN(num_classes, in_channels, input_size)


@register("jarrett", input_shape=(3, 32, 32))
def jarrett(num_classes=10, in_channels=3, channels=(16, 32), kernel_size=5, pool_size=2,
            pool_stride=2, lcn_size=5, pool="avg", input_size=32, rectify=True, lcn=True, gain=True):
    """Jarrett et al. (2009) two-stage network (see :class:`Jarrett`); ``rectify``, ``lcn`` and
    ``gain`` switch R_abs, N and the trainable gain ``g`` off for the ablation."""
    return Jarrett(num_classes, in_channels, channels, kernel_size, pool_size, pool_stride,
                   lcn_size, pool, input_size, rectify, lcn, gain)
