"""tools/compat_check.py: core snippets run the same under convnet and torch; the comparison catches differences."""
import importlib.util
import os
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "compat_check.py")
_spec = importlib.util.spec_from_file_location("compat_check", _PATH)
cc = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("compat_check", cc)  # dataclasses look their module up
_spec.loader.exec_module(cc)

CORE = [
    "x = torch.arange(6); out = x.view(2, 3)",
    "x = torch.arange(12).reshape(3, 4); out = x[1:, ::2]",
    "a = torch.ones(2, 3); b = torch.ones(3, 4); out = a @ b",
    "x = torch.arange(6.0).reshape(2, 3); out = x.sum(dim=0)",
    "x = torch.tensor([1.0, 2.0], requires_grad=True); (x * x).sum().backward(); out = x.grad",
    "out = torch.tensor([2.5]).item()",
    "out = F.cross_entropy(torch.tensor([[2.0, 0.5, 0.1], [0.1, 0.2, 3.0]]), torch.tensor([0, 2]))",
    "m = nn.Linear(3, 2); out = [n for n, p in m.named_parameters()]",
    "m = nn.MaxPool2d(2); out = m(torch.arange(16.0).reshape(1, 1, 4, 4))",
    "torch.manual_seed(0); out = nn.Conv2d(3, 8, 3, padding=1)(torch.ones(2, 3, 8, 8))",
]


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    return cc.libraries("torch"), cc.libraries("convnet"), str(tmp_path_factory.mktemp("compat"))


def _snippet(code):
    found = [s for s in cc.SNIPPETS if s.code == code]
    assert found, f"not in SNIPPETS: {code}"
    return found[0]


def test_snippet_list_covers_the_areas():
    cats = {s.category for s in cc.SNIPPETS}
    for area in ("creation", "indexing", "autograd", "functional", "module API", "optimizers", "save / load",
                 "torch.utils.data", "devices"):
        assert area in cats
    assert len(cc.SNIPPETS) >= 150 and all("out" in s.code for s in cc.SNIPPETS)
    assert len({s.code for s in cc.SNIPPETS}) == len(cc.SNIPPETS)  # no duplicates


@pytest.mark.parametrize("code", CORE)
def test_core_snippets_work(code, libs):
    status, detail = cc.check(_snippet(code), *libs)
    assert status == "works", detail


@pytest.mark.parametrize("code,mode,status,detail", [
    ("out = torch.ones(2, 3)", "value", "works", ""),
    ("out = torch.ones(2, 3) if torch.__name__ == 'torch' else torch.ones(3, 2)", "value", "differs", "shape"),
    ("out = torch.ones(2) if torch.__name__ == 'torch' else torch.ones(2, dtype=torch.float64)", "value",
     "differs", "dtype"),
    ("out = torch.ones(2) * (1.0 if torch.__name__ == 'torch' else 1.1)", "value", "differs", "values differ"),
    ("out = torch.ones(2) * (1.0 if torch.__name__ == 'torch' else 1.1)", "shape", "works", ""),
    ("out = (1, 2.0) if torch.__name__ == 'torch' else (1, 2)", "value", "differs", "[1]: int instead of float"),
    ("import numpy as np; out = 2.0 if torch.__name__ == 'torch' else np.float32(2.0)", "value", "differs",
     "numpy.float32"),
    ("out = {'a': 1} if torch.__name__ == 'torch' else {'b': 1}", "value", "differs", "keys"),
    ("out = torch.ones(2).no_such_method()", "value", "works", "same error class (AttributeError)"),
    ("out = torch.ones(1) if torch.__name__ == 'torch' else torch.no_such_function()", "value", "fails",
     "AttributeError"),
    ("out = torch.ones(1) if torch.__name__ != 'torch' else torch.no_such_function()", "value", "differs",
     "torch raises AttributeError"),
])
def test_comparison_catches_differences(code, mode, status, detail, libs):
    got_status, got_detail = cc.check(cc.Snippet("test", code, mode), *libs)
    assert got_status == status and detail in got_detail, (got_status, got_detail)


def test_grad_mode_is_restored_after_a_failing_no_grad_snippet(libs):
    cc.check(cc.Snippet("test", "torch.set_grad_enabled(False)\nraise ValueError('boom')"), *libs)
    status, detail = cc.check(_snippet(CORE[4]), *libs)
    assert status == "works", detail


def test_render_prints_table_and_total():
    s = cc.Snippet("x", "a = 1\nout = a")
    text = cc.render([(s, "works", ""), (s, "fails", "E: e"), (s, "differs", "d|x")], markdown=True)
    assert "`a = 1 ⏎ out = a`" in text and "d/x" in text
    assert text.splitlines()[-1] == "3 snippets: 1 work, 1 differ, 1 fail"
    assert np.all([line.count("|") == 6 for line in text.splitlines()[:5]])
