"""``cn.onnx.export`` op by op: each layer (and the tensor ops used in custom forwards) exported
with a dynamic batch axis, onnxruntime's output against ours at batch 1 and 2; plus the errors."""
import numpy as np
import pytest

import convnet as cn
from convnet import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

DYNAMIC = {"input": {0: "batch"}, "output": {0: "batch"}}


def run_both(model, shape, tmp_path, atol=1e-5, opset=17):
    path = tmp_path / "m.onnx"
    proto = cn.onnx.export(model, cn.randn(1, *shape), path, dynamic_axes=DYNAMIC, opset_version=opset)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    for b in (1, 2):
        x = np.random.default_rng(b).standard_normal((b,) + tuple(shape)).astype(np.float32) * 2
        with cn.no_grad():
            ours = model(cn.tensor(x)).numpy()
        theirs = sess.run(None, {"input": x})[0]
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=atol)
    return proto


CONVS = [
    dict(kernel_size=3), dict(kernel_size=3, padding=1, stride=2), dict(kernel_size=(3, 5), padding=(2, 1)),
    dict(kernel_size=3, dilation=2, padding=2), dict(kernel_size=3, groups=2), dict(kernel_size=3, groups=4),
    dict(kernel_size=4, padding="same"), dict(kernel_size=3, padding="valid", bias=False),
    dict(kernel_size=3, padding=1, padding_mode="reflect"), dict(kernel_size=3, padding=(1, 2), padding_mode="replicate"),
]


def test_circular_padding_needs_opset_19(tmp_path):
    conv = nn.Conv2d(2, 3, 3, padding=2, padding_mode="circular")
    with pytest.raises(ValueError, match="circular padding .* opset_version >= 19"):
        cn.onnx.export(conv, cn.randn(1, 2, 5, 5), tmp_path / "c.onnx")
    run_both(conv, (2, 5, 5), tmp_path, opset=19)


@pytest.mark.parametrize("kw", CONVS, ids=str)
def test_conv2d(kw, tmp_path):
    run_both(nn.Conv2d(4, 8, **kw), (4, 9, 10), tmp_path)


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1, output_padding=1),
                                dict(kernel_size=4, stride=2, groups=2, dilation=2)], ids=str)
def test_conv_transpose2d(kw, tmp_path):
    run_both(nn.ConvTranspose2d(4, 6, **kw), (4, 5, 6), tmp_path)


def test_conv1d_and_linear_on_3d_input(tmp_path):
    run_both(nn.Sequential(nn.Conv1d(3, 5, 3, padding=1), nn.Linear(7, 4)), (3, 7), tmp_path)


POOLS = [
    nn.MaxPool2d(2), nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.MaxPool2d(3, stride=2, padding=1),
    nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), nn.MaxPool2d(2, dilation=2), nn.MinPool2d(2),
    nn.AvgPool2d(2), nn.AvgPool2d(3, stride=2, ceil_mode=True), nn.AvgPool2d(3, stride=2, padding=1),
    nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
    nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    nn.AvgPool2d(2, divisor_override=3),
    nn.AdaptiveAvgPool2d((1, 1)), nn.AdaptiveAvgPool2d((3, 5)), nn.AdaptiveAvgPool2d((4, 4)),
    nn.AdaptiveMaxPool2d((1, 1)), nn.AdaptiveMaxPool2d((4, 3)), nn.AdaptiveMaxPool2d((2, 1)),
]


@pytest.mark.parametrize("layer", POOLS, ids=repr)
def test_pooling(layer, tmp_path):
    run_both(layer, (3, 8, 9) if not isinstance(layer, nn.AdaptiveMaxPool2d) else (3, 8, 6), tmp_path)


@pytest.mark.parametrize("size", [5, 4, 1])
def test_local_response_norm(size, tmp_path):
    run_both(nn.LocalResponseNorm(size, alpha=1e-2, beta=0.75, k=2.0), (7, 4, 4), tmp_path)


@pytest.mark.parametrize("kw", [dict(kernel_size=5), dict(kernel_size=4, sigma=1.0, eps=1e-2)], ids=str)
def test_local_contrast_norm(kw, tmp_path):
    run_both(nn.LocalContrastNorm(**kw), (3, 9, 8), tmp_path)


def test_batch_norm_eval_with_statistics(tmp_path):
    bn2, bn1 = nn.BatchNorm2d(3), nn.BatchNorm1d(6)
    for bn in (bn2, bn1):
        bn.running_mean._data[...] = np.linspace(-1, 1, bn.num_features)
        bn.running_var._data[...] = np.linspace(0.5, 2, bn.num_features)
        bn.weight._data[...] = np.linspace(0.5, 1.5, bn.num_features)
    run_both(nn.Sequential(bn2, nn.Flatten(), nn.Linear(12, 6), bn1, nn.Softmax(dim=1)), (3, 2, 2), tmp_path)


ACTIVATIONS = [nn.ReLU(), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.Abs(), nn.GELU(), nn.GELU("tanh"),
               nn.SiLU(), nn.ELU(0.5), nn.CELU(1.5), nn.SELU(), nn.Hardswish(), nn.Hardsigmoid(), nn.Hardtanh(-0.5, 2),
               nn.ReLU6(), nn.Softplus(), nn.Softplus(beta=2.0), nn.Mish(), nn.PReLU(), nn.PReLU(4), nn.Softsign(),
               nn.Tanhshrink(), nn.LogSigmoid(), nn.Softshrink(0.3), nn.Hardshrink(0.3), nn.Threshold(0.1, -2.0),
               nn.Softmax(dim=1), nn.LogSoftmax(dim=1), nn.Softmin(dim=1), nn.Dropout(0.5), nn.Dropout2d(),
               nn.Identity()]


@pytest.mark.parametrize("layer", ACTIVATIONS, ids=repr)
def test_every_activation(layer, tmp_path):
    run_both(layer, (4, 3, 5), tmp_path)


def test_every_activation_module_of_nn_is_covered():
    from convnet.nn import activation
    from convnet.onnx.ops_export import MODULES
    missing = [n for n in activation.__all__ if getattr(nn, n) not in MODULES]
    assert missing == []


def test_gelu_uses_the_onnx_op_from_opset_20(tmp_path):
    proto = run_both(nn.GELU(), (5,), tmp_path, opset=20)
    assert [n.op_type for n in proto.graph.node][0] == "Gelu"


class Composite(nn.Module):
    """Tensor ops used in custom forwards: residual add, concat, SE multiply, mean, slicing, pad, reshape."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.conv(x)
        s = self.fc(y.mean(dim=(2, 3))).sigmoid()                     # squeeze-excite gate
        y = y * s.reshape(x.shape[0], 4, 1, 1) + y                     # multiply + residual add
        z = cn.cat([y, cn.pad(x[:, :, ::2, 1::2], (0, 3, 1, 2))[:, :, :6, -6:]], dim=1)
        z = (z - z.amax(dim=1, keepdim=True)).exp() / 2.0
        return cn.softmax(z.flatten(1).permute(1, 0).permute(1, 0), dim=1) + z.sum(dim=(1, 2, 3)).reshape(-1, 1)


def test_composite_forward_ops(tmp_path):
    run_both(Composite(), (3, 6, 6), tmp_path)


def test_unsupported_primitive_names_op_and_module(tmp_path):
    class Argmax(nn.Module):
        def forward(self, x):
            return cn.maximum(x, x * 2)        # Where with a data-dependent condition

    m = nn.Sequential()
    m.add_module("body", Argmax())
    with pytest.raises(ValueError, match=r"no ONNX rule for primitive 'Where' \(in module 'body'\)"):
        cn.onnx.export(m, cn.randn(1, 3), tmp_path / "x.onnx")


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="args\\[0\\] must be a convnet Tensor"):
        cn.onnx.export(nn.ReLU(), np.zeros((1, 3)), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="dynamic_axes names 'inp'"):
        cn.onnx.export(nn.ReLU(), cn.randn(1, 3), tmp_path / "x.onnx", dynamic_axes={"inp": [0]})
    with pytest.raises(ValueError, match="opset_version must be at least 17"):
        cn.onnx.export(nn.ReLU(), cn.randn(1, 3), tmp_path / "x.onnx", opset_version=11)


def test_input_output_names_and_list_form_of_dynamic_axes(tmp_path):
    proto = cn.onnx.export(nn.Linear(3, 2), cn.randn(4, 3), tmp_path / "l.onnx", input_names=["x"],
                           output_names=["logits"], dynamic_axes={"x": [0], "logits": [0]})
    assert [i.name for i in proto.graph.input] == ["x"] and [o.name for o in proto.graph.output] == ["logits"]
    sess = ort.InferenceSession(str(tmp_path / "l.onnx"), providers=["CPUExecutionProvider"])
    assert sess.run(None, {"x": np.ones((7, 3), np.float32)})[0].shape == (7, 2)


def test_tensor_made_in_forward_with_the_batch_size_is_refused_when_batch_is_dynamic(tmp_path):
    class AddZeros(nn.Module):
        def forward(self, x):
            return x + cn.zeros(x.shape[0], 3)

    cn.onnx.export(AddZeros(), cn.randn(2, 3), tmp_path / "static.onnx")          # static shapes: fine
    with pytest.raises(ValueError, match=r"shape \(2, 3\) created inside forward .* changes with a dynamic axis"):
        cn.onnx.export(AddZeros(), cn.randn(2, 3), tmp_path / "d.onnx", dynamic_axes=DYNAMIC)


def test_embedding_gather(tmp_path):
    emb = nn.Embedding(10, 4)
    path = tmp_path / "e.onnx"
    cn.onnx.export(emb, cn.tensor([[1, 2, 3]]), path, dynamic_axes={"input": [0, 1], "output": [0, 1]})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ids = np.array([[0, 9], [4, 4]], dtype=np.int64)
    with cn.no_grad():
        np.testing.assert_array_equal(sess.run(None, {"input": ids})[0], emb(cn.tensor(ids)).numpy())
