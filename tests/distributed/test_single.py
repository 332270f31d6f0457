"""``convnet.distributed`` in one process (the ``single`` backend, no MPI), the sampler against torch's,
SyncBatchNorm's function and structure, and the backward order DistributedDataParallel relies on."""
import numpy as np
import pytest
import torch

import convnet as cn
import convnet.distributed as dist
from convnet import data, nn
from convnet.distributed._backend import _Single
from convnet.nn.syncbatchnorm import SyncBatchNormFunction
from tests.helpers import check_against_torch


@pytest.fixture
def single():
    dist.init_process_group("single")
    yield
    dist.destroy_process_group()


def test_single_backend_collectives(single):
    assert dist.is_initialized() and dist.get_backend() == "single"
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    x = cn.tensor([1.0, -2.0])
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.MIN):
        dist.all_reduce(x, op=op)
        np.testing.assert_array_equal(x.numpy(), [1.0, -2.0])
    dist.broadcast(x, src=0)
    out = [cn.zeros(2)]
    dist.all_gather(out, x)
    np.testing.assert_array_equal(out[0].numpy(), [1.0, -2.0])
    objs = [None]
    dist.all_gather_object(objs, {"a": [1, 2]})
    assert objs == [{"a": [1, 2]}]
    assert dist.all_reduce(x, async_op=True).wait()
    dist.barrier()


def test_errors(single):
    with pytest.raises(RuntimeError, match="already initialized"):
        dist.init_process_group("single")
    with pytest.raises(ValueError, match="src must be a rank in 0..0"):
        dist.broadcast(cn.zeros(2), src=1)
    with pytest.raises(TypeError, match="AVG needs a floating-point"):
        dist.all_reduce(cn.tensor([1, 2]), op=dist.ReduceOp.AVG)
    with pytest.raises(ValueError, match="world_size=1 tensors"):
        dist.all_gather([cn.zeros(2), cn.zeros(2)], cn.zeros(2))
    with pytest.raises(TypeError, match="JSON-serialisable"):
        dist.all_gather_object([None], object())


def test_uninitialized_and_bad_backend():
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(ValueError, match="backend must be 'mpi' or 'single', received 'nccl'"):
        dist.init_process_group("nccl")
    with pytest.raises(RuntimeError, match="process group"):
        data.DistributedSampler(range(4))
    assert not dist.is_initialized()


@pytest.mark.parametrize("n", [10, 11, 3, 1])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_matches_torch(n, replicas, drop_last):
    """Unshuffled: identical to torch. Shuffled: torch's arithmetic applied to our permutation."""
    from torch.utils.data import DistributedSampler as TorchSampler

    for rank in range(replicas):
        ours = data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        shuffled = data.DistributedSampler(range(n), replicas, rank, shuffle=True, seed=5, drop_last=drop_last)
        shuffled.set_epoch(3)
        perm = np.random.default_rng(5 + 3).permutation(n)
        assert list(shuffled) == [int(perm[i]) for i in theirs]


def test_sampler_epochs_and_errors():
    s = data.DistributedSampler(range(20), 2, 0, seed=1)
    first = list(s)
    s.set_epoch(1)
    other = data.DistributedSampler(range(20), 2, 1, seed=1)
    other.set_epoch(1)
    assert list(s) != first and sorted(list(s) + list(other)) == list(range(20))  # a new order, all covered
    with pytest.raises(ValueError, match=r"invalid rank 2, rank should be in the interval \[0, 1\]"):
        data.DistributedSampler(range(4), 2, 2)


def _bn_with_world_of_one(x, w, b):
    stats = {}
    return SyncBatchNormFunction.apply(x, w, b, group=_Single(1.0), eps=1e-5, stats=stats)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5)])
def test_sync_batchnorm_function_is_torch_batch_norm(rng, shape):
    """With one rank the synchronised statistics are the batch's own: torch's training-mode batch_norm."""
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    check_against_torch(_bn_with_world_of_one, lambda x, w, b: torch.nn.functional.batch_norm(
        x, None, None, w, b, training=True, eps=1e-5), [x, w, b])


def test_convert_sync_batchnorm_structure(single):
    model = cn.models.get("resnet20")
    bns = {n: m for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert set(n for n, m in converted.named_modules() if isinstance(m, nn.SyncBatchNorm)) == set(bns)
    assert not any(type(m) is nn.BatchNorm2d for m in converted.modules())
    for name, old in bns.items():  # the same Parameters and buffers, moved over
        new = converted.get_submodule(name)
        assert new.weight is old.weight and new.running_var is old.running_var
    assert list(converted.state_dict()) == list(cn.models.get("resnet20").state_dict())
    torch_model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.BatchNorm1d(2))
    ours = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2),
                                                                 nn.BatchNorm1d(2)))
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(torch_model)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(3)).__class__ is nn.SyncBatchNorm


def test_sync_batchnorm_single_process_is_batchnorm(rng):
    x = cn.tensor(rng.standard_normal((4, 3, 5, 5)).astype(np.float32))
    a, b = nn.BatchNorm2d(3), nn.SyncBatchNorm(3)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    np.testing.assert_array_equal(a.running_var.numpy(), b.running_var.numpy())


def test_parameter_gradient_is_final_before_backward_reaches_earlier_layers(single):
    """Backward reaches each parameter right after the op that uses it, so DDP starts the last
    layer's all-reduce while the first layer's backward still has to run."""
    cn.manual_seed(0)
    first, last = nn.Linear(4, 4), nn.Linear(4, 2)
    model = nn.Sequential(first, nn.Tanh(), last)
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0)  # one parameter per bucket
    assert len(ddp._buckets) == 4
    seen = []
    h = None

    def forward(x):
        nonlocal h
        h = first(x)
        h.register_hook(lambda g: seen.append(ddp._launched))  # runs when backward reaches the first layer
        return last(h.tanh())

    model.forward = forward
    ddp(cn.randn(3, 4)).sum().backward()
    assert seen == [2]  # the last layer's weight and bias were already being reduced
    assert ddp.comm_stats["steps"] == 1 and ddp._launched == 0


def test_ddp_single_process_gradients_and_no_sync(single, rng):
    cn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    plain = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    plain.load_state_dict(model.state_dict())
    ddp = nn.parallel.DistributedDataParallel(model)
    x = cn.tensor(rng.standard_normal((6, 5)).astype(np.float32))
    with ddp.no_sync():
        ddp(x[:3]).sum().backward()
    assert ddp.comm_stats["steps"] == 0
    ddp(x[3:]).sum().backward()
    assert ddp.comm_stats["steps"] == 1
    plain(x).sum().backward()
    for p, q in zip(model.parameters(), plain.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-6)
    assert list(ddp.state_dict())[0] == "module.0.weight"


def test_ddp_needs_a_process_group():
    with pytest.raises(RuntimeError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
