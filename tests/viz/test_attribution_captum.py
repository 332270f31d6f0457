"""Every attribution against Captum on LeNet-5 and ResNet-20 with the same weights, input and target."""
import numpy as np
import pytest
import torch

pytest.importorskip("captum")  # test-only dependency
from captum.attr import Deconvolution, GuidedBackprop, LayerGradCam, Occlusion, Saliency  # noqa: E402

from convnet import viz  # noqa: E402
from torch_twins import twins  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Captum: "setting backward hooks"

CASES = {"lenet5": ((3, 1, 32, 32), [3, 7, 0]), "resnet20": ((2, 3, 32, 32), [1, 8])}


@pytest.fixture(scope="module", params=sorted(CASES))
def pair(request):
    name = request.param
    shape, target = CASES[name]
    ours, theirs = twins(name)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    with torch.no_grad():  # the twins really are twins
        np.testing.assert_allclose(ours(viz.attribution.Tensor(x)).detach().numpy(), theirs(torch.tensor(x)).numpy(),
                                   atol=1e-4, rtol=1e-4)
    return name, ours, theirs, x, target


def _close(ours, theirs, rtol=1e-3):
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    scale = np.abs(theirs).max()
    assert scale > 0, "the reference is all zeros: the check could not fail"
    np.testing.assert_allclose(ours, theirs, atol=rtol * scale, rtol=rtol)


def test_saliency(pair):
    _, ours, theirs, x, t = pair
    ref = Saliency(theirs).attribute(torch.tensor(x), target=t, abs=True)
    _close(viz.saliency(ours, x, t), ref)


def test_guided_backprop(pair):
    _, ours, theirs, x, t = pair
    _close(viz.guided_backprop(ours, x, t), GuidedBackprop(theirs).attribute(torch.tensor(x), target=t))


def test_deconvnet(pair):
    _, ours, theirs, x, t = pair
    _close(viz.deconvnet(ours, x, t), Deconvolution(theirs).attribute(torch.tensor(x), target=t))


def test_guided_and_deconv_differ_from_plain_gradient(pair):
    """The ReLU rules are active (a no-op hook would pass the two tests above only if Captum's did nothing)."""
    _, ours, _, x, t = pair
    plain = viz.saliency(ours, x, t)
    assert not np.allclose(np.abs(viz.guided_backprop(ours, x, t)), plain, atol=1e-6)
    assert not np.allclose(np.abs(viz.deconvnet(ours, x, t)), plain, atol=1e-6)


def test_occlusion(pair):
    """LeNet-5: overlapping windows whose last column and row are cut at the border; ResNet-20: few windows."""
    name, ours, theirs, x, t = pair
    window, stride = {"lenet5": ((6, 6), (4, 4)), "resnet20": ((16, 16), (8, 8))}[name]
    c = x.shape[1]
    ref = Occlusion(theirs).attribute(torch.tensor(x), sliding_window_shapes=(c,) + window,
                                      strides=(c,) + stride, target=t, baselines=0.0)
    _close(viz.occlusion(ours, x, t, window=window, stride=stride), ref)


def test_grad_cam(pair):
    name, ours, theirs, x, t = pair
    layer, t = {"lenet5": ("features.c3", t), "resnet20": ("layer3.0.conv2", [4, 5])}[name]  # maps part zero
    ref = LayerGradCam(theirs, theirs.get_submodule(layer)).attribute(torch.tensor(x), target=t,
                                                                       relu_attributions=True)
    _close(viz.grad_cam(ours, x, t, layer), ref)


def test_deconvnet_projection_of_one_activation(pair):
    """ZFNet's projection of the strongest activation of one channel: Captum's Deconvolution on the network cut at
    that layer with the same activation as target; for LeNet-5 also the explicit unpool / relu / transposed-conv walk."""
    name, ours, theirs, x, _ = pair
    layer, channel = {"lenet5": ("features.act3", 5), "resnet20": ("layer2", 7)}[name]
    module = theirs.get_submodule(layer)
    acts = {}
    h = module.register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    with torch.no_grad():
        theirs(torch.tensor(x))
    h.remove()
    a = acts["a"]
    n, _, hh, ww = a.shape
    flat_pos = a[:, channel].reshape(n, -1).argmax(1)
    targets = [int(channel * hh * ww + p) for p in flat_pos]

    class Cut(torch.nn.Module):  # the network up to `layer`, its activations flattened
        def __init__(self):
            super().__init__()
            self.net = theirs

        def forward(self, inp):
            out = {}
            hook = module.register_forward_hook(lambda m, i, o: out.__setitem__("a", o))
            try:
                self.net(inp)
            finally:
                hook.remove()
            return out["a"].flatten(1)

    ref = Deconvolution(Cut()).attribute(torch.tensor(x), target=targets)
    got = viz.deconvnet(ours, x, layer=layer, channel=channel)
    _close(got, ref)
    if name == "lenet5":
        np.testing.assert_allclose(viz.project_down(ours, x, layer, channel), got, atol=1e-6 * np.abs(got).max())
