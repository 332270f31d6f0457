"""Every layer against torch.nn: same constructor arguments -> same repr and state_dict keys;
torch's weights loaded into ours -> same output, input gradient and parameter gradients."""
import numpy as np
import pytest

import convnet as cn
from convnet import nn
from helpers import assert_same

torch = pytest.importorskip("torch")

# (class name, constructor args, constructor kwargs, input shape)
LAYERS = [
    ("Conv1d", (4, 6, 3), {}, (2, 4, 9)),
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 2, "dilation": 2, "groups": 2, "bias": False}, (2, 4, 11)),
    ("Conv1d", (3, 4, 4), {"padding": "same", "padding_mode": "circular"}, (2, 3, 8)),
    ("Conv2d", (3, 6, 5), {}, (2, 3, 10, 9)),
    ("Conv2d", (4, 6, (3, 2)), {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2},
     (2, 4, 9, 8)),
    ("Conv2d", (3, 4, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 3, 6, 7)),
    ("Conv2d", (3, 4, 3), {"padding": (2, 1), "padding_mode": "replicate", "stride": 2}, (2, 3, 6, 7)),
    ("Conv2d", (3, 4, 4), {"padding": "same", "dilation": 2}, (2, 3, 9, 8)),
    ("Conv2d", (3, 4, 4), {"padding": "same", "padding_mode": "reflect"}, (2, 3, 8, 8)),
    ("Conv2d", (3, 4, 3), {"padding": "valid", "bias": False}, (2, 3, 6, 6)),
    ("Conv2d", (4, 4, 3), {"groups": 4, "padding": 1, "padding_mode": "circular"}, (2, 4, 5, 5)),
    ("Conv3d", (2, 4, 3), {"padding": 1, "stride": (1, 2, 2)}, (2, 2, 4, 5, 6)),
    ("ConvTranspose1d", (4, 3, 3), {"stride": 2, "output_padding": 1}, (2, 4, 5)),
    ("ConvTranspose2d", (4, 6, 3), {}, (2, 4, 5, 6)),
    ("ConvTranspose2d", (4, 6, (3, 4)), {"stride": (2, 3), "padding": (1, 2), "output_padding": (1, 2),
                                          "groups": 2, "dilation": (2, 1), "bias": False}, (2, 4, 4, 5)),
    ("ConvTranspose3d", (2, 3, 2), {"stride": 2}, (1, 2, 2, 3, 3)),
    ("Linear", (7, 5), {}, (4, 7)),
    ("Linear", (7, 5), {"bias": False}, (2, 3, 7)),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 9)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 6)),
    ("MaxPool2d", ((3, 2),), {"stride": 2, "padding": 1, "dilation": (1, 2), "ceil_mode": True}, (2, 3, 9, 8)),
    ("MaxPool3d", (2,), {"stride": (1, 2, 2)}, (1, 2, 4, 4, 6)),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 3, 9)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 6)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True, "divisor_override": 4}, (2, 3, 9, 8)),
    ("AvgPool3d", (2,), {"count_include_pad": False, "padding": 1}, (1, 2, 4, 5, 4)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool3d", ((2, None, 3),), {}, (1, 2, 5, 4, 7)),
    ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
    ("AdaptiveMaxPool3d", (2,), {}, (1, 2, 5, 4, 7)),
    ("ReLU", (), {}, (3, 4)),
    ("LeakyReLU", (0.2,), {}, (3, 4)),
    ("Sigmoid", (), {}, (3, 4)),
    ("Tanh", (), {}, (3, 4)),
    ("Softplus", (), {"beta": 2.0, "threshold": 5.0}, (3, 4)),
    ("Softmax", (), {"dim": 1}, (3, 4)),
    ("LogSoftmax", (), {"dim": -1}, (2, 3, 4)),
    ("BatchNorm1d", (4,), {}, (6, 4)),
    ("BatchNorm1d", (4,), {"affine": False, "momentum": None}, (3, 4, 5)),
    ("BatchNorm2d", (3,), {}, (4, 3, 5, 4)),
    ("BatchNorm2d", (3,), {"track_running_stats": False, "eps": 1e-3}, (4, 3, 5, 4)),
    ("BatchNorm2d", (3,), {"bias": False}, (4, 3, 5, 4)),
    ("BatchNorm3d", (2,), {"momentum": 0.3}, (2, 2, 3, 4, 3)),
    ("InstanceNorm2d", (3,), {"affine": True}, (2, 3, 5, 4)),
    ("InstanceNorm1d", (3,), {"track_running_stats": True}, (2, 3, 7)),
    ("LayerNorm", ((4, 5),), {}, (2, 3, 4, 5)),
    ("LayerNorm", (5,), {"elementwise_affine": False, "eps": 1e-3}, (2, 3, 5)),
    ("LayerNorm", (5,), {"bias": False}, (2, 5)),
    ("GroupNorm", (2, 6), {}, (2, 6, 4, 3)),
    ("GroupNorm", (3, 6), {"affine": False}, (2, 6, 5)),
    ("GroupNorm", (1, 4), {"bias": False}, (2, 4, 3, 3)),
    ("LocalResponseNorm", (3,), {"alpha": 0.1, "beta": 0.75, "k": 2.0}, (2, 5, 4, 4)),
    ("Flatten", (), {}, (2, 3, 4, 5)),
    ("Flatten", (0, 2), {}, (2, 3, 4, 5)),
    ("Unflatten", (1, (3, 4)), {}, (2, 12, 5)),
    ("Identity", (), {}, (2, 3)),
    ("InstanceNorm3d", (2,), {"affine": True, "bias": False}, (2, 3, 4, 5)),  # unbatched (C, D, H, W)
    ("Dropout", (0.3,), {}, (4, 5)),  # eval() below: identity in both
    ("Dropout2d", (0.3,), {}, (2, 3, 4, 4)),
]


def _ids(cases):
    return [f"{c[0]}{i}" for i, c in enumerate(cases)]


def _pair(name, args, kw):
    return getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)


@pytest.mark.parametrize("name,args,kw,shape", LAYERS, ids=_ids(LAYERS))
def test_repr_and_state_dict_keys_match_torch(name, args, kw, shape):
    ours, theirs = _pair(name, args, kw)
    assert repr(ours) == repr(theirs)
    ts = theirs.state_dict()
    assert list(ours.state_dict()) == list(ts)
    for k, v in ours.state_dict().items():
        assert v.shape == tuple(ts[k].shape), k
        assert v.dtype == ts[k].numpy().dtype, k


# Dropout in train mode is left out: the random masks differ by construction (see test_nn_modes).
FWD_BWD = [pytest.param(*case, dtype, mode, id=f"{cid}-{np.dtype(dtype).name}-{mode}")
           for case, cid in zip(LAYERS, _ids(LAYERS))
           for dtype in (np.float32, np.float64)
           for mode in ("train", "eval")
           if not (mode == "train" and case[0].startswith("Dropout"))]


@pytest.mark.parametrize("name,args,kw,shape,dtype,mode", FWD_BWD)
def test_forward_backward_match_torch(name, args, kw, shape, dtype, mode, rng):
    ours, theirs = _pair(name, args, kw)
    if dtype == np.float64:
        ours.double(), theirs.double()
    with torch.no_grad():  # non-trivial BN/GN affine and running statistics
        for p in list(theirs.parameters()) + [b for b in theirs.buffers() if b.is_floating_point()]:
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, tuple(p.shape))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    getattr(ours, mode)(), getattr(theirs, mode)()
    x = (rng.standard_normal(shape) + rng.uniform(-0.01, 0.01, shape)).astype(dtype)
    xo, xt = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-10, rtol=1e-9)
    assert_same(yo, yt, what="output", **tol)
    up = rng.standard_normal(yo.shape).astype(dtype)
    yo.backward(cn.tensor(up))
    yt.backward(torch.tensor(up))
    assert_same(xo.grad, xt.grad, what="input gradient", **tol)
    tp = dict(theirs.named_parameters())
    assert [k for k, _ in ours.named_parameters()] == list(tp)
    for k, p in ours.named_parameters():
        assert_same(p.grad, tp[k].grad, what=f"grad of {k}", **tol)
    tb = dict(theirs.named_buffers())
    assert [k for k, _ in ours.named_buffers()] == list(tb)
    for k, b in ours.named_buffers():  # running statistics and num_batches_tracked after the step
        assert_same(b, tb[k], what=f"buffer {k}", **tol)


CNN_T = None


def _cnn(lib):
    m = lib.nn
    return m.Sequential(m.Conv2d(3, 8, 3, padding=1), m.BatchNorm2d(8), m.ReLU(), m.MaxPool2d(2),
                        m.Conv2d(8, 4, 3, stride=2, bias=False), m.BatchNorm2d(4), m.ReLU(),
                        m.ConvTranspose2d(4, 4, 2, stride=2), m.AdaptiveAvgPool2d(1), m.Flatten(),
                        m.Dropout(0.5), m.Linear(4, 10))


def test_inplace_flags_only_change_repr():
    for name, kw in [("ReLU", {"inplace": True}), ("LeakyReLU", {"negative_slope": 0.1, "inplace": True}),
                     ("Dropout", {"inplace": True})]:
        ours, theirs = _pair(name, (), kw)
        assert repr(ours) == repr(theirs)
    x = cn.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x).tolist() == [0.0, 2.0] and x.tolist() == [-1.0, 2.0]


def test_cnn_state_dict_from_torch(rng):
    theirs = _cnn(torch)
    ours = _cnn(cn)
    theirs.train()
    theirs(torch.randn(4, 3, 12, 12))  # move the running statistics away from their init
    sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(sd)
    assert "1.num_batches_tracked" in sd
    ours.load_state_dict({k: v.numpy() for k, v in sd.items()})
    assert repr(ours) == repr(theirs)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((2, 3, 12, 12)).astype(np.float32)
    np.testing.assert_allclose(ours(cn.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-5, rtol=1e-4)
    assert int(ours[1].num_batches_tracked.item()) == 1


@pytest.mark.parametrize("output_size", [(9, 11), (10, 12), (2, 4, 10, 11)])
def test_conv_transpose_output_size(output_size, rng):
    ours, theirs = _pair("ConvTranspose2d", (4, 2, 3), {"stride": 2, "padding": 1})
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    yo = ours(cn.tensor(x), output_size=output_size)
    yt = theirs(torch.tensor(x), output_size=output_size)
    assert yo.shape == tuple(yt.shape) == (2, 2) + tuple(output_size[-2:])
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="valid sizes range from"):
        ours(cn.tensor(x), output_size=(12, 12))


LOSSES = [
    ("CrossEntropyLoss", {}, "class"),
    ("CrossEntropyLoss", {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 1, "label_smoothing": 0.1}, "class"),
    ("CrossEntropyLoss", {"reduction": "none"}, "class"),
    ("CrossEntropyLoss", {"reduction": "sum"}, "prob"),
    ("NLLLoss", {"weight": [0.2, 1.0, 2.0, 0.5]}, "class"),
    ("NLLLoss", {"reduction": "sum", "ignore_index": 2}, "class"),
    ("MSELoss", {}, "same"),
    ("MSELoss", {"reduction": "none"}, "same"),
    ("L1Loss", {"reduction": "sum"}, "same"),
    ("SmoothL1Loss", {"beta": 0.5}, "same"),
    ("HuberLoss", {"delta": 0.7}, "same"),
    ("BCELoss", {}, "binary"),
    ("BCELoss", {"weight": [1.0, 2.0, 0.5, 1.5], "reduction": "sum"}, "binary"),
    ("BCEWithLogitsLoss", {}, "binary"),
    ("BCEWithLogitsLoss", {"pos_weight": [1.0, 3.0, 0.5, 2.0], "weight": [1.0, 2.0, 0.5, 1.5]}, "binary"),
]


@pytest.mark.parametrize("name,kw,kind", LOSSES, ids=_ids(LOSSES))
def test_losses_match_torch(name, kw, kind, rng):
    def build(lib, conv):
        return getattr(lib.nn, name)(**{k: conv(np.array(v, np.float32)) if isinstance(v, list) else v
                                        for k, v in kw.items()})

    ours, theirs = build(cn, cn.tensor), build(torch, torch.tensor)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.standard_normal((5, 4)).astype(np.float32)
    if kind == "class":
        t = rng.integers(0, 4, 5)
        if name == "NLLLoss":
            x = x - np.log(np.exp(x).sum(1, keepdims=True))
    elif kind == "prob":
        t = rng.dirichlet(np.ones(4), 5).astype(np.float32)
    elif kind == "binary":
        t = rng.integers(0, 2, (5, 4)).astype(np.float32)
        if name == "BCELoss":
            x = 1 / (1 + np.exp(-x))
    else:
        t = rng.standard_normal((5, 4)).astype(np.float32)
    xo, xt = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lo, lt = ours(xo, cn.tensor(t)), theirs(xt, torch.tensor(t))
    assert_same(lo, lt, atol=1e-5, rtol=1e-5, what="loss")
    up = rng.standard_normal(lo.shape).astype(np.float32)
    lo.backward(cn.tensor(up))
    lt.backward(torch.tensor(up))
    assert_same(xo.grad, xt.grad, atol=1e-5, rtol=1e-4, what="input gradient")


def test_legacy_reduction_arguments():
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.CrossEntropyLoss(reduce=False).reduction == "none"
    assert nn.L1Loss(size_average=True, reduce=True).reduction == "mean"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
