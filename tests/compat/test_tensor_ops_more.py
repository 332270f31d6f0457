"""Index, scan, reorder and contraction ops against torch 2.13 (forward and every input gradient)
plus float64 finite differences; Generator/randperm; torch's type promotion; tensors from
TensorDataset and from an optimizer's state_dict."""
import numpy as np
import pytest

import convnet as cn
from convnet.errors import ShapeError
from helpers import assert_same, check_against_torch, gradcheck

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


IDX = np.array([[0, 2, 2], [3, 1, 0], [1, 1, 3]], dtype=np.int64)  # repeats: gradients add up

# name -> (our fn, torch fn, inputs); the same lambda serves both where the spelling is the same
CASES = {
    "gather_dim1": (lambda x, i: x.gather(1, i), None, [rand(3, 4), IDX]),
    "gather_dim0_smaller_index": (lambda x, i: cn.gather(x, 0, i), lambda x, i: torch.gather(x, 0, i),
                                  [rand(4, 5), IDX[:, :2] % 4]),
    "index_select": (lambda x, i: x.index_select(1, i), None, [rand(3, 4, 2), np.array([3, 0, 3], np.int64)]),
    "masked_select_broadcast": (lambda x, m: x.masked_select(m), None,
                                [rand(3, 4), np.array([True, False, True, True])]),
    "scatter": (lambda x, s, i: x.scatter(1, i, s), None,
                [rand(3, 5), rand(3, 3), np.array([[0, 4, 2], [1, 3, 0], [4, 2, 1]], np.int64)]),
    "scatter_add": (lambda x, s, i: x.scatter_add(0, i, s), None, [rand(4, 3), rand(3, 3), IDX % 4]),
    "prod_all": (lambda x: x.prod(), None, [rand(2, 3)]),
    "prod_dim_one_zero": (lambda x: x.prod(1), None, [np.array([[1.5, 0.0, -2.0], [0.5, 3.0, 1.1]], np.float32)]),
    "prod_dim_two_zeros_keepdim": (lambda x: x.prod(0, keepdim=True), None,
                                   [np.array([[0.0, 2.0], [0.0, 3.0], [1.2, 0.0]], np.float32)]),
    "cumsum": (lambda x: x.cumsum(dim=1), None, [rand(3, 5)]),
    "cumsum_neg_dim": (lambda x: cn.cumsum(x, -3), lambda x: torch.cumsum(x, -3), [rand(2, 3, 4)]),
    "cumprod": (lambda x: x.cumprod(0), None, [rand(4, 3)]),
    "cumprod_zeros": (lambda x: x.cumprod(1), None,
                      [np.array([[1.5, 0.0, -2.0, 0.7], [0.0, 3.0, 0.0, 1.1]], np.float32)]),
    "logsumexp": (lambda x: cn.logsumexp(x, 1), lambda x: torch.logsumexp(x, 1), [rand(3, 4)]),
    "logsumexp_keepdim_tuple": (lambda x: x.logsumexp((0, 2), keepdim=True), None, [rand(2, 3, 4)]),
    "logsumexp_large": (lambda x: cn.logsumexp(x, 0), lambda x: torch.logsumexp(x, 0),
                        [np.array([[1000.0, -1000.0], [999.0, -1001.0]], np.float32)]),
    "unbind": (lambda x: cn.stack([t * (k + 1) for k, t in enumerate(x.unbind(1))], 0),
               lambda x: torch.stack([t * (k + 1) for k, t in enumerate(x.unbind(1))], 0), [rand(2, 3, 2)]),
    "flip": (lambda x: x.flip((0, 2)), None, [rand(2, 3, 4)]),
    "flip_fn": (lambda x: cn.flip(x, [-1]), lambda x: torch.flip(x, [-1]), [rand(3, 4)]),
    "roll": (lambda x: x.roll((1, -2), (0, 1)), None, [rand(3, 4)]),
    "roll_flat": (lambda x: cn.roll(x, 5), lambda x: torch.roll(x, 5), [rand(3, 4)]),
    "bmm": (lambda a, b: cn.bmm(a, b), lambda a, b: torch.bmm(a, b), [rand(5, 2, 3), rand(5, 3, 4)]),
    "dot": (lambda a, b: a.dot(b), None, [rand(6), rand(6)]),
    "outer": (lambda a, b: cn.outer(a, b), lambda a, b: torch.outer(a, b), [rand(3), rand(4)]),
    "clamp_tensor_bounds": (lambda x, lo, hi: x.clamp(lo, hi), None,
                            [np.array([[-2.0, 0.3, 1.7], [0.9, -0.4, 2.5]], np.float32),
                             np.array([-1.0, 0.5, -0.5], np.float32), np.array([[1.0], [2.0]], np.float32)]),
}

EINSUMS = {
    "ij,jk->ik": [(3, 4), (4, 5)],
    "bij,bkj->bik": [(2, 3, 4), (2, 5, 4)],
    "ii->": [(4, 4)],
    "ii->i": [(3, 3)],
    "ij->": [(3, 4)],
    "ij->j": [(3, 4)],
    "i,j->ij": [(3,), (4,)],
    "ij,jk": [(2, 3), (3, 4)],
    "...ij,...jk->...ik": [(2, 3, 4), (2, 4, 5)],
    "bi,bi->b": [(3, 4), (3, 4)],
    "ij,jk,kl->il": [(2, 3), (3, 4), (4, 2)],
    "iij->j": [(3, 3, 2)],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name):
    ours, theirs, inputs = CASES[name]
    check_against_torch(ours, theirs or ours, inputs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_float64(name):
    ours, _, inputs = CASES[name]
    if name == "logsumexp_large":
        inputs = [inputs[0] / 500]  # finite differences need moderate values
    gradcheck(ours, inputs)


@pytest.mark.parametrize("eq", sorted(EINSUMS))
def test_einsum_against_torch_and_gradcheck(eq):
    inputs = [rand(*s) for s in EINSUMS[eq]]
    check_against_torch(lambda *t: cn.einsum(eq, *t), lambda *t: torch.einsum(eq, *t), inputs)
    gradcheck(lambda *t: cn.einsum(eq, list(t)), inputs)


def test_no_gradient_ops_match_torch():
    x = np.array([[0, 3, 0], [1, 0, 2]], np.int64)
    for fn in (lambda L, t: t.nonzero(), lambda L, t: L.nonzero(t, as_tuple=True), lambda L, t: L.where(t > 0),
               lambda L, t: t.count_nonzero(), lambda L, t: t.count_nonzero(dim=1), lambda L, t: t.prod(),
               lambda L, t: t.cumsum(0), lambda L, t: t.flip(1), lambda L, t: t.unbind(0),
               lambda L, t: L.tensor(3).nonzero()):
        ours, theirs = fn(cn, cn.tensor(x)), fn(torch, torch.tensor(x))
        ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            assert_same(o.numpy(), t.numpy())
    a = cn.tensor([1.0, 2.0])
    assert cn.equal(a, a.clone()) is True and a.equal(cn.tensor([1.0, 3.0])) is False
    assert cn.equal(a, cn.tensor([[1.0, 2.0]])) is False  # same values, other shape
    out = cn.logsumexp(cn.tensor([[-np.inf, -np.inf], [np.inf, 0.0]]), 1)
    assert_same(out.numpy(), torch.logsumexp(torch.tensor([[-np.inf, -np.inf], [np.inf, 0.0]]), 1).numpy())


def test_bad_arguments_raise_clear_errors():
    x = cn.ones(3, 4)
    with pytest.raises(ShapeError, match="same number of dimensions"):
        x.gather(1, cn.tensor([0, 1]))
    with pytest.raises(IndexError, match="out of bounds"):
        x.gather(1, cn.tensor([[4]]))
    with pytest.raises(TypeError, match="index"):
        x.index_select(0, cn.tensor([0.0]))
    with pytest.raises(ShapeError, match="bmm"):
        cn.bmm(cn.ones(2, 3), cn.ones(2, 3))
    with pytest.raises(ShapeError, match="dot"):
        cn.dot(cn.ones(3), cn.ones(4))
    with pytest.raises(ShapeError, match="label 'j'"):
        cn.einsum("ij,jk->ik", cn.ones(2, 3), cn.ones(4, 2))
    with pytest.raises(ShapeError, match="operand"):
        cn.einsum("ij,jk->ik", cn.ones(2, 3))
    with pytest.raises(ShapeError, match="repeated"):
        x.flip((0, 0))


def test_generator_and_randperm():
    g = cn.Generator().manual_seed(3)
    assert isinstance(g, cn.Generator)
    p = cn.randperm(10, generator=g)
    assert p.dtype == cn.int64 and sorted(p.tolist()) == list(range(10))
    g.manual_seed(3)
    assert_same(cn.randperm(10, generator=g).numpy(), p.numpy())
    # a private generator leaves the global stream alone
    cn.manual_seed(0)
    ref = cn.randn(4).numpy()
    cn.manual_seed(0)
    a = cn.randn(3, generator=cn.Generator().manual_seed(1))
    b = cn.rand(3, generator=cn.Generator().manual_seed(1))
    c = cn.randint(0, 9, (3,), generator=cn.Generator().manual_seed(1))
    assert_same(cn.randn(4).numpy(), ref)
    assert_same(a.numpy(), cn.randn(3, generator=cn.Generator().manual_seed(1)).numpy())
    assert b.shape == (3,) and c.dtype == cn.int64
    with pytest.raises(TypeError, match="generator"):
        cn.randperm(3, generator=5)


def test_generator_drives_random_split_and_dataloader():
    from convnet.data import DataLoader, TensorDataset, random_split

    ds = TensorDataset(cn.arange(10.0))
    s1 = random_split(ds, [7, 3], generator=cn.Generator().manual_seed(0))
    s2 = random_split(ds, [7, 3], generator=cn.Generator().manual_seed(0))
    assert_same(s1[0].indices, s2[0].indices)

    def order(seed):
        dl = DataLoader(ds, batch_size=4, shuffle=True, generator=cn.Generator().manual_seed(seed))
        return np.concatenate([b[0].numpy() for b in dl])

    assert_same(order(5), order(5))
    assert sorted(order(5).tolist()) == list(range(10))


PROMOTION = [((np.int64, (2,)), (np.float32, (2,))), ((np.int64, (2,)), (np.float64, ())),
             ((np.float32, (2,)), (np.float64, ())), ((np.uint8, (2,)), (np.int8, (2,))),
             ((np.bool_, (2,)), (np.uint8, (2,))), ((np.int32, (2,)), (np.int64, ())),
             ((np.int64, (2,)), (np.float16, (2,))), ((np.int64, ()), (np.float32, ()))]
SCALARS = [(np.int64, 0.5), (np.bool_, 2), (np.bool_, 1.5), (np.int32, 3), (np.float16, 2.0), (np.uint8, 1000)]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_type_promotion_matches_torch(op):
    for (da, sa), (db, sb) in PROMOTION:
        a, b = np.ones(sa, da), np.full(sb, 3, db)
        for x, y in ((a, b), (b, a)):
            if op == "sub" and np.bool_ in (x.dtype.type, y.dtype.type):
                continue  # torch refuses bool subtraction
            ours = getattr(cn.tensor(x), op)(cn.tensor(y))
            theirs = getattr(torch.tensor(x), op)(torch.tensor(y))
            assert_same(ours.numpy(), theirs.numpy())
    for dt, s in SCALARS:
        x = np.ones(3, dt)
        if op == "sub" and dt is np.bool_:
            continue
        assert_same(getattr(cn.tensor(x), op)(s).numpy(), getattr(torch.tensor(x), op)(s).numpy())


def test_promoted_gradients_keep_each_leafs_dtype():
    a = cn.tensor([1.0, 2.0], requires_grad=True)
    b = cn.tensor(np.array([3.0, 4.0]), requires_grad=True)  # float64
    (a * b).sum().backward()
    assert_same(a.grad.numpy(), np.array([3.0, 4.0], np.float32))
    assert_same(b.grad.numpy(), np.array([1.0, 2.0]))


def test_optimizer_state_dict_holds_tensors_and_round_trips():
    w = cn.tensor([1.0, -2.0], requires_grad=True)
    opt = cn.optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    sd = opt.state_dict()
    exp_avg = sd["state"][0]["exp_avg"]
    assert isinstance(exp_avg, cn.Tensor)
    exp_avg_before = exp_avg.numpy().copy()
    opt.step()  # a snapshot: later steps leave it alone
    assert_same(exp_avg.numpy(), exp_avg_before)
    w2 = cn.tensor([1.0, -2.0], requires_grad=True)
    opt2 = cn.optim.Adam([w2], lr=0.1)
    opt2.load_state_dict(sd)
    s2 = opt2.state_dict()["state"][0]
    assert_same(s2["exp_avg"].numpy(), exp_avg_before)
    # NumPy arrays load too
    opt3 = cn.optim.Adam([cn.tensor([1.0, -2.0], requires_grad=True)], lr=0.1)
    opt3.load_state_dict({"state": {0: {k: (v.numpy() if isinstance(v, cn.Tensor) else v) for k, v in
                                        sd["state"][0].items()}}, "param_groups": sd["param_groups"]})
    assert_same(opt3.state_dict()["state"][0]["exp_avg_sq"].numpy(), sd["state"][0]["exp_avg_sq"].numpy())


def test_tensor_dataset_items_are_tensors_and_batches_stay_fast():
    from convnet.data import DataLoader, Subset, TensorDataset

    ds = TensorDataset(cn.arange(10.0).reshape(5, 2), cn.arange(5))
    x, y = ds[1]
    assert isinstance(x, cn.Tensor) and isinstance(y, cn.Tensor)
    assert_same(x.numpy(), np.array([2.0, 3.0], np.float32))
    assert_same(y.numpy(), np.array(1, np.int64))
    sx, sy = Subset(ds, [4, 0])[0]
    assert isinstance(sx, cn.Tensor) and int(sy) == 4
    xb, yb = next(iter(DataLoader(ds, batch_size=3)))
    assert_same(xb.numpy(), np.arange(6.0, dtype=np.float32).reshape(3, 2))
    assert_same(yb.numpy(), np.arange(3))
