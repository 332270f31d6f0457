"""vgg_mini, the small VGG-style digits network: sizes, parameter count, and torch's same network as the oracle."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet import models


def _torch_twin(torch, width=1, hidden=256, in_channels=1, num_classes=10, side=7):
    nn = torch.nn
    c1, c2 = 32 * width, 64 * width

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(*block(in_channels, c1), *block(c1, c1), nn.MaxPool2d(2), *block(c1, c2), *block(c2, c2),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(c2 * side * side, hidden, bias=False),
                         nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.5), nn.Linear(hidden, num_classes))


def _copy_into(torch, ref, model):
    ours = model.state_dict()
    theirs = ref.state_dict()
    assert len(ours) == len(theirs)
    with torch.no_grad():
        for (k, v), (tk, tv) in zip(ours.items(), theirs.items()):
            assert k.rsplit(".", 1)[-1] == tk.rsplit(".", 1)[-1], (k, tk)
            assert tuple(tv.shape) == tuple(v.shape), (k, tk)
            tv.copy_(torch.from_numpy(np.array(v._data)))


def test_default_input_and_parameter_count():
    assert models.default_input_shape("vgg_mini") == (1, 28, 28)
    m = models.get("vgg_mini")
    convs = 1 * 32 * 9 + 32 * 32 * 9 + 32 * 64 * 9 + 64 * 64 * 9  # no conv bias: batch norm has a shift
    bn = 2 * (32 + 32 + 64 + 64) + 2 * 256
    fcs = 64 * 7 * 7 * 256 + 256 * 10 + 10
    assert sum(p._data.size for p in m.parameters()) == convs + bn + fcs == 871_082
    assert m(cn.randn(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("size, width, hidden", [(28, 1, 256), (32, 2, 64), (30, 1, 32)])
def test_input_size_width_hidden(size, width, hidden):
    m = models.get("vgg_mini", num_classes=5, in_channels=3, input_size=size, width=width, hidden=hidden)
    assert m.classifier.fc1.weight.shape == (hidden, 64 * width * (size // 4) ** 2)
    assert m(cn.randn(2, 3, size, size)).shape == (2, 5)
    assert models.get(**m.config).classifier.fc1.weight.shape == m.classifier.fc1.weight.shape


def test_wrong_input_size_names_the_features():
    m = models.get("vgg_mini")
    with pytest.raises(cn.errors.ShapeError, match="4096 features.*expects 3136"):
        m(cn.randn(1, 1, 32, 32))


@pytest.mark.parametrize("train", [False, True])
def test_matches_torch_forward_and_gradients(train):
    torch = pytest.importorskip("torch")
    cn.manual_seed(0)
    model = models.get("vgg_mini", hidden=32)
    ref = _torch_twin(torch, hidden=32)
    _copy_into(torch, ref, model)
    if train:  # dropout's masks differ between libraries: compare with dropout off, batch statistics on
        model.classifier.dropout.p = 0.0
        ref[18].p = 0.0
    model.train(train)
    ref.train(train)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 4)
    xt = torch.from_numpy(x).requires_grad_(True)
    tloss = torch.nn.functional.cross_entropy(ref(xt), torch.from_numpy(y))
    tloss.backward()
    xc = cn.tensor(x, requires_grad=True)
    loss = F.cross_entropy(model(xc), cn.tensor(y))
    loss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xc.grad._data, xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    for (k, p), tp in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad._data, tp.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=k)


def test_learns_the_digits():
    """Two epochs of Adam on scikit-learn's digits at 28x28: a broken layer or backward cannot reach 90%."""
    from convnet import data

    cn.manual_seed(0)
    train, test = data.get("digits", "train", size=28), data.get("digits", "test", size=28)
    model = models.get("vgg_mini")
    opt = cn.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(2):
        for x, y in data.DataLoader(train, batch_size=64, shuffle=True, seed=0):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with cn.no_grad():
        pred = model(cn.tensor(test.images)).numpy().argmax(1)
    assert (pred == test.labels).mean() >= 0.9
