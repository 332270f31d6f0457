"""Every zoo model exported with ``cn.onnx.export`` passes ``onnx.checker`` and onnxruntime's outputs
equal ours within 1e-4, at batch 1 and 2 on one file with a dynamic batch axis.

Small class counts, ``hidden=16`` for the fully connected ImageNet heads and, for the ImageNet
networks, the smallest input each architecture takes (64x64, 67x67 for the paper's AlexNet,
32x32 for VGG): the full-size runs are ``benchmarks/onnx_zoo.py``. The deep repeats of one
block type (ResNet-34/50/101/152, CIFAR ResNet-44/56/110, VGG-13/16/19) are ``slow`` tests.
"""
import numpy as np
import pytest

import convnet as cn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SIZE = {"alexnet_original": 67, "alexnet": 64, "zfnet": 64}
SLOW = {"resnet34", "resnet50", "resnet101", "resnet152", "resnet44", "resnet56", "resnet110",
        "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"}
DYNAMIC = {"input": {0: "batch"}, "output": {0: "batch"}}


def small_input_shape(name):
    if name.startswith("textcnn"):           # token ids (N, L)
        return cn.models.default_input_shape(name)[1:]
    c, h, w = cn.models.default_input_shape(name)
    if h > 64:
        h = w = SIZE.get(name, 32 if name.startswith("vgg") else 64)
    return c, h, w


def calibrate(model, x):
    """Batch-norm statistics of ``x`` (plus 1 on the variance) so deep nets stay well conditioned:
    at init the running stats are (0, 1) and a 110-layer ResNet's logits reach 1e7, where a float32
    difference of 1e-4 is below rounding; with the statistics of the data the logits are O(1)."""
    bns = [m for m in model.modules() if isinstance(m, cn.nn.BatchNorm2d)]
    for bn in bns:
        bn.momentum = 1.0
    with cn.no_grad():
        model.train()(cn.tensor(x))
    for bn in bns:
        bn.running_var._data += 1.0
    return model.eval()


def example(shape, batch, seed, tokens=None):
    """Standard normal images, or token ids below ``tokens`` for the text models."""
    rng = np.random.default_rng(seed)
    if tokens:
        return rng.integers(0, tokens, (batch,) + tuple(shape))
    return rng.standard_normal((batch,) + tuple(shape)).astype(np.float32)


def check_against_onnxruntime(model, shape, tmp_path, batches=(1, 2), atol=1e-4, tokens=None):
    path = tmp_path / "model.onnx"
    proto = cn.onnx.export(model, cn.tensor(example(shape, 1, 0, tokens)), path, dynamic_axes=DYNAMIC)
    onnx.checker.check_model(onnx.load(str(path)))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    for b in batches:
        x = example(shape, b, b, tokens)
        with cn.no_grad():
            ours = model(cn.tensor(x)).numpy()
        theirs = sess.run(None, {"input": x})[0]
        assert theirs.shape == ours.shape
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=atol)
    return proto


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in cn.models.names()])
def test_zoo_model_matches_onnxruntime(name, tmp_path):
    cn.manual_seed(0)
    kw = {"hidden": 16} if name.startswith(("vgg", "alexnet", "zfnet")) else {}
    model = cn.models.get(name, num_classes=5, **kw)
    shape = small_input_shape(name)
    tokens = model.config.get("vocab_size") if name.startswith("textcnn") else None
    calibrate(model, example(shape, 4, 7, tokens))
    was = [m.training for m in model.modules()]
    proto = check_against_onnxruntime(model, shape, tmp_path, tokens=tokens)
    # weights keep their state-dict names; export leaves the model's mode alone
    inits = {t.name for t in proto.graph.initializer}
    assert set(k for k, _ in model.named_parameters()) <= inits
    assert [m.training for m in model.modules()] == was


def test_export_restores_training_mode_and_googlenet_exports_eval_logits(tmp_path):
    model = cn.models.get("googlenet", num_classes=3, aux_logits=True)
    assert model.training
    proto = cn.onnx.export(model, cn.randn(1, 3, 64, 64), tmp_path / "g.onnx")
    assert model.training and len(proto.graph.output) == 1       # eval mode: logits only
    assert not any(i.name.startswith("aux") for i in proto.graph.initializer if i.name in
                   {n for node in proto.graph.node for n in node.input})
