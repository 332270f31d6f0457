"""GoogLeNet's auxiliary classifiers in the Trainer (0.3 weight) and the paper's true 5x5 branch."""
import numpy as np
import pytest
import torch

import convnet as cn
from convnet import models


def _tiny_batch(n=4, classes=5, size=32):
    rng = np.random.default_rng(0)
    x = cn.tensor(rng.standard_normal((n, 3, size, size)).astype(np.float32))
    y = cn.tensor(np.arange(n) % classes)
    return x, y


def test_aux_loss_is_main_plus_point_three_times_each_aux_by_torch_cross_entropy():
    model = models.googlenet(num_classes=5, aux_logits=True)
    x, y = _tiny_batch()
    out = model(x)
    assert isinstance(out, models.GoogLeNetOutputs)
    trainer = cn.Trainer(model, cn.optim.SGD(model.parameters(), lr=0.01))
    loss, logits = trainer.compute_loss(out, y)
    t = {k: torch.from_numpy(np.asarray(v._data)) for k, v in out._asdict().items()}
    target = torch.from_numpy(np.asarray(y._data))
    ce = torch.nn.functional.cross_entropy
    expected = ce(t["logits"], target) + 0.3 * ce(t["aux_logits2"], target) + 0.3 * ce(t["aux_logits1"], target)
    np.testing.assert_allclose(float(loss.item()), float(expected), rtol=1e-5)
    assert logits is out.logits
    # the auxiliary part really is there: it differs from the main loss alone
    assert abs(float(loss.item()) - float(ce(t["logits"], target))) > 0.1


def test_aux_weight_is_a_trainer_option():
    model = models.googlenet(num_classes=5, aux_logits=True)
    x, y = _tiny_batch()
    out = model(x)
    loss, _ = cn.Trainer(model, None, aux_weight=0.0).compute_loss(out, y)
    main = torch.nn.functional.cross_entropy(torch.from_numpy(np.asarray(out.logits._data)),
                                             torch.from_numpy(np.asarray(y._data)))
    np.testing.assert_allclose(float(loss.item()), float(main), rtol=1e-5)


def test_trainer_fits_googlenet_with_aux_heads_and_evaluates_main_logits():
    model = models.googlenet(num_classes=5, aux_logits=True, dropout=0.0)
    x, y = _tiny_batch()
    loader = [(x, y)]
    trainer = cn.Trainer(model, cn.optim.Adam(model.parameters(), lr=1e-3))
    before = {k: np.array(v._data) for k, v in model.state_dict().items()}
    history = trainer.fit(loader, loader, epochs=2, progress=False)  # used to raise TypeError
    assert len(history) == 2 and np.isfinite(history[-1]["train_loss"])
    after = model.state_dict()
    assert not np.array_equal(before["aux1.fc2.weight"], after["aux1.fc2.weight"]._data)  # aux heads learn
    assert not np.array_equal(before["fc.weight"], after["fc.weight"]._data)
    res = trainer.evaluate(loader)
    assert res["confusion_matrix"].shape == (5, 5) and res["num_samples"] == 4


def test_branch3_5x5_is_the_papers_kernel_with_the_same_keys():
    base, paper = models.googlenet(), models.googlenet(branch3_5x5=True)
    assert list(base.state_dict()) == list(paper.state_dict())
    assert tuple(paper.inception3a.branch3[1].conv.weight.shape) == (32, 16, 5, 5)
    assert tuple(base.inception3a.branch3[1].conv.weight.shape) == (32, 16, 3, 3)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # hand count: the nine "5x5" convs have ch5x5red x ch5x5 channel pairs, each with 25 - 9 more taps
    pairs = 16 * 32 + 32 * 96 + 16 * 48 + 24 * 64 + 24 * 64 + 32 * 64 + 32 * 128 + 32 * 128 + 48 * 128
    assert n(base) == 6_624_904 and n(paper) == 6_624_904 + 16 * pairs == 7_005_832
    # Szegedy et al. 2014, Table 1 "params" of inception (3a): 159K (K = 1024, conv weights only)
    conv = sum(p.numel() for k, p in paper.inception3a.named_parameters() if k.endswith("conv.weight"))
    assert round(conv / 1024) == 159 or conv == 163_328
    # "same" padding keeps the spatial size
    out = paper.eval()(cn.randn(1, 3, 64, 64))
    assert tuple(out.shape) == (1, 1000)
    assert models.get(**paper.config).config["branch3_5x5"] is True


@pytest.mark.parametrize("aux", [False, True])
def test_eval_mode_returns_plain_logits(aux):
    model = models.googlenet(num_classes=5, aux_logits=aux).eval()
    out = model(_tiny_batch()[0])
    assert not isinstance(out, tuple) and tuple(out.shape) == (4, 5)
