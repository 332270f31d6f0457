"""``nn.LSTM`` against ``torch.nn.LSTM`` with the same weights: outputs, states and every gradient."""
import numpy as np
import pytest
import torch

import convnet as cn
from helpers import gradcheck


def _pair(rng, dtype=np.float32, **kw):
    ours = cn.nn.LSTM(**kw, dtype=dtype)
    theirs = torch.nn.LSTM(**kw, dtype=torch.float32 if dtype == np.float32 else torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # names and order
    for name, p in theirs.named_parameters():
        value = rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(dtype)
        with torch.no_grad():
            p.copy_(torch.from_numpy(value))
        getattr(ours, name)._data[...] = value
    return ours, theirs


CASES = [
    dict(input_size=5, hidden_size=4),
    dict(input_size=5, hidden_size=4, batch_first=True),
    dict(input_size=5, hidden_size=3, num_layers=2, batch_first=True),
    dict(input_size=5, hidden_size=3, num_layers=2, bias=False),
    dict(input_size=5, hidden_size=4, bidirectional=True, batch_first=True),
    dict(input_size=3, hidden_size=2, num_layers=3, bidirectional=True),
]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_matches_torch(rng, kw, with_state):
    ours, theirs = _pair(rng, **kw)
    n, length = 3, 6
    shape = (n, length, kw["input_size"]) if kw.get("batch_first") else (length, n, kw["input_size"])
    x = rng.standard_normal(shape).astype(np.float32)
    d = 2 if kw.get("bidirectional") else 1
    state_shape = (d * kw.get("num_layers", 1), n, kw["hidden_size"])
    h0 = rng.standard_normal(state_shape).astype(np.float32)
    c0 = rng.standard_normal(state_shape).astype(np.float32)

    xo, xt = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    args_o = ((cn.tensor(h0, requires_grad=True), cn.tensor(c0, requires_grad=True)),) if with_state else ()
    args_t = ((torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)),) if with_state else ()
    out_o, (h_o, c_o) = ours(xo, *args_o)
    out_t, (h_t, c_t) = theirs(xt, *args_t)
    for a, b, what in ((out_o, out_t, "output"), (h_o, h_t, "h_n"), (c_o, c_t, "c_n")):
        assert tuple(a.shape) == tuple(b.shape), what
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=2e-5, rtol=2e-4, err_msg=what)

    # backward through output, h_n and c_n together, random upstream gradients
    g_out = rng.standard_normal(out_t.shape).astype(np.float32)
    g_h = rng.standard_normal(h_t.shape).astype(np.float32)
    g_c = rng.standard_normal(c_t.shape).astype(np.float32)
    ((out_o * cn.tensor(g_out)).sum() + (h_o * cn.tensor(g_h)).sum() + (c_o * cn.tensor(g_c)).sum()).backward()
    ((out_t * torch.tensor(g_out)).sum() + (h_t * torch.tensor(g_h)).sum() + (c_t * torch.tensor(g_c)).sum()).backward()
    np.testing.assert_allclose(xo.grad.detach().numpy(), xt.grad.detach().numpy(), atol=5e-5, rtol=5e-4, err_msg="input grad")
    if with_state:
        for a, b, what in zip(args_o[0], args_t[0], ("h_0", "c_0")):
            np.testing.assert_allclose(a.grad.detach().numpy(), b.grad.detach().numpy(), atol=5e-5, rtol=5e-4, err_msg=what)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.detach().numpy(), p.grad.detach().numpy(), atol=5e-5, rtol=5e-4,
                                   err_msg=f"gradient of {name}")


def test_lstm_unbatched_matches_torch(rng):
    ours, theirs = _pair(rng, input_size=4, hidden_size=3, num_layers=2)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    out_o, (h_o, c_o) = ours(cn.tensor(x))
    out_t, (h_t, c_t) = theirs(torch.tensor(x))
    assert tuple(out_o.shape) == (5, 3) and tuple(h_o.shape) == (2, 3)
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), atol=2e-5, rtol=2e-4)
    np.testing.assert_allclose(c_o.detach().numpy(), c_t.detach().numpy(), atol=2e-5, rtol=2e-4)


def test_lstm_gradcheck_float64(rng):
    lstm = cn.nn.LSTM(3, 2, num_layers=2, batch_first=True, bidirectional=True, dtype=np.float64)
    w = lstm.weight_hh_l1_reverse._data.copy()

    def fn(x, w_hh):
        lstm._parameters["weight_hh_l1_reverse"] = w_hh  # a plain tensor, so the check reaches its gradient
        out, (h, c) = lstm(x)
        return out.sum(2) + h.sum(0).sum(1, keepdim=True) + c.mean(0).sum(1, keepdim=True)

    gradcheck(fn, [rng.standard_normal((2, 4, 3)), w])


def test_lstm_parameters_init_and_errors():
    lstm = cn.nn.LSTM(6, 8, num_layers=2, bidirectional=True)
    names = [n for n, _ in lstm.named_parameters()]
    assert names == list(dict(torch.nn.LSTM(6, 8, num_layers=2, bidirectional=True).named_parameters()))
    assert tuple(lstm.weight_ih_l1.shape) == (32, 16)
    bound = 1 / np.sqrt(8)
    for _, p in lstm.named_parameters():
        assert np.abs(p.detach().numpy()).max() <= bound and p.detach().numpy().std() > bound / 4
    with pytest.raises(ValueError, match="input_size=6"):
        lstm(cn.randn(5, 2, 7))
    with pytest.raises(ValueError, match="h_0"):
        lstm(cn.randn(5, 2, 6), (cn.zeros(1, 2, 8), cn.zeros(4, 2, 8)))
    with pytest.raises(ValueError, match="hidden_size"):
        cn.nn.LSTM(3, 0)
    assert repr(lstm) == "LSTM(6, 8, num_layers=2, bidirectional=True)"


def test_lstm_dropout_between_layers_only_in_training():
    lstm = cn.nn.LSTM(4, 4, num_layers=2, dropout=0.5)
    x = cn.randn(3, 2, 4)
    lstm.eval()
    a = lstm(x)[0].detach().numpy()
    b = lstm(x)[0].detach().numpy()
    np.testing.assert_array_equal(a, b)
    lstm.train()
    c = lstm(x)[0].detach().numpy()
    assert not np.allclose(a, c)
