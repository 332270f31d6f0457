"""Embedding, padding layers, PixelShuffle/Unshuffle and the containers against PyTorch 2.13:
forward, every input gradient, float64 finite differences, and state_dict keys for the same
structure."""
import numpy as np
import pytest
import torch

import convnet as cn
import convnet.functional as F
from convnet import nn
from helpers import assert_same, check_against_torch, gradcheck

TF = torch.nn.functional


def x_of(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------- embedding
IDX = np.array([[1, 0, 4, 4], [2, 1, 0, 3]], dtype=np.int64)   # repeats (4, 1, 0) and the padding id 0


@pytest.mark.parametrize("padding_idx", [None, 0, 4, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_matches_torch_scatter_add_and_padding(padding_idx, dtype):
    w = x_of((5, 3), dtype)
    check_against_torch(lambda i, w: F.embedding(i, w, padding_idx),
                        lambda i, w: TF.embedding(i, w, padding_idx), [IDX, w])
    if dtype == np.float64 and padding_idx is None:  # the padding row's zero gradient is a convention, not d/dw
        gradcheck(lambda i, w: F.embedding(i, w, padding_idx), [IDX, w])


def test_embedding_gradient_is_scatter_added_and_zero_on_padding_row():
    w = cn.tensor(np.zeros((5, 2), np.float32), requires_grad=True)
    F.embedding(cn.tensor(IDX), w, padding_idx=0).sum().backward()
    counts = np.bincount(IDX.ravel(), minlength=5).astype(np.float32)
    counts[0] = 0
    assert_same(w.grad, np.repeat(counts[:, None], 2, axis=1))


def test_embedding_module_init_and_keys():
    cn.manual_seed(0)
    m = nn.Embedding(1000, 16, padding_idx=3)
    w = m.weight._data
    assert w.shape == (1000, 16) and w.dtype == np.float32
    assert np.all(w[3] == 0)
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.02 and abs(rest.std() - 1.0) < 0.02     # N(0, 1), torch's init
    t = torch.nn.Embedding(1000, 16, padding_idx=3)
    assert list(m.state_dict()) == list(t.state_dict())
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(w))
    idx = np.array([[3, 999, 5], [0, 3, 3]])
    check_against_torch(m, t, [idx], grad=False)
    assert nn.Embedding(10, 4, padding_idx=-1).padding_idx == 9


def test_embedding_max_norm_renormalises_rows_as_torch():
    w = x_of((6, 4)) * 3
    idx = np.array([0, 2, 2, 5])
    m = nn.Embedding.from_pretrained(cn.tensor(w.copy()), freeze=False, max_norm=1.0)
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w.copy()), freeze=False, max_norm=1.0)
    out, ref = m(cn.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_embedding_from_pretrained_freeze():
    w = x_of((4, 2))
    assert not nn.Embedding.from_pretrained(cn.tensor(w)).weight.requires_grad
    assert nn.Embedding.from_pretrained(cn.tensor(w), freeze=False).weight.requires_grad


@pytest.mark.parametrize("call, exc, match", [
    (lambda w: F.embedding(cn.tensor([0, 5]), w), IndexError, "index 5 is out of range for 5 rows"),
    (lambda w: F.embedding(cn.tensor([-1]), w), IndexError, "out of range"),
    (lambda w: F.embedding(cn.tensor([0.0]), w), TypeError, "input.*integer"),
    (lambda w: F.embedding(cn.tensor([0]), w, padding_idx=7), ValueError, "padding_idx"),
    (lambda w: nn.Embedding(5, 2, padding_idx=5), ValueError, "padding_idx"),
])
def test_embedding_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(cn.tensor(x_of((5, 3))))


# ---------------------------------------------------------------------- one_hot
def test_one_hot_matches_torch():
    idx = np.array([[0, 3, 1], [2, 2, 0]])
    for k in (-1, 4, 6):
        assert_same(F.one_hot(cn.tensor(idx), k), TF.one_hot(torch.tensor(idx), k))
    with pytest.raises(ValueError, match="num_classes"):
        F.one_hot(cn.tensor(idx), 3)
    with pytest.raises(IndexError, match="out of range"):
        F.one_hot(cn.tensor([-1, 0]))
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(cn.tensor([1.0]))


# ---------------------------------------------------------------------- padding layers
PADS = [
    (lambda: nn.ZeroPad2d(2), lambda: torch.nn.ZeroPad2d(2), (2, 3, 4, 5)),
    (lambda: nn.ZeroPad2d((1, 0, 2, 3)), lambda: torch.nn.ZeroPad2d((1, 0, 2, 3)), (2, 3, 4, 5)),
    (lambda: nn.ZeroPad2d((1, 0, 2, 3)), lambda: torch.nn.ZeroPad2d((1, 0, 2, 3)), (3, 4, 5)),
    (lambda: nn.ConstantPad2d((1, 2, 0, 1), 3.5), lambda: torch.nn.ConstantPad2d((1, 2, 0, 1), 3.5), (2, 3, 4, 5)),
    (lambda: nn.ConstantPad1d(2, -1.0), lambda: torch.nn.ConstantPad1d(2, -1.0), (2, 3, 4)),
    (lambda: nn.ConstantPad3d(1, 0.5), lambda: torch.nn.ConstantPad3d(1, 0.5), (1, 2, 3, 4, 5)),
    (lambda: nn.ReflectionPad2d((2, 1, 3, 0)), lambda: torch.nn.ReflectionPad2d((2, 1, 3, 0)), (2, 3, 4, 5)),
    (lambda: nn.ReflectionPad1d(2), lambda: torch.nn.ReflectionPad1d(2), (2, 3, 4)),
    (lambda: nn.ReplicationPad2d((2, 1, 3, 0)), lambda: torch.nn.ReplicationPad2d((2, 1, 3, 0)), (2, 3, 4, 5)),
    (lambda: nn.ReplicationPad1d(3), lambda: torch.nn.ReplicationPad1d(3), (2, 3, 4)),
    (lambda: nn.ReplicationPad3d(1), lambda: torch.nn.ReplicationPad3d(1), (1, 2, 3, 4, 5)),
    (lambda: nn.CircularPad2d(1), lambda: torch.nn.CircularPad2d(1), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("make", PADS, ids=[f"{m[1]().__class__.__name__}{i}" for i, m in enumerate(PADS)])
def test_padding_layers_match_torch(make):
    ours, theirs, shape = make
    check_against_torch(ours(), theirs(), [x_of(shape)])
    gradcheck(ours(), [x_of(shape, np.float64, seed=1)])


def test_padding_layer_bad_arguments():
    with pytest.raises(ValueError, match="padding must be an int or 4 ints"):
        nn.ZeroPad2d((1, 2, 3))
    with pytest.raises(ValueError, match="ReflectionPad2d: expected a 3-D or 4-D input"):
        nn.ReflectionPad2d(1)(cn.tensor(x_of((3, 4))))


# ---------------------------------------------------------------------- pixel shuffle
@pytest.mark.parametrize("shape, r", [((2, 8, 3, 4), 2), ((1, 18, 2, 2), 3), ((12, 3, 5), 2), ((2, 2, 4, 3, 3), 1)])
def test_pixel_shuffle_matches_torch(shape, r):
    check_against_torch(lambda x: F.pixel_shuffle(x, r), lambda x: TF.pixel_shuffle(x, r), [x_of(shape)])
    check_against_torch(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), [x_of(shape)])
    gradcheck(lambda x: F.pixel_shuffle(x, r), [x_of(shape, np.float64)])


@pytest.mark.parametrize("shape, r", [((2, 2, 6, 4), 2), ((1, 1, 6, 9), 3), ((3, 4, 4), 2)])
def test_pixel_unshuffle_matches_torch_and_inverts_shuffle(shape, r):
    check_against_torch(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), [x_of(shape)])
    gradcheck(lambda x: F.pixel_unshuffle(x, r), [x_of(shape, np.float64)])
    x = cn.tensor(x_of(shape))
    assert_same(F.pixel_shuffle(F.pixel_unshuffle(x, r), r), x)


def test_pixel_shuffle_bad_arguments():
    with pytest.raises(ValueError, match="divisible by upscale_factor"):
        F.pixel_shuffle(cn.tensor(x_of((1, 6, 2, 2))), 2)
    with pytest.raises(ValueError, match="divisible by downscale_factor"):
        F.pixel_unshuffle(cn.tensor(x_of((1, 1, 5, 4))), 2)
    with pytest.raises(ValueError, match="positive int"):
        nn.PixelShuffle(0)(cn.tensor(x_of((1, 4, 2, 2))))


# ---------------------------------------------------------------------- containers
def build(lib):
    """The same structure in either library: every container kind nested once."""
    m = lib.nn.Module()
    m.blocks = lib.nn.ModuleList([lib.nn.Linear(3, 4), lib.nn.ReLU()])
    m.blocks.append(lib.nn.Linear(4, 2))
    m.blocks.insert(1, lib.nn.Linear(4, 4))
    m.blocks.extend([lib.nn.Identity()])
    m.heads = lib.nn.ModuleDict({"cls": lib.nn.Linear(2, 5), "box": lib.nn.Linear(2, 4)})
    m.heads["aux"] = lib.nn.Sequential(lib.nn.Linear(2, 2))
    m.scales = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.zeros(3))])
    m.scales.append(lib.nn.Parameter(lib.ones(1)))
    m.extra = lib.nn.ParameterDict({"alpha": lib.nn.Parameter(lib.ones(1)), "beta": lib.nn.Parameter(lib.zeros(2))})
    m.extra["gamma"] = lib.nn.Parameter(lib.ones(4))
    return m


def test_container_keys_match_torch():
    ours, theirs = build(cn), build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
           {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    del ours.blocks[1], theirs.blocks[1]
    ours.heads.pop("box"), theirs.heads.pop("box")
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_module_list_indexing_and_slicing():
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(4)])
    assert layers[-1] is list(layers)[3]
    sl = layers[1:3]
    assert isinstance(sl, nn.ModuleList) and len(sl) == 2 and sl[0] is layers[1]
    assert list(sl.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    popped = layers.pop(0)
    assert len(layers) == 3 and popped not in list(layers)
    layers += [nn.ReLU()]
    assert len(layers) == 4 and isinstance(layers[3], nn.ReLU)
    with pytest.raises(IndexError, match="out of range"):
        layers[7]


def test_parameter_containers_train():
    """Parameters held in a ParameterList/Dict receive gradients and appear in parameters()."""
    m = nn.Module()
    m.plist = nn.ParameterList([cn.tensor(np.array([2.0], np.float32))])
    m.pdict = nn.ParameterDict({"b": nn.Parameter(cn.tensor(np.array([3.0], np.float32)))})
    assert len(list(m.parameters())) == 2 and m.plist[0].requires_grad
    (m.plist[0] * m.pdict["b"]).sum().backward()
    assert m.plist[0].grad.tolist() == [3.0] and m.pdict["b"].grad.tolist() == [2.0]
    assert "b" in m.pdict and list(m.pdict.keys()) == ["b"]
