"""``optim.swa_utils.update_bn`` against ``torch.optim.swa_utils.update_bn`` on the same weights and batches."""
import numpy as np
import pytest

import convnet as cn
from convnet import nn
from convnet.optim.swa_utils import update_bn


def _pair(torch):
    ours = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4, momentum=0.3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5), nn.Linear(6, 3))
    ref = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4, momentum=0.3), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(64, 6), torch.nn.BatchNorm1d(6),
                              torch.nn.Dropout(0.5), torch.nn.Linear(6, 3))
    with torch.no_grad():
        for (k, v), (tk, tv) in zip(ours.state_dict().items(), ref.state_dict().items()):
            assert k == tk and tuple(v.shape) == tuple(tv.shape)
            tv.copy_(torch.from_numpy(np.array(v._data)))
    return ours, ref


@pytest.mark.parametrize("as_tuples", [True, False])
def test_matches_torch(as_tuples):
    torch = pytest.importorskip("torch")
    cn.manual_seed(0)
    ours, ref = _pair(torch)
    rng = np.random.default_rng(0)
    sizes = (5, 3, 7)  # unequal batches: the average is over batches, as PyTorch's
    xs = [(rng.standard_normal((n, 2, 6, 6)) * 3 + 1).astype(np.float32) for n in sizes]
    # stale statistics from "training" on other data: update_bn must forget them
    ours.train()(cn.tensor(xs[0] * 5))
    ref.train()(torch.from_numpy(xs[0] * 5))
    ours.eval()
    ref.eval()
    loader = [(cn.tensor(x), cn.tensor(np.zeros(len(x), np.int64))) for x in xs] if as_tuples else \
        [cn.tensor(x) for x in xs]
    update_bn(loader, ours)
    torch.optim.swa_utils.update_bn([torch.from_numpy(x) for x in xs], ref)
    theirs = ref.state_dict()
    for k, v in ours.state_dict().items():
        np.testing.assert_allclose(v._data, theirs[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    assert int(ours[1].num_batches_tracked._data) == 3
    assert ours[1].momentum == 0.3 and ours[5].momentum == 0.1  # restored
    assert not ours.training  # the mode it had


def test_is_the_plain_average_of_the_batch_statistics():
    """Independent of torch: BatchNorm1d's running mean is the mean of the per-batch means, its running
    variance the mean of the per-batch unbiased variances."""
    bn = nn.BatchNorm1d(3)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((n, 3)) * [1, 2, 3] + [0, 5, -5] for n in (4, 9)]
    update_bn([cn.tensor(x.astype(np.float32)) for x in xs], bn)
    np.testing.assert_allclose(bn.running_mean._data, np.mean([x.mean(0) for x in xs], 0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var._data, np.mean([x.var(0, ddof=1) for x in xs], 0), rtol=1e-5)
    assert bn.training  # it was in training mode


def test_without_batch_norm_nothing_runs():
    calls = []

    class Spy(nn.Module):
        def forward(self, x):
            calls.append(x)
            return x

    update_bn([cn.zeros(2, 3)], Spy())
    assert calls == []
