"""Every differentiable op documents its backward rule (issue 23).

The public functions of ``convnet.functional`` (and the ops primitives that implement the formulas)
must carry a Google-style ``Backward:`` section that Sphinx napoleon renders (``docs/conf.py`` sets
``napoleon_custom_sections = [("Backward", "notes_style")]``) and that docutils parses cleanly.
"""
from __future__ import annotations

import inspect
import io

import docutils.core
import pytest
from sphinx.ext.napoleon import Config, GoogleDocstring

import convnet as cn
import convnet.functional as F
from convnet.ops import activation, conv, elementwise, im2col, linear, loss, norm, pool, unpool

# The functional modules whose every public function is differentiable (each module's __all__);
# a function added to one of them without a Backward section fails here.
MODULES = ["activation", "conv", "pool", "norm", "loss", "linear", "interpolate", "sparse", "pixelshuffle",
           "distance", "divergence", "unpool"]
NOT_DIFFERENTIABLE = {"one_hot", "unpool_output_size"}  # integer outputs / shape arithmetic
EXTRA = ["pad", "abs"]                                 # re-exported from convnet.ops

# The primitives whose backward implements the formula the functional docstrings quote.
PRIMITIVES = [activation.ReLU, activation.LeakyReLU, activation.Sigmoid, activation.Tanh, activation.Softplus,
              activation.GELU, activation.Softmax, activation.LogSoftmax, conv.ConvNd, conv.ConvTransposeNd,
              im2col.Unfold, im2col.Fold, pool.MaxPoolNd, pool.AvgPoolNd, pool.AdaptiveAvgPoolNd,
              pool.AdaptiveMaxPoolNd, norm.Normalize, norm.WindowSum1d, loss.CrossEntropy, loss.NLLLoss,
              loss.BinaryCrossEntropy, loss.BCEWithLogits, linear.Linear, linear.Dropout, elementwise.Abs,
              elementwise.Clip, elementwise.Where, unpool.MaxUnpoolNd]


def _public_functions():
    import importlib
    names = []
    for m in MODULES:
        mod = importlib.import_module(f"convnet.functional.{m}")
        names += [n for n in mod.__all__ if n not in NOT_DIFFERENTIABLE]
    return sorted(set(names + EXTRA))


FUNCTIONS = _public_functions()
NAPOLEON = Config(napoleon_custom_sections=[("Backward", "notes_style")])


def _backward_section(doc):
    """The rendered text of the Backward section (napoleon's rubric and its paragraph), or None."""
    rst = str(GoogleDocstring(inspect.cleandoc(doc or ""), NAPOLEON))
    if ".. rubric:: Backward" not in rst:
        return None
    tail = rst.split(".. rubric:: Backward", 1)[1]
    return tail.split(".. rubric::", 1)[0].strip()


def _rst_problems(text):
    stream = io.StringIO()
    docutils.core.publish_doctree(text, settings_overrides={"warning_stream": stream, "report_level": 2})
    return stream.getvalue()


def test_the_list_covers_the_families():
    for name in ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "min_pool2d", "lp_pool2d",
                 "batch_norm", "local_contrast_norm", "cross_entropy", "mse_loss", "linear", "dropout",
                 "relu", "sigmoid", "softmax", "abs", "pad", "interpolate", "embedding"):
        assert name in FUNCTIONS
    assert len(FUNCTIONS) >= 90


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functional_docstring_has_backward_section(name):
    fn = getattr(F, name)
    section = _backward_section(fn.__doc__)
    assert section, f"F.{name}: no 'Backward:' section in its docstring"
    assert "dL/d" in section or "adjoint" in section, f"F.{name}: the Backward section states no formula"
    assert _rst_problems(section) == "", f"F.{name}: {_rst_problems(section)}"


@pytest.mark.parametrize("cls", PRIMITIVES, ids=lambda c: c.__name__)
def test_primitive_docstring_has_backward_section(cls):
    section = _backward_section(cls.__doc__)
    assert section, f"{cls.__module__}.{cls.__name__}: no 'Backward:' section in its docstring"
    assert _rst_problems(section) == "", _rst_problems(section)


@pytest.mark.parametrize("name", ["conv2d", "relu", "max_pool2d", "batch_norm", "cross_entropy", "linear"])
def test_listed_functions_are_differentiable(name):
    """A spot check that the list means what it says: a float input that requires grad gives an
    output that requires grad."""
    cn.manual_seed(0)
    x = cn.randn(2, 3, 4, 4, requires_grad=True)
    w = cn.randn(3, 3, 3, 3)
    out = {"conv2d": lambda: F.conv2d(x, w),
           "relu": lambda: F.relu(x),
           "max_pool2d": lambda: F.max_pool2d(x, 2),
           "batch_norm": lambda: F.batch_norm(x, None, None, training=True),
           "cross_entropy": lambda: F.cross_entropy(x.reshape(2, 48), cn.tensor([1, 2])),
           "linear": lambda: F.linear(x, cn.randn(5, 4))}[name]()
    assert out.requires_grad


def test_a_missing_section_is_detected():
    assert _backward_section("Sum.\n\nArgs:\n    x: input.\n") is None
    assert "Undefined substitution" in _rst_problems("dL/dx = |x| + 1")
