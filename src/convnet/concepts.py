"""The concept index: every term of the lecture notes -> the convnet name that computes it, and the page.

One home for the table: the documentation site renders it (``docs/concepts.md``) and
``convnet concepts [TERM]`` prints it.

    >>> from convnet.concepts import find
    >>> [c.usage for c in find("toeplitz")]
    ['filters.conv_matrix']

``api`` is the full dotted name of the object (importable: ``convnet.filters.conv_matrix``);
``usage`` is how it is written in code with the usual imports (``import convnet as cn``,
``import convnet.functional as F``, ``from convnet import nn, optim, data, models, filters, shapes``);
``page`` is the site page (path under ``docs/`` without ``.md``).
"""
from __future__ import annotations

from typing import NamedTuple


class Concept(NamedTuple):
    term: str
    api: str            # dotted path of an existing object, e.g. "convnet.filters.correlate2d"
    usage: str          # how code writes it, e.g. "filters.correlate2d"
    page: str           # site page, e.g. "lectures/01-convolution-by-hand"
    note: str           # one line: what it is
    aliases: tuple = ()


L1, L2, L3 = "lectures/01-convolution-by-hand", "lectures/02-convolution-as-a-matrix", "lectures/03-classic-filters"
L4, L5 = "lectures/04-shapes", "lectures/05-nonlinearities-and-normalization"
L6, L7, L8, L9 = "lectures/06-pooling", "lectures/07-backprop-through-conv", "lectures/08-training", "lectures/09-case-studies"
P10 = "pytorch-in-ten-minutes"
GUIDE = "guide/"
API = "api/"


def _c(term, api, page, note, usage=None, aliases=()):
    if usage is None:
        usage = api.removeprefix("convnet.").replace("functional.", "F.", 1) if api.startswith("convnet.") else api
        if usage.startswith(("Tensor", "tensor", "no_grad", "summary", "save", "load", "manual_seed")):
            usage = "cn." + usage
    return Concept(term, api, usage, page, note, tuple(aliases))


CONCEPTS = [
    # --- 1. convolution
    _c("cross-correlation", "convnet.filters.correlate2d", L1,
       "slide the kernel, no flip: what a CNN layer computes", aliases=("correlation",)),
    _c("true convolution", "convnet.filters.convolve2d", L1,
       "kernel flipped in both directions, then slid", aliases=("convolution", "flipped kernel")),
    _c("1-D convolution (moving average)", "convnet.filters.convolve1d", L1,
       "weighted moving average of a signal", aliases=("moving average",)),
    _c("convolutional layer", "convnet.nn.Conv2d", L1,
       "C_out filters of shape (C_in, kH, kW) plus biases", aliases=("conv layer", "filter bank")),
    _c("conv2d (functional)", "convnet.functional.conv2d", L1,
       "the layer's computation on (N, C_in, H, W) batches"),
    _c("edge detection", "convnet.filters.get_kernel", L1,
       'vertical/horizontal edge kernels: get_kernel("vertical_edge")',
       aliases=("vertical edge", "horizontal edge")),
    # --- 2. convolution as a matrix
    _c("Toeplitz matrix", "convnet.filters.conv_matrix", L2,
       "convolution as a (doubly block Toeplitz) matrix acting on the flattened image",
       aliases=("toeplitz", "convolution matrix", "doubly block Toeplitz")),
    _c("transposed convolution", "convnet.functional.conv_transpose2d", L2,
       "multiplication by the transpose of the convolution matrix; upsampling",
       aliases=("deconvolution", "fractionally strided convolution")),
    _c("im2col", "convnet.filters.im2col", L2,
       "every receptive field unrolled into a column: conv = one matrix product",
       aliases=("unfold", "patches")),
    _c("col2im", "convnet.filters.col2im", L2, "adjoint of im2col: scatter-add columns back",
       aliases=("fold",)),
    # --- 3. classic filters
    _c("Sobel filter", "convnet.filters.get_kernel", L3, 'get_kernel("sobel_x") / ("sobel_y"): smoothed derivative',
       aliases=("sobel",)),
    _c("Prewitt filter", "convnet.filters.get_kernel", L3, 'get_kernel("prewitt_x"): box-smoothed derivative',
       aliases=("prewitt",)),
    _c("Laplacian filter", "convnet.filters.get_kernel", L3, 'get_kernel("laplacian"): second derivative, both axes',
       aliases=("laplacian",)),
    _c("Roberts cross", "convnet.filters.get_kernel", L3, 'get_kernel("roberts_x"): 2x2 diagonal derivative',
       aliases=("roberts",)),
    _c("box filter", "convnet.filters.get_kernel", L3, 'get_kernel("box"): mean of the 3x3 window',
       aliases=("mean filter", "blur")),
    _c("Gaussian filter", "convnet.filters.gaussian_kernel", L3, "sampled 2-D Gaussian, sums to 1",
       aliases=("gaussian", "gaussian blur")),
    _c("sharpening", "convnet.filters.get_kernel", L3, 'get_kernel("sharpen"): identity minus Laplacian',
       aliases=("sharpen",)),
    _c("named kernels", "convnet.filters.KERNELS", L3, "the classic kernels by name"),
    # --- 4. shapes
    _c("output size o = (n+2p-f)/s+1", "convnet.shapes.conv_output_size", L4,
       "floor((n + 2p - d(f-1) - 1)/s) + 1", aliases=("output size", "output-size formula")),
    _c("padding", "convnet.shapes.resolve_padding", L4,
       "int, (before, after), 'valid' or 'same'", aliases=("zero padding",)),
    _c("same padding", "convnet.shapes.same_padding", L4, "p = d(f-1)/2: output as large as the input"),
    _c("stride", "convnet.shapes.conv_output_size", L4, "step between windows: divides the output size",
       aliases=("strided convolution",)),
    _c("dilated convolution", "convnet.nn.Conv2d", L4,
       "Conv2d(..., dilation=d): kernel spread over d(f-1)+1 pixels", aliases=("dilation", "atrous convolution")),
    _c("receptive field", "convnet.shapes.receptive_field", L4,
       "input pixels one output sees; three 3x3 layers = one 7x7", aliases=("field of view",)),
    _c("1x1 convolution", "convnet.nn.Conv2d", L4,
       "Conv2d(C_in, C_out, 1): mixes channels; the Inception bottleneck", aliases=("bottleneck", "network in network")),
    _c("parameters and MACs per layer", "convnet.summary", L4,
       "cn.summary(model, input_shape): shapes, parameters, MACs, receptive fields",
       usage="cn.summary", aliases=("summary", "macs", "flops", "parameter count")),
    # --- 5. nonlinearities and normalization
    _c("ReLU", "convnet.nn.ReLU", L5, "max(0, x): slope 1 where active", aliases=("rectified linear unit",)),
    _c("sigmoid", "convnet.nn.Sigmoid", L5, "1/(1+e^-x); slope at most 0.25", aliases=("logistic",)),
    _c("tanh", "convnet.nn.Tanh", L5, "hyperbolic tangent; slope 1 at 0"),
    _c("vanishing gradient", "convnet.nn.Sigmoid", L5, "products of slopes < 1 across layers shrink the gradient"),
    _c("rectification |x|", "convnet.nn.Abs", L5, "absolute-value rectification (Jarrett et al.)",
       aliases=("rectification", "absolute value rectification", "abs")),
    _c("local contrast normalization", "convnet.functional.local_contrast_norm", L5,
       "subtract the local mean, divide by the local std (Jarrett et al. 2009)", aliases=("LCN",)),
    _c("local contrast normalization (layer)", "convnet.nn.LocalContrastNorm", L5, "the LCN module"),
    _c("Jarrett stage", "convnet.models.jarrett", L5,
       "filter bank -> |x| -> LCN -> pooling", usage='models.get("jarrett")', aliases=("jarrett",)),
    _c("local response normalization", "convnet.nn.LocalResponseNorm", L5,
       "AlexNet's cross-channel normalization", aliases=("LRN",)),
    _c("batch normalization", "convnet.nn.BatchNorm2d", L5,
       "standardise each channel over the batch, then scale and shift", aliases=("batch norm", "BN")),
    # --- 6. pooling
    _c("max pooling", "convnet.nn.MaxPool2d", L6, "maximum of each window; gradient goes to the argmax",
       aliases=("max pool",)),
    _c("average pooling", "convnet.nn.AvgPool2d", L6, "mean of each window; gradient spread evenly",
       aliases=("avg pooling", "mean pooling")),
    _c("min pooling", "convnet.nn.MinPool2d", L6, "minimum of each window (ours)", aliases=("min pool",)),
    _c("L2 pooling", "convnet.functional.lp_pool2d", L6, "lp_pool2d(x, 2, k): square root of the window's sum of squares",
       aliases=("lp pooling", "power average pooling")),
    _c("global average pooling", "convnet.nn.AdaptiveAvgPool2d", L6, "AdaptiveAvgPool2d(1): one number per channel",
       aliases=("adaptive pooling", "GAP")),
    _c("max unpooling", "convnet.nn.MaxUnpool2d", L6, "puts each max back at its argmax (deconvnet)",
       aliases=("unpooling",)),
    # --- 7. backpropagation
    _c("autograd", "convnet.Tensor.backward", L7, "reverse-mode differentiation: loss.backward()",
       usage="cn.Tensor.backward", aliases=("backpropagation", "backprop", "backward pass", "chain rule")),
    _c("gradient", "convnet.Tensor", P10, "x.grad after loss.backward() for x with requires_grad", aliases=("grad", "requires_grad")),
    _c("no_grad", "convnet.no_grad", P10, "turn graph recording off (inference)"),
    # --- 8. training
    _c("fully connected layer", "convnet.nn.Linear", API + "nn", "y = x W^T + b", aliases=("dense layer", "linear layer")),
    _c("softmax", "convnet.functional.softmax", L8, "exponentiate and normalise to probabilities"),
    _c("cross-entropy loss", "convnet.nn.CrossEntropyLoss", L8, "log-softmax + negative log-likelihood",
       aliases=("cross entropy", "log loss", "negative log-likelihood")),
    _c("dropout", "convnet.nn.Dropout", API + "nn", "zero activations at random in training, scale by 1/(1-p)"),
    _c("SGD", "convnet.optim.SGD", L8, "w -= lr * grad", aliases=("stochastic gradient descent",)),
    _c("momentum", "convnet.optim.SGD", L8, "SGD(params, lr, momentum=0.9): velocity of past gradients"),
    _c("weight decay", "convnet.optim.SGD", API + "optim", "L2 penalty: weight_decay= on any optimizer",
       aliases=("L2 regularization",)),
    _c("Adam", "convnet.optim.Adam", L8, "per-weight step from running means of g and g^2"),
    _c("RMSprop", "convnet.optim.RMSprop", API + "optim", "divide by a running RMS of the gradient"),
    _c("learning-rate schedule (step)", "convnet.optim.lr_scheduler.StepLR", L8,
       "multiply lr by gamma every step_size epochs", usage="optim.lr_scheduler.StepLR",
       aliases=("learning rate schedule", "lr schedule", "step decay")),
    _c("divide by 10 on plateau", "convnet.optim.lr_scheduler.ReduceLROnPlateau", L8,
       "ReduceLROnPlateau(opt, factor=0.1)", usage="optim.lr_scheduler.ReduceLROnPlateau",
       aliases=("reduce on plateau", "plateau")),
    _c("cosine annealing", "convnet.optim.lr_scheduler.CosineAnnealingLR", API + "optim",
       "lr follows half a cosine to 0", usage="optim.lr_scheduler.CosineAnnealingLR"),
    _c("weight initialisation", "convnet.nn.init.kaiming_normal_", API + "nn",
       "He / Xavier initialisation (nn.init)", aliases=("He initialization", "kaiming", "xavier", "initialization")),
    _c("training loop", "convnet.train.Trainer", L8, "epochs, validation, checkpoints, early stopping",
       usage="cn.Trainer",
       aliases=("trainer", "early stopping")),
    _c("mini-batches", "convnet.data.DataLoader", API + "data", "batches, shuffling, worker processes",
       aliases=("minibatch", "data loader", "batch")),
    _c("MNIST", "convnet.data.mnist", L8, "28x28 handwritten digits, 60,000 + 10,000",
       aliases=("fashion-mnist",)),
    _c("digits", "convnet.data.digits", API + "data", "scikit-learn's 1,797 8x8 digits, offline"),
    _c("data augmentation", "convnet.data.transforms.RandomCrop", GUIDE + "augmentation",
       "random crops, flips, rotations, colour jitter (data.transforms)", usage="data.transforms.RandomCrop",
       aliases=("augmentation", "transforms")),
    _c("checkpoint", "convnet.checkpoint.save", API + "checkpoint", "cn.save / cn.load: safetensors + JSON, no pickle",
       usage="cn.save", aliases=("save", "load", "safetensors")),
    _c("transfer learning", "convnet.freeze", GUIDE + "transfer",
       "cn.freeze(model), cn.replace_head(model, n): reuse a trained base", usage="cn.freeze",
       aliases=("fine-tuning", "freezing", "freeze")),
    _c("replace the head", "convnet.replace_head", GUIDE + "transfer", "a new output layer for the new classes",
       usage="cn.replace_head"),
    _c("cached features", "convnet.extract_features", GUIDE + "transfer",
       "run the frozen base once, train the head on its features", usage="cn.extract_features"),
    # --- visualization
    _c("filter visualization", "convnet.viz.filter_tiles", GUIDE + "visualization",
       "first-layer kernels as a grid of images", usage="viz.filter_tiles", aliases=("first-layer filters",)),
    _c("feature maps", "convnet.viz.feature_maps", GUIDE + "visualization", "every channel of a layer's output",
       usage="viz.feature_maps", aliases=("activations",)),
    _c("deconvnet", "convnet.viz.deconvnet", GUIDE + "visualization",
       "Zeiler & Fergus: project an activation back to pixels", usage="viz.deconvnet",
       aliases=("deconvolutional network",)),
    _c("occlusion sensitivity", "convnet.viz.occlusion", GUIDE + "visualization",
       "slide a grey square, watch the class score drop", usage="viz.occlusion", aliases=("occlusion",)),
    _c("Grad-CAM", "convnet.viz.grad_cam", GUIDE + "visualization", "class activation map from gradients",
       usage="viz.grad_cam", aliases=("grad cam", "saliency")),
    # --- 9. case studies
    _c("LeNet-5", "convnet.models.lenet5", L9, "LeCun et al. 1998: digits, 61,706 parameters",
       usage='models.get("lenet5")', aliases=("lenet",)),
    _c("AlexNet", "convnet.models.alexnet", L9, "Krizhevsky et al. 2012: ImageNet, ReLU, dropout, LRN",
       usage='models.get("alexnet")'),
    _c("ZFNet", "convnet.models.zfnet", L9, "Zeiler & Fergus 2013: AlexNet with 7x7 stride-2 first layer",
       usage='models.get("zfnet")'),
    _c("VGG", "convnet.models.vgg16", L9, "Simonyan & Zisserman 2014: stacks of 3x3 convolutions",
       usage='models.get("vgg16")', aliases=("vgg16", "vgg-16")),
    _c("Network in Network", "convnet.models.nin", L9, "Lin et al. 2013: 1x1 conv MLPs, global pooling",
       usage='models.get("nin")', aliases=("nin",)),
    _c("GoogLeNet / Inception", "convnet.models.googlenet", L9,
       "Szegedy et al. 2014: Inception modules with 1x1 bottlenecks", usage='models.get("googlenet")',
       aliases=("googlenet", "inception")),
    _c("ResNet", "convnet.models.resnet18", L9, "He et al. 2015: residual (skip) connections",
       usage='models.get("resnet18")', aliases=("residual network", "skip connection", "resnet18", "resnet50")),
    _c("residual block", "convnet.models.BasicBlock", API + "models", "y = relu(F(x) + x)",
       usage="models.BasicBlock", aliases=("basic block", "bottleneck block")),
    _c("SENet", "convnet.models.se_resnet50", L9, "Hu et al. 2017: squeeze-and-excitation channel gates",
       usage='models.get("se_resnet50")', aliases=("squeeze and excitation", "se-resnet")),
    _c("model zoo", "convnet.models.get", L9, "every network by name: convnet summary --list",
       aliases=("models",)),
]


def find(term):
    """Concepts whose term, alias, API name or usage contains ``term`` (case-insensitive).

    An exact match of a term or alias comes first; ``find("")`` returns everything.
    """
    if not isinstance(term, str):
        raise TypeError(f"concepts.find: term must be a str, got {type(term).__name__}")
    t = term.strip().lower()
    exact = [c for c in CONCEPTS if t in (c.term.lower(), *(a.lower() for a in c.aliases))]
    rest = [c for c in CONCEPTS if c not in exact and any(
        t in s.lower() for s in (c.term, c.api, c.usage, *c.aliases))]
    return exact + rest


def format_row(concept, width=32):
    """One line: ``term  usage  page``."""
    return f"{concept.term:{width}s} {concept.usage:38s} {concept.page}"
