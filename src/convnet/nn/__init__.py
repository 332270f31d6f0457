"""Layers (Modules holding Parameters) over ``convnet.functional``; PyTorch's names."""
from . import init  # noqa: F401
from . import utils  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .container import (Flatten, Identity, ModuleDict, ModuleList, ParameterDict, ParameterList,  # noqa: F401
                        Sequential, Unflatten)
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d  # noqa: F401
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d,  # noqa: F401
                      AdaptiveMaxPool2d, AdaptiveMaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d,
                      MaxPool2d, MaxPool3d, MinPool2d)
from .activation import (CELU, ELU, GELU, SELU, Abs, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,  # noqa: F401
                         LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax,
                         Softmin, Softplus, Softshrink, Softsign, Tanh, Tanhshrink, Threshold)
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, InstanceNorm1d,  # noqa: F401
                            InstanceNorm2d, InstanceNorm3d, LayerNorm, LocalContrastNorm, LocalResponseNorm)
from .linear import Linear  # noqa: F401
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d  # noqa: F401
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
from .unpooling import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d  # noqa: F401
from .sparse import Embedding  # noqa: F401
from .rnn import LSTM  # noqa: F401
from .pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: F401
from .distance import CosineSimilarity, KLDivLoss, PairwiseDistance  # noqa: F401
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d,  # noqa: F401
                      ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d,
                      ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss,  # noqa: F401
                   SmoothL1Loss)
from .syncbatchnorm import SyncBatchNorm  # noqa: F401
from . import parallel  # noqa: F401  (DistributedDataParallel; imports convnet.distributed only when used)
