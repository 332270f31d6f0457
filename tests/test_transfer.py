"""``convnet.transfer``: freeze/unfreeze, frozen batch norm in eval mode, replace_head for every zoo model,
parameter groups. PyTorch (by-hand freezing, ``torch.optim``) and the zoo builders are the references."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import convnet as cn
from convnet import models, nn
from convnet.transfer import find_head, param_groups, replace_head
from helpers import assert_same


def _pair(seed=0):
    """The same conv-BN-ReLU-linear network in convnet and in torch (base = ``features``, head = ``fc``)."""
    torch.manual_seed(seed)
    tm = torch.nn.Sequential()
    tm.add_module("features", torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4),
                                                  torch.nn.ReLU(), torch.nn.Dropout(0.5)))
    tm.add_module("flat", torch.nn.Flatten())
    tm.add_module("fc", torch.nn.Linear(4 * 6 * 6, 3))
    ours = nn.Sequential()
    ours.add_module("features", nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5)))
    ours.add_module("flat", nn.Flatten())
    ours.add_module("fc", nn.Linear(4 * 6 * 6, 3))
    with torch.no_grad():  # non-trivial running statistics, as in a pretrained base
        tm.features[1].running_mean.uniform_(-0.5, 0.5)
        tm.features[1].running_var.uniform_(0.5, 2.0)
    ours.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return ours, tm


def test_freeze_returns_names_and_stops_gradients():
    model = models.get("lenet5")
    names = cn.freeze(model, "features.*")
    assert names == [n for n, _ in model.named_parameters() if n.startswith("features.")]
    assert all(not p.requires_grad for n, p in model.named_parameters() if n in names)
    assert all(p.requires_grad for n, p in model.named_parameters() if n not in names)
    x = cn.randn(2, 1, 32, 32)
    model(x).sum().backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n in names)
    assert all(p.grad is not None for n, p in model.named_parameters() if n not in names)


def test_freeze_by_module_list_and_whole_model():
    model = models.get("resnet20")
    assert cn.freeze(model, model.layer1) == [n for n, _ in model.named_parameters() if n.startswith("layer1.")]
    assert cn.freeze(model, ["conv1", "bn1"]) == ["conv1.weight", "bn1.weight", "bn1.bias"]
    all_names = cn.freeze(model)
    assert all_names == [n for n, _ in model.named_parameters()]
    assert cn.unfreeze(model, "fc") == ["fc.weight", "fc.bias"]
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]


def test_freeze_bad_pattern_names_it():
    model = models.get("lenet5")
    with pytest.raises(ValueError, match=r"'backbone\.\*'.*features"):
        cn.freeze(model, "backbone.*")
    with pytest.raises(TypeError, match="pattern"):
        cn.freeze(model, 3)
    with pytest.raises(ValueError, match="not part of the model"):
        cn.freeze(model, nn.Linear(2, 2))


def test_frozen_base_trains_like_torch_with_bn_and_dropout_in_eval(rng):
    """One SGD step on the head: ours with cn.freeze + model.train(); torch frozen by hand
    (requires_grad False and the base put in eval mode after train(), the usual torch recipe)."""
    ours, tm = _pair()
    cn.freeze(ours, "features")
    ours.train()
    assert not ours.features[1].training and not ours.features[3].training and ours.fc.training
    for p in tm.features.parameters():
        p.requires_grad_(False)
    tm.train()
    tm.features.eval()
    x = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    opt_o = cn.optim.SGD([p for p in ours.parameters() if p.requires_grad], lr=0.1)
    opt_t = torch.optim.SGD([p for p in tm.parameters() if p.requires_grad], lr=0.1)
    for _ in range(2):
        lo = nn.CrossEntropyLoss()(ours(cn.tensor(x)), cn.tensor(y))
        opt_o.zero_grad()
        lo.backward()
        opt_o.step()
        lt = torch.nn.CrossEntropyLoss()(tm(torch.tensor(x)), torch.tensor(y))
        opt_t.zero_grad()
        lt.backward()
        opt_t.step()
        np.testing.assert_allclose(float(lo.item()), float(lt.item()), rtol=1e-5)
    for k, v in tm.state_dict().items():  # BN running stats untouched, frozen conv untouched, head as torch's
        np.testing.assert_allclose(ours.state_dict()[k]._data, v.numpy(), atol=1e-6, err_msg=k)
    assert int(ours.features[1].num_batches_tracked._data) == 0


def test_unfreeze_restores_train_mode():
    ours, _ = _pair()
    cn.freeze(ours, "features")
    ours.eval()
    cn.unfreeze(ours)
    assert not ours.features[1].training  # takes the model's current mode (eval)
    ours.train()
    assert all(m.training for m in ours.modules())
    assert all(p.requires_grad for p in ours.parameters())


# Small widths for the networks with a width option, so building all 27 stays fast.
_SMALL = {"alexnet": {"hidden": 64}, "alexnet_original": {"hidden": 64}, "zfnet": {"hidden": 64},
          **{n: {"hidden": 64} for n in models.names() if n.startswith("vgg")}}
_SIZE = {"alexnet": 64, "zfnet": 64, "alexnet_original": 96, "simple_cnn": 39, "vgg_mini": 28}
_HEAVY = {"resnet50", "resnet101", "resnet152", "se_resnet50"}  # no width option: round trip of their files


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in ("resnet101", "resnet152") else n
                                  for n in models.names()])
def test_replace_head_every_zoo_model(name, tmp_path):
    opts = _SMALL.get(name, {})
    model = models.get(name, **opts)
    before = {k: v._data.copy() for k, v in model.state_dict().items()}
    head_name, _ = find_head(model)
    new = replace_head(model, 7)
    assert model.config["num_classes"] == 7
    # the reference architecture: the zoo builder asked for 7 classes
    ref = models.get(name, num_classes=7, **opts).state_dict()
    after = model.state_dict()
    assert list(after) == list(ref)
    assert {k: tuple(v.shape) for k, v in after.items()} == {k: tuple(v.shape) for k, v in ref.items()}
    changed = [k for k in after if not (after[k].shape == before[k].shape and np.array_equal(after[k]._data,
                                                                                             before[k]))]
    assert changed == [f"{head_name}.weight", f"{head_name}.bias"] or changed == [f"{head_name}.weight"]
    assert model.get_submodule(head_name) is new
    model.eval()
    if name.startswith("textcnn"):  # a text model takes token ids (N, L)
        x = cn.tensor(np.random.default_rng(0).integers(1, 100, (2, 16)))
    else:
        c = models.default_input_shape(name)[0]
        x = cn.randn(2, c, _SIZE.get(name, 32), _SIZE.get(name, 32))
    with cn.no_grad():
        out = model(x)
        expected = (2, 7) if name != "yolo_v1" else tuple(models.get(name, num_classes=7, **opts)(x).shape)
    assert tuple(out.shape) == expected  # a detector's output (N, S, S, B*5+C) changes in its last axis
    if name in _HEAVY:
        return  # their state dicts round-trip like resnet18's; writing 100-250 MB files is left to checkpoint tests
    path = tmp_path / "m.safetensors"
    cn.save(model, path)
    back = cn.load(path)
    assert_same({k: v._data for k, v in back.state_dict().items()}, {k: v._data for k, v in after.items()})
    with cn.no_grad():
        assert_same(back(x)._data, out._data)


def test_replace_head_bad_num_classes():
    with pytest.raises(ValueError, match="num_classes"):
        replace_head(models.get("lenet5"), 0)


def test_param_groups_lrs_match_torch(rng):
    """SGD on two groups (head 0.1, base 0.01) moves every parameter as torch.optim.SGD does."""
    ours, tm = _pair()
    groups = param_groups(ours, head_lr=0.1, base_lr=0.01)
    assert [g["lr"] for g in groups] == [0.1, 0.01]
    assert [id(p) for p in groups[0]["params"]] == [id(ours.fc.weight), id(ours.fc.bias)]
    opt = cn.optim.SGD(groups, lr=0.5, momentum=0.9)
    topt = torch.optim.SGD([{"params": tm.fc.parameters(), "lr": 0.1},
                            {"params": tm.features.parameters(), "lr": 0.01}], lr=0.5, momentum=0.9)
    ours.eval()
    tm.eval()
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    for _ in range(2):
        opt.zero_grad()
        ours(cn.tensor(x)).square().sum().backward()
        opt.step()
        topt.zero_grad()
        tm(torch.tensor(x)).square().sum().backward()
        topt.step()
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k]._data, v.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


def test_param_groups_skip_frozen_and_refuse_all_frozen():
    model = models.get("lenet5")
    cn.freeze(model, "features")
    groups = param_groups(model, 1e-3, 1e-4)
    base = {id(p) for p in groups[1]["params"]}
    assert base == {id(model.classifier.f6.weight), id(model.classifier.f6.bias)}
    cn.freeze(model)
    with pytest.raises(ValueError, match="frozen"):
        param_groups(model, 1e-3, 1e-4)
