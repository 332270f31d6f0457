"""Devices and dtypes behave as torch's (torch 2.13 CPU side by side)."""
import numpy as np
import pytest

import convnet as cn
from convnet import nn
from helpers import assert_same

torch = pytest.importorskip("torch")

DTYPES = ["float", "double", "half", "long", "int", "bool", "short", "float16", "float32", "float64",
          "int8", "int16", "int32", "int64", "uint8"]


@pytest.mark.parametrize("name", DTYPES)
def test_dtype_objects_match_torch_and_numpy(name):
    ours, theirs = getattr(cn, name), getattr(torch, name)
    assert str(ours) == str(theirs).replace("torch.", "convnet.") == repr(ours)
    npd = np.dtype(ours)
    assert ours == npd and npd == ours and ours == npd.type and hash(ours) == hash(npd)
    assert ours.is_floating_point == theirs.is_floating_point
    assert ours.itemsize == theirs.itemsize
    assert np.zeros(2, dtype=ours).dtype == npd
    t = torch.zeros(2, dtype=theirs)
    assert_same(cn.zeros(2, dtype=ours), t)
    assert str(cn.zeros(2).to(ours).dtype) == str(t.dtype).replace("torch.", "convnet.")


def test_dtype_inequality_and_default_dtype():
    assert cn.float32 != cn.float64 and cn.float32 != np.float64 and cn.int64 != None  # noqa: E711
    assert cn.get_default_dtype() == cn.float32
    try:
        cn.set_default_dtype(cn.float64)
        assert cn.tensor([1.5]).dtype == cn.float64 and cn.zeros(2).dtype == cn.float64
    finally:
        cn.set_default_dtype(cn.float32)
    assert cn.tensor([1.5]).dtype == cn.float32
    with pytest.raises(TypeError):
        cn.set_default_dtype(cn.int64)


def test_device_objects():
    d = cn.device("cpu")
    assert d.type == "cpu" and d.index is None and repr(d) == repr(torch.device("cpu")) == "device(type='cpu')"
    assert cn.device("cpu:0") == cn.device("cpu", 0) and repr(cn.device("cpu:0")) == repr(torch.device("cpu:0"))
    assert cn.device(d) == d == "cpu" and cn.device("cuda").type == "cuda"
    x = cn.ones(2)
    assert x.device == d and str(x.device) == str(torch.ones(2).device)
    with pytest.raises(RuntimeError):
        cn.device("gpu")


def test_cuda_accelerator_queries():
    assert cn.cuda.is_available() is False and cn.cuda.device_count() == 0
    assert cn.accelerator.is_available() is False and cn.accelerator.current_accelerator() is None
    assert cn.backends.mps.is_available() is False


@pytest.mark.parametrize("call", [lambda x: x.cuda(), lambda x: x.to("cuda"), lambda x: x.to(cn.device("cuda")),
                                  lambda x: x.to(device="cuda:0"), lambda x: nn.Linear(2, 2).to("cuda"),
                                  lambda x: nn.Linear(2, 2).cuda(), lambda x: cn.zeros(2, device="cuda")])
def test_gpu_requests_raise_clearly(call):
    with pytest.raises(RuntimeError, match="CPU only"):
        call(cn.ones(2))


def test_to_overloads_match_torch():
    a = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    ours, theirs = cn.tensor(a), torch.tensor(a)
    for args, kw in [((), {}), (("cpu",), {}), ((None,), {}), ((cn.float64,), {}), (("cpu", cn.int64), {}),
                     ((), {"dtype": cn.int32}), ((), {"device": "cpu", "dtype": cn.float16}),
                     ((cn.int64,), {"copy": True}), ((cn.float32, False, True), {})]:
        targs = tuple(getattr(torch, str(v).split(".")[1]) if isinstance(v, cn.dtype) else v for v in args)
        tkw = {k: getattr(torch, str(v).split(".")[1]) if isinstance(v, cn.dtype) else v for k, v in kw.items()}
        o, t = ours.to(*args, **kw), theirs.to(*targs, **tkw)
        assert_same(o, t)
        assert (o is ours) == (t is theirs), (args, kw)
    assert ours.to(cn.device("cpu")) is ours and ours.cpu() is ours
    other = cn.zeros(1, dtype=cn.float64)
    assert_same(ours.to(other), theirs.to(torch.zeros(1, dtype=torch.float64)))
    assert_same(ours.type_as(other), theirs.type_as(torch.zeros(1, dtype=torch.float64)))


def test_to_none_keeps_int64_labels():
    y = cn.tensor([3, 1, 2])
    assert y.to(None) is y and y.to(None).dtype == cn.int64
    assert str(torch.tensor([3]).to(None).dtype) == "torch.int64"


def test_to_dtype_is_differentiable_like_torch():
    a = np.array([0.5, -1.25, 2.0], dtype=np.float32)
    x, tx = cn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (x.to(cn.float64) * 3).sum().backward()
    (tx.to(torch.float64) * 3).sum().backward()
    assert_same(x.grad, tx.grad)


def test_module_to_float_double_and_errors():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    assert m.to("cpu") is m and m.cpu() is m and m.to(cn.device("cpu"), cn.float64) is m
    tm.to("cpu", torch.float64)
    for (k, v), (tk, tv) in zip(list(m.state_dict().items()), list(tm.state_dict().items())):
        assert k == tk and v.dtype == np.dtype(str(tv.dtype).split(".")[1])  # int64 counter stays int64
    assert m.float() is m and m[0].weight.dtype == cn.float32
    assert m.double()[0].weight.dtype == cn.float64 and m.type(cn.float32)[0].bias.dtype == cn.float32
    with pytest.raises(TypeError):
        m.to(cn.int64)
    with pytest.raises(TypeError):
        tm.to(torch.int64)
    with pytest.raises(TypeError, match="float16"):
        m.half()
