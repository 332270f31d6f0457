"""The snippets of ``tools/compat_check.py``: what a PyTorch user writes in the first hour.

Each is written once with the names ``torch``, ``nn``, ``F``, ``optim`` (and ``path``, a temporary
file name) and sets ``out``. ``mode="shape"`` marks random results: only shapes and dtypes are compared.
"""
from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class Snippet:
    category: str
    code: str
    mode: str = "value"  # "value": compare values; "shape": shapes/dtypes/types only


def _group(category, *codes, mode="value"):
    return [Snippet(category, c, mode) for c in codes]


SNIPPETS = [
    *_group(
        "creation",
        "out = torch.tensor([[1, 2], [3, 4]])",
        "out = torch.tensor([1.5, 2.5])",
        "out = torch.tensor([True, False])",
        "out = torch.tensor(3.0)",
        "out = torch.zeros(2, 3)",
        "out = torch.zeros((2, 3), dtype=torch.int64)",
        "out = torch.ones(4)",
        "out = torch.full((2, 2), 7.0)",
        "out = torch.arange(5)",
        "out = torch.arange(1, 10, 2)",
        "out = torch.arange(0, 1, 0.25)",
        "out = torch.linspace(0, 1, 5)",
        "out = torch.eye(3)",
        "out = torch.empty(2, 3).shape",
        "x = torch.ones(2, 3); out = torch.zeros_like(x)",
        "x = torch.ones(2, 3); out = torch.ones_like(x, dtype=torch.int64)",
        "x = torch.ones(2, 3); out = torch.full_like(x, 4.0)",
        "import numpy as np; out = torch.from_numpy(np.arange(6.0).reshape(2, 3))",
        "import numpy as np; out = torch.as_tensor(np.array([1, 2, 3], dtype=np.int32))",
        "out = torch.stack([torch.ones(2), torch.zeros(2)])",
        "out = torch.cat([torch.ones(2, 2), torch.zeros(1, 2)], dim=0)",
        "out = torch.tensor([[1.0, 2.0]]).numpy()",
        "out = torch.tensor([1, 2, 3]).tolist()",
    ),
    *_group(
        "random",
        "torch.manual_seed(0); out = torch.randn(3, 4)",
        "torch.manual_seed(0); out = torch.rand(2, 5)",
        "torch.manual_seed(0); out = torch.randint(0, 10, (3, 3))",
        "torch.manual_seed(0); out = torch.randperm(6)",
        "torch.manual_seed(0); out = torch.randn_like(torch.zeros(2, 2))",
        "torch.manual_seed(0); out = torch.rand(3).uniform_(-1, 1)",
        "torch.manual_seed(0); out = torch.empty(4).normal_(0, 1)",
        mode="shape",
    ),
    *_group(
        "dtypes",
        "out = torch.tensor([1, 2]).dtype",
        "out = torch.tensor([1.0, 2.0]).dtype",
        "out = torch.ones(2).double().dtype",
        "out = torch.ones(2).long()",
        "out = torch.ones(2).int()",
        "out = torch.tensor([1.7, -1.7]).to(torch.int64)",
        "out = torch.ones(2).to(dtype=torch.float64)",
        "out = torch.ones(2, dtype=torch.float16).float()",
        "out = torch.tensor([0, 1, 2]).bool()",
        "out = torch.tensor([1, 2]) + torch.tensor([0.5, 0.5])",
        "out = torch.tensor([1, 2]) / 2",
        "out = torch.tensor([3, 4]) // 2",
        "out = torch.get_default_dtype()",
        "out = torch.ones(2).is_floating_point()",
        "out = torch.float32 == torch.float",
        "out = torch.tensor([1.0]).type(torch.float64)",
    ),
    *_group(
        "indexing",
        "x = torch.arange(12).reshape(3, 4); out = x[1]",
        "x = torch.arange(12).reshape(3, 4); out = x[:, 1]",
        "x = torch.arange(12).reshape(3, 4); out = x[1:, ::2]",
        "x = torch.arange(12).reshape(3, 4); out = x[-1, -1]",
        "x = torch.arange(12).reshape(3, 4); out = x[..., 0]",
        "x = torch.arange(12).reshape(3, 4); out = x[None, :, None].shape",
        "x = torch.arange(12).reshape(3, 4); out = x[x > 5]",
        "x = torch.arange(12).reshape(3, 4); out = x[[0, 2]]",
        "x = torch.arange(12).reshape(3, 4); out = x[torch.tensor([0, 2]), torch.tensor([1, 3])]",
        "x = torch.zeros(3, 4); x[1] = 5.0; out = x",
        "x = torch.zeros(3, 4); x[:, 0] = torch.arange(3).float(); out = x",
        "x = torch.zeros(5); x[x == 0] = 1.0; out = x",
        "x = torch.arange(10.0); out = torch.where(x > 4, x, torch.zeros_like(x))",
        "x = torch.arange(12.0).reshape(3, 4); out = x.gather(1, torch.tensor([[0], [2], [3]]))",
        "x = torch.arange(12.0).reshape(3, 4); out = x.index_select(0, torch.tensor([2, 0]))",
        "x = torch.arange(12.0).reshape(3, 4); out = x.masked_fill(x > 6, -1.0)",
        "x = torch.tensor([[0.1, 0.9], [0.8, 0.2]]); out = x.argmax(dim=1)",
        "x = torch.tensor([3.0, 1.0, 2.0]); out = x.sort()",
        "x = torch.tensor([3.0, 1.0, 2.0, 5.0]); out = x.topk(2)",
        "x = torch.tensor([1.0, 2.0, 3.0]); out = len(x)",
        "x = torch.arange(6).reshape(2, 3); out = [row.sum().item() for row in x]",
        "out = torch.tensor([0, 3, 0, 1]).nonzero()",
    ),
    *_group(
        "arithmetic",
        "a = torch.tensor([1.0, 2.0]); b = torch.tensor([3.0, 4.0]); out = a + b * 2 - 1",
        "a = torch.tensor([1.0, 2.0]); out = 1 / a",
        "a = torch.tensor([1.0, 2.0]); out = a ** 2",
        "a = torch.tensor([4.0, 9.0]); out = a.sqrt()",
        "a = torch.tensor([-1.5, 2.0]); out = a.abs()",
        "a = torch.tensor([1.0, 2.0]); out = torch.exp(a)",
        "a = torch.tensor([1.0, 2.0]); out = torch.log(a)",
        "a = torch.tensor([-2.0, 0.5, 3.0]); out = a.clamp(min=-1, max=1)",
        "a = torch.tensor([-2.0, 0.5, 3.0]); out = torch.clamp(a, 0)",
        "a = torch.ones(2, 3); b = torch.ones(3, 4); out = a @ b",
        "a = torch.ones(2, 3); b = torch.ones(3, 4); out = torch.matmul(a, b)",
        "a = torch.ones(5, 2, 3); b = torch.ones(5, 3, 4); out = torch.bmm(a, b)",
        "a = torch.ones(2, 3); b = torch.ones(3, 4); out = a.mm(b)",
        "a = torch.arange(6.0).reshape(2, 3); out = a * torch.tensor([1.0, 0.0, -1.0])",
        "a = torch.tensor([1.0, 2.0]); out = a == torch.tensor([1.0, 3.0])",
        "a = torch.tensor([1.0, 2.0]); out = (a > 1.5) & (a < 3)",
        "a = torch.tensor([1.0, 2.0]); out = torch.maximum(a, torch.tensor([1.5, 1.5]))",
        "a = torch.tensor([0.5, -0.5]); out = torch.sigmoid(a)",
        "a = torch.tensor([0.5, -0.5]); out = torch.tanh(a)",
        "a = torch.tensor([1.4, 2.6, -0.5]); out = (a.floor(), a.ceil(), a.round())",
        "a = torch.tensor([1.0, 2.0]); out = torch.allclose(a, a + 1e-9)",
        "a = torch.tensor([1.0, 2.0]); out = torch.equal(a, a.clone())",
        "a = torch.tensor([1.0, 2.0]); out = a.dot(a)",
        "out = torch.tensor([7, -7]) % 3",
    ),
    *_group(
        "reductions",
        "x = torch.arange(6.0).reshape(2, 3); out = x.sum()",
        "x = torch.arange(6.0).reshape(2, 3); out = x.sum(dim=0)",
        "x = torch.arange(6.0).reshape(2, 3); out = x.sum(1, keepdim=True)",
        "x = torch.arange(6.0).reshape(2, 3); out = x.mean()",
        "x = torch.arange(6.0).reshape(2, 3); out = x.mean(dim=(0, 1))",
        "x = torch.arange(6.0).reshape(2, 3); out = x.max()",
        "x = torch.arange(6.0).reshape(2, 3); out = x.max(dim=1)",
        "x = torch.arange(6.0).reshape(2, 3); out = x.max(dim=1).values",
        "x = torch.arange(6.0).reshape(2, 3); out = x.min(dim=0)[1]",
        "x = torch.arange(6.0).reshape(2, 3); out = x.std()",
        "x = torch.arange(6.0).reshape(2, 3); out = x.var(dim=1, unbiased=False)",
        "x = torch.arange(6.0).reshape(2, 3); out = x.prod()",
        "x = torch.arange(6.0).reshape(2, 3); out = x.cumsum(dim=1)",
        "x = torch.arange(6.0).reshape(2, 3); out = x.norm()",
        "x = torch.arange(6.0).reshape(2, 3); out = x.argmax()",
        "x = torch.arange(6).reshape(2, 3); out = x.sum().dtype",
        "x = torch.tensor([True, False, True]); out = x.sum()",
        "x = torch.tensor([1, 0, 2]); out = (x.any(), x.all())",
        "x = torch.tensor([2.0, 2.0, 1.0]); out = torch.unique(x)",
        "x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]); out = torch.logsumexp(x, dim=1)",
    ),
    *_group(
        "in-place",
        "x = torch.ones(3); x.add_(2); out = x",
        "x = torch.ones(3); x.mul_(torch.tensor([1.0, 2.0, 3.0])); out = x",
        "x = torch.ones(3); x += 1; out = x",
        "x = torch.ones(3); x *= 3; out = x",
        "x = torch.ones(2, 2); x.zero_(); out = x",
        "x = torch.ones(2, 2); x.fill_(0.5); out = x",
        "x = torch.tensor([-1.0, 2.0]); x.clamp_(min=0); out = x",
        "x = torch.zeros(3); x.copy_(torch.tensor([1.0, 2.0, 3.0])); out = x",
        "x = torch.tensor([-1.0, 2.0]); x.relu_(); out = x",
        "x = torch.ones(3); y = x.view(3); y.add_(1); out = x",
        "x = torch.ones(3, requires_grad=True)\nwith torch.no_grad():\n    x.sub_(0.5)\nout = x.detach()",
    ),
    *_group(
        "data, item, device",
        "x = torch.ones(2, requires_grad=True); out = x.data",
        "x = torch.ones(2, requires_grad=True); out = x.data.requires_grad",
        "x = torch.ones(2, requires_grad=True); x.data.mul_(3); out = x.detach()",
        "x = torch.ones(2); out = x.to('cpu')",
        "x = torch.ones(2); out = x.to(torch.device('cpu')).device",
        "x = torch.ones(2); out = x.cpu().device",
        "x = torch.ones(2); out = x.device.type",
        "out = torch.tensor([2.5]).item()",
        "out = torch.tensor(3).item()",
        "out = float(torch.tensor(2.5))",
        "out = int(torch.tensor(7))",
        "out = torch.ones(2, 3).numel()",
        "out = torch.ones(2, 3).dim()",
        "out = torch.ones(2, 3).size()",
        "out = torch.ones(2, 3).size(1)",
        "out = torch.ones(2, 3).ndim",
        "x = torch.ones(2); out = x.is_leaf",
        "out = torch.is_tensor(torch.ones(1))",
        "out = torch.ones(1).clone().contiguous()",
    ),
    *_group(
        "view / reshape",
        "x = torch.arange(6); out = x.view(2, 3)",
        "x = torch.arange(6); out = x.view(-1, 2)",
        "x = torch.arange(6); out = x.reshape(3, 2)",
        "x = torch.arange(24).reshape(2, 3, 4); out = x.permute(2, 0, 1).shape",
        "x = torch.arange(24).reshape(2, 3, 4); out = x.permute(2, 0, 1)",
        "x = torch.arange(6).reshape(2, 3); out = x.t()",
        "x = torch.arange(6).reshape(2, 3); out = x.T",
        "x = torch.arange(24).reshape(2, 3, 4); out = x.transpose(0, 2)",
        "x = torch.arange(6).reshape(2, 3); out = x.unsqueeze(0).shape",
        "x = torch.zeros(1, 3, 1); out = x.squeeze().shape",
        "x = torch.zeros(1, 3, 1); out = x.squeeze(0).shape",
        "x = torch.arange(24).reshape(2, 3, 4); out = x.flatten(1)",
        "x = torch.arange(24).reshape(2, 3, 4); out = torch.flatten(x)",
        "x = torch.arange(3); out = x.repeat(2, 2)",
        "x = torch.arange(3).reshape(3, 1); out = x.expand(3, 4)",
        "x = torch.arange(6); out = x.chunk(3)",
        "x = torch.arange(6); out = x.split(2)",
        "x = torch.arange(6); out = x.split([1, 5])",
        "x = torch.arange(6).reshape(2, 3); out = x.view(3, 2).contiguous().view(-1)",
        "x = torch.arange(6).reshape(2, 3); out = x.view_as(torch.zeros(3, 2))",
        "x = torch.arange(6).reshape(2, 3); out = x.unbind(0)",
        "x = torch.arange(6).reshape(2, 3); out = x.flip(1)",
    ),
    *_group(
        "autograd",
        "x = torch.tensor([1.0, 2.0], requires_grad=True); (x * x).sum().backward(); out = x.grad",
        "x = torch.tensor([1.0, 2.0], requires_grad=True); y = (x ** 3).mean(); y.backward(); out = x.grad",
        "w = torch.ones(2, 3, requires_grad=True); x = torch.arange(3.0)\n(w @ x).sum().backward()\nout = w.grad",
        "x = torch.tensor([1.0, 2.0], requires_grad=True)\nfor _ in range(2):\n    (x * 3).sum().backward()\n"
        "out = x.grad",
        "x = torch.tensor([1.0], requires_grad=True); x.sum().backward(); x.grad.zero_(); out = x.grad",
        "x = torch.tensor([1.0, 2.0], requires_grad=True)\nwith torch.no_grad():\n    y = x * 2\nout = y.requires_grad",
        "x = torch.ones(2); x.requires_grad_(); out = x.requires_grad",
        "x = torch.ones(2, requires_grad=True); out = x.detach().requires_grad",
        "x = torch.ones(2, requires_grad=True); y = x * 2; out = (y.is_leaf, y.requires_grad)",
        "x = torch.ones(2, requires_grad=True); y = x * 2; out = y.grad_fn is not None",
        "x = torch.tensor([2.0], requires_grad=True); y = x * x; y.retain_grad(); (y * 3).sum().backward()\n"
        "out = (x.grad, y.grad)",
        "x = torch.tensor([1.0, -1.0], requires_grad=True); y = x * 2; y.backward(torch.tensor([1.0, 0.5]))\n"
        "out = x.grad",
        "x = torch.tensor([3.0], requires_grad=True); y = x ** 2\nout = torch.autograd.grad(y.sum(), x)",
        "x = torch.ones(2, requires_grad=True)\nwith torch.set_grad_enabled(False):\n    y = x + 1\n"
        "out = y.requires_grad",
        "out = torch.is_grad_enabled()",
        "x = torch.tensor([0.5, -0.5], requires_grad=True)\nF.relu(x).sum().backward()\nout = x.grad",
        "x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)\nx.max().backward()\nout = x.grad",
        "@torch.no_grad()\ndef f(x):\n    return x * 2\nout = f(torch.ones(2, requires_grad=True)).requires_grad",
        "x = torch.ones(2, requires_grad=True)\ny = x.sum()\ny.backward()\nout = x.grad is not None and y.item()",
        "x = torch.ones(2, requires_grad=True)\ntry:\n    x.add_(1)\n    out = 'no error'\n"
        "except RuntimeError:\n    out = 'RuntimeError'",
    ),
    *_group(
        "nn layers (fixed weights)",
        "m = nn.Linear(3, 2); nn.init.constant_(m.weight, 0.5); nn.init.zeros_(m.bias); out = m(torch.ones(4, 3))",
        "m = nn.Linear(3, 2, bias=False)\nwith torch.no_grad():\n    m.weight.fill_(0.1)\n"
        "out = m(torch.arange(6.0).reshape(2, 3))",
        "m = nn.Conv2d(1, 1, 3, padding=1, bias=False); nn.init.ones_(m.weight)\n"
        "out = m(torch.arange(16.0).reshape(1, 1, 4, 4))",
        "m = nn.Conv2d(2, 4, 3, stride=2); nn.init.constant_(m.weight, 0.1); nn.init.constant_(m.bias, 1.0)\n"
        "out = m(torch.ones(1, 2, 7, 7))",
        "m = nn.BatchNorm2d(2); out = m(torch.arange(16.0).reshape(2, 2, 2, 2))",
        "m = nn.BatchNorm2d(2); m(torch.arange(16.0).reshape(2, 2, 2, 2)); out = (m.running_mean, m.running_var)",
        "m = nn.BatchNorm2d(2); m(torch.arange(16.0).reshape(2, 2, 2, 2)); out = m.num_batches_tracked",
        "m = nn.BatchNorm1d(3); out = m(torch.arange(12.0).reshape(4, 3))",
        "m = nn.MaxPool2d(2); out = m(torch.arange(16.0).reshape(1, 1, 4, 4))",
        "m = nn.MaxPool2d(3, stride=2, padding=1); out = m(torch.arange(25.0).reshape(1, 1, 5, 5))",
        "m = nn.AvgPool2d(2); out = m(torch.arange(16.0).reshape(1, 1, 4, 4))",
        "m = nn.AdaptiveAvgPool2d((1, 1)); out = m(torch.arange(32.0).reshape(1, 2, 4, 4))",
        "m = nn.Dropout(0.5); m.eval(); out = m(torch.ones(4))",
        "m = nn.Dropout(0.0); out = m(torch.ones(4))",
        "out = nn.ReLU()(torch.tensor([-1.0, 2.0]))",
        "out = nn.LeakyReLU(0.1)(torch.tensor([-1.0, 2.0]))",
        "out = nn.Sigmoid()(torch.tensor([0.0]))",
        "out = nn.Tanh()(torch.tensor([0.5]))",
        "out = nn.GELU()(torch.tensor([-1.0, 0.5]))",
        "out = nn.Softmax(dim=1)(torch.tensor([[1.0, 2.0, 3.0]]))",
        "out = nn.LogSoftmax(dim=1)(torch.tensor([[1.0, 2.0, 3.0]]))",
        "out = nn.Flatten()(torch.zeros(2, 3, 4, 5)).shape",
        "out = nn.Identity()(torch.ones(2))",
        "m = nn.Embedding(10, 3); nn.init.ones_(m.weight); out = m(torch.tensor([[1, 2], [3, 4]]))",
        "m = nn.Upsample(scale_factor=2, mode='nearest'); out = m(torch.arange(4.0).reshape(1, 1, 2, 2))",
        "m = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False)\n"
        "out = m(torch.arange(4.0).reshape(1, 1, 2, 2))",
        "m = nn.LayerNorm(4); out = m(torch.arange(8.0).reshape(2, 4))",
        "m = nn.GroupNorm(2, 4); out = m(torch.arange(32.0).reshape(2, 4, 2, 2))",
    ),
    *_group(
        "nn layers (random init: shapes)",
        "torch.manual_seed(0); out = nn.Linear(5, 3)(torch.ones(2, 5))",
        "torch.manual_seed(0); out = nn.Conv2d(3, 8, 3, padding=1)(torch.ones(2, 3, 8, 8))",
        "torch.manual_seed(0); out = nn.Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 1))(torch.ones(1, 3, 9, 9))",
        "torch.manual_seed(0); out = nn.Conv2d(4, 8, 3, groups=2, bias=False).weight",
        "torch.manual_seed(0); out = nn.Linear(5, 3).weight",
        "torch.manual_seed(0); out = nn.Linear(5, 3).bias",
        "torch.manual_seed(0); out = nn.Dropout(0.5)(torch.ones(100)).shape",
        "torch.manual_seed(0)\nm = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), "
        "nn.Linear(4 * 3 * 3, 10))\nout = m(torch.ones(2, 1, 8, 8))",
        "torch.manual_seed(0); out = nn.Embedding(10, 4)(torch.tensor([1, 2]))",
        "torch.manual_seed(0); out = nn.ConvTranspose2d(4, 2, 2, stride=2)(torch.ones(1, 4, 3, 3))",
        mode="shape",
    ),
    *_group(
        "containers",
        "m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)); out = len(m)",
        "m = nn.Sequential(nn.Linear(2, 3), nn.ReLU()); out = type(m[1]).__name__",
        "m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)); out = len(m[:2])",
        "import collections\nm = nn.Sequential(collections.OrderedDict([('fc', nn.Linear(2, 3)), ('act', "
        "nn.ReLU())]))\n"
        "out = [n for n, _ in m.named_children()]",
        "m = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)]); out = len(list(m.parameters()))",
        "m = nn.ModuleList([nn.Linear(2, 2)]); m.append(nn.ReLU()); out = len(m)",
        "m = nn.ModuleDict({'a': nn.Linear(2, 2), 'b': nn.ReLU()}); out = sorted(m.keys())",
        "m = nn.ModuleDict({'a': nn.Linear(2, 2)}); out = type(m['a']).__name__",
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n"
        "        self.blocks = nn.ModuleList([nn.Linear(4, 4)])\n    def forward(self, x):\n"
        "        for b in self.blocks:\n            x = F.relu(b(x))\n        return self.fc(x)\n"
        "out = [n for n, _ in Net().named_parameters()]",
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.register_buffer('scale', torch.ones(3))\n    def forward(self, x):\n"
        "        return x * self.scale\n"
        "out = (list(Net().state_dict()), Net()(torch.arange(3.0)))",
        "m = nn.Sequential(nn.Linear(2, 3), nn.ReLU()); out = [n for n, _ in m.named_modules()]",
        "m = nn.Linear(2, 3); out = 'Linear(in_features=2, out_features=3, bias=True)' == repr(m)",
        "m = nn.Conv2d(3, 8, 3); out = (m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)",
    ),
    *_group(
        "functional",
        "out = F.relu(torch.tensor([-1.0, 0.0, 2.0]))",
        "out = F.softmax(torch.tensor([[1.0, 2.0, 3.0]]), dim=1)",
        "out = F.log_softmax(torch.tensor([[1.0, 2.0, 3.0]]), dim=-1)",
        "out = F.cross_entropy(torch.tensor([[2.0, 0.5, 0.1], [0.1, 0.2, 3.0]]), torch.tensor([0, 2]))",
        "out = F.cross_entropy(torch.tensor([[2.0, 0.5], [0.1, 0.2]]), torch.tensor([0, 1]), reduction='none')",
        "out = F.cross_entropy(torch.tensor([[2.0, 0.5, 0.1]]), torch.tensor([1]), label_smoothing=0.1)",
        "out = F.cross_entropy(torch.tensor([[2.0, 0.5], [0.1, 0.2]]), torch.tensor([0, -100]), ignore_index=-100)",
        "out = F.nll_loss(F.log_softmax(torch.tensor([[2.0, 0.5, 0.1]]), dim=1), torch.tensor([1]))",
        "out = F.mse_loss(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 1.0]))",
        "out = F.l1_loss(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 1.0]))",
        "out = F.binary_cross_entropy(torch.tensor([0.8, 0.3]), torch.tensor([1.0, 0.0]))",
        "out = F.binary_cross_entropy_with_logits(torch.tensor([0.8, -0.3]), torch.tensor([1.0, 0.0]))",
        "out = F.interpolate(torch.arange(4.0).reshape(1, 1, 2, 2), scale_factor=2)",
        "out = F.interpolate(torch.arange(4.0).reshape(1, 1, 2, 2), size=(3, 3), mode='bilinear', align_corners=True)",
        "out = F.pad(torch.ones(1, 1, 2, 2), (1, 1, 0, 2))",
        "out = F.pad(torch.ones(1, 1, 2, 2), (1, 1, 1, 1), value=-1.0)",
        "out = F.one_hot(torch.tensor([0, 2, 1]))",
        "out = F.one_hot(torch.tensor([0, 2]), num_classes=4)",
        "out = F.normalize(torch.tensor([[3.0, 4.0], [1.0, 0.0]]), dim=1)",
        "out = F.max_pool2d(torch.arange(16.0).reshape(1, 1, 4, 4), 2)",
        "out = F.avg_pool2d(torch.arange(16.0).reshape(1, 1, 4, 4), 2)",
        "out = F.adaptive_avg_pool2d(torch.arange(16.0).reshape(1, 1, 4, 4), 1)",
        "out = F.conv2d(torch.ones(1, 1, 4, 4), torch.ones(2, 1, 3, 3), padding=1)",
        "out = F.linear(torch.ones(2, 3), torch.ones(4, 3), torch.zeros(4))",
        "out = F.dropout(torch.ones(4), p=0.5, training=False)",
        "out = F.sigmoid(torch.tensor([0.0, 1.0]))",
        "out = F.gelu(torch.tensor([0.0, 1.0]))",
        "out = F.leaky_relu(torch.tensor([-2.0, 1.0]), 0.2)",
        "out = F.batch_norm(torch.arange(8.0).reshape(4, 2), torch.zeros(2), torch.ones(2), training=False)",
        "out = torch.nn.functional.relu(torch.tensor([-1.0, 1.0]))",
    ),
    *_group(
        "module API",
        "m = nn.Linear(3, 2); out = [p.shape for p in m.parameters()]",
        "m = nn.Linear(3, 2); out = [n for n, p in m.named_parameters()]",
        "m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)); out = list(m.state_dict().keys())",
        "m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)); out = [n for n, _ in m.named_buffers()]",
        "a = nn.Linear(3, 2); b = nn.Linear(3, 2); b.load_state_dict(a.state_dict())\n"
        "out = torch.equal(a.weight, b.weight)",
        "a = nn.Linear(3, 2); r = a.load_state_dict(a.state_dict()); "
        "out = (list(r.missing_keys), list(r.unexpected_keys))",
        "a = nn.Linear(3, 2); sd = a.state_dict(); del sd['bias']\ntry:\n    a.load_state_dict(sd)\n"
        "    out = 'loaded'\nexcept RuntimeError:\n    out = 'RuntimeError'",
        "a = nn.Linear(3, 2); sd = a.state_dict(); del sd['bias']; "
        "out = list(a.load_state_dict(sd, strict=False).missing_keys)",
        "m = nn.Sequential(nn.Linear(2, 2), nn.Dropout()); m.eval(); out = (m.training, m[1].training)",
        "m = nn.Sequential(nn.Linear(2, 2), nn.Dropout()); m.eval(); m.train(); out = m[1].training",
        "m = nn.Linear(2, 2); out = m.to('cpu') is m",
        "m = nn.Linear(2, 2); m.to(torch.float64); out = m.weight.dtype",
        "m = nn.Linear(2, 2).double(); out = m(torch.ones(1, 2, dtype=torch.float64)).dtype",
        "m = nn.Linear(2, 2); m(torch.ones(1, 2)).sum().backward(); m.zero_grad(); out = m.weight.grad",
        "m = nn.Linear(2, 2)\ndef init(mod):\n    if isinstance(mod, nn.Linear):\n        nn.init.zeros_(mod.weight)\n"
        "out = m.apply(init) is m and m.weight.abs().sum().item()",
        "m = nn.Linear(2, 2)\nfor p in m.parameters():\n    p.requires_grad = False\n"
        "out = [p.requires_grad for p in m.parameters()]",
        "m = nn.Linear(2, 2); m.requires_grad_(False); out = m.weight.requires_grad",
        "m = nn.Linear(3, 2); out = sum(p.numel() for p in m.parameters())",
        "m = nn.Linear(3, 2); out = isinstance(m.weight, nn.Parameter)",
        "p = nn.Parameter(torch.ones(2)); out = (p.requires_grad, type(p).__name__)",
        "m = nn.Linear(3, 2); out = m.weight.device",
        "m = nn.Sequential(nn.Linear(3, 2)); out = [type(c).__name__ for c in m.children()]",
        "m = nn.Linear(3, 2); m.weight.data.fill_(1.0); out = m.weight.detach()",
        "m = nn.Linear(3, 2); out = m.weight.grad is None",
        "m = nn.Linear(3, 2); out = hasattr(m, 'forward') and callable(m)",
    ),
    *_group(
        "optimizers",
        "w = torch.tensor([1.0, -2.0], requires_grad=True); opt = optim.SGD([w], lr=0.1, momentum=0.9)\n"
        "for _ in range(3):\n    opt.zero_grad(); (w ** 2).sum().backward(); opt.step()\nout = w.detach()",
        "w = torch.tensor([1.0, -2.0], requires_grad=True); opt = optim.Adam([w], lr=0.1)\n"
        "for _ in range(3):\n    opt.zero_grad(); (w ** 2).sum().backward(); opt.step()\nout = w.detach()",
        "w = torch.tensor([1.0, -2.0], requires_grad=True); opt = optim.AdamW([w], lr=0.1, weight_decay=0.1)\n"
        "for _ in range(3):\n    opt.zero_grad(); (w ** 2).sum().backward(); opt.step()\nout = w.detach()",
        "w = torch.tensor([1.0, -2.0], requires_grad=True); opt = optim.RMSprop([w], lr=0.01)\n"
        "for _ in range(3):\n    opt.zero_grad(); (w ** 2).sum().backward(); opt.step()\nout = w.detach()",
        "w = torch.tensor([1.0, -2.0], requires_grad=True); opt = optim.Adagrad([w], lr=0.1)\n"
        "for _ in range(3):\n    opt.zero_grad(); (w ** 2).sum().backward(); opt.step()\nout = w.detach()",
        "w = torch.tensor([1.0, -2.0], requires_grad=True); opt = optim.NAdam([w])\n"
        "for _ in range(3):\n    opt.zero_grad(); (w ** 2).sum().backward(); opt.step()\nout = w.detach()",
        "m = nn.Linear(2, 1); opt = optim.SGD(m.parameters(), lr=0.1); out = opt.param_groups[0]['lr']",
        "m = nn.Linear(2, 1); opt = optim.SGD([{'params': m.weight}, {'params': m.bias, 'lr': 0.01}], lr=0.1)\n"
        "out = [g['lr'] for g in opt.param_groups]",
        "w = torch.tensor([1.0], requires_grad=True); opt = optim.Adam([w]); (w * 2).sum().backward(); opt.step()\n"
        "out = sorted(opt.state_dict()['state'][0].keys())",
        "w = torch.tensor([1.0], requires_grad=True); opt = optim.SGD([w], lr=0.1)\n"
        "sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)\nlrs = []\nfor _ in range(5):\n"
        "    opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])\nout = lrs",
        "w = torch.tensor([1.0], requires_grad=True); opt = optim.SGD([w], lr=0.1)\n"
        "sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)\nlrs = []\nfor _ in range(5):\n"
        "    opt.step(); sched.step(); lrs.append(opt.param_groups[0]['lr'])\nout = lrs",
        "w = torch.tensor([1.0], requires_grad=True); opt = optim.SGD([w], lr=0.1, momentum=0.9)\n"
        "sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=6)\nlrs = []\nfor _ in range(5):\n"
        "    opt.step(); sched.step(); lrs.append((sched.get_last_lr()[0], opt.param_groups[0]['momentum']))\n"
        "out = lrs",
        "w = torch.tensor([1.0], requires_grad=True); opt = optim.SGD([w], lr=0.1)\n"
        "sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)\nfor loss in [1.0, 1.0, 1.0, 1.0]:\n"
        "    sched.step(loss)\nout = opt.param_groups[0]['lr']",
        "w = torch.tensor([1.0], requires_grad=True); opt = optim.SGD([w], lr=0.1)\n"
        "s = optim.lr_scheduler.SequentialLR(opt, [optim.lr_scheduler.LinearLR(opt, 0.1, total_iters=2), "
        "optim.lr_scheduler.ExponentialLR(opt, 0.9)], [2])\nfor _ in range(4):\n    opt.step(); s.step()\n"
        "out = s.get_last_lr()",
        "m = nn.Linear(2, 1); opt = optim.SGD(m.parameters(), lr=0.1)\n"
        "torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)\nm(torch.ones(1, 2)).sum().backward()\n"
        "out = torch.nn.utils.clip_grad_norm_(m.parameters(), max_norm=0.5)",
    ),
    *_group(
        "save / load",
        "torch.save({'w': torch.arange(3.0)}, path); out = torch.load(path)",
        "m = nn.Linear(2, 2); torch.save(m.state_dict(), path); m2 = nn.Linear(2, 2)\n"
        "m2.load_state_dict(torch.load(path)); out = torch.equal(m.weight, m2.weight)",
        "m = nn.Linear(2, 2); torch.save(m.state_dict(), path); out = list(torch.load(path, map_location='cpu'))",
        "torch.save({'epoch': 3, 'lr': 0.1, 'w': torch.ones(2)}, path); ck = torch.load(path); "
        "out = (ck['epoch'], ck['lr'])",
        "w = torch.tensor([1.0], requires_grad=True); opt = optim.Adam([w]); (w * 2).sum().backward(); opt.step()\n"
        "torch.save(opt.state_dict(), path); opt2 = optim.Adam([w]); opt2.load_state_dict(torch.load(path))\n"
        "out = opt2.state_dict()['state'][0]['exp_avg']",
        "torch.save(torch.arange(4), path); out = torch.load(path, weights_only=True)",
    ),
    *_group(
        "torch.utils.data",
        "from torch.utils.data import TensorDataset\nds = TensorDataset(torch.arange(10.0), torch.arange(10))\n"
        "out = (len(ds), ds[3])",
        "from torch.utils.data import TensorDataset, DataLoader\n"
        "ds = TensorDataset(torch.arange(10.0).reshape(5, 2), torch.arange(5))\n"
        "out = [y for _, y in DataLoader(ds, batch_size=2)]",
        "from torch.utils.data import TensorDataset, DataLoader\nds = TensorDataset(torch.arange(10.0))\n"
        "out = len(DataLoader(ds, batch_size=3, drop_last=True))",
        "from torch.utils.data import TensorDataset, DataLoader\ntorch.manual_seed(0)\n"
        "ds = TensorDataset(torch.arange(10.0))\nout = sorted(torch.cat([b[0] for b in DataLoader(ds, batch_size=4, "
        "shuffle=True)]).tolist())",
        "from torch.utils.data import TensorDataset, random_split\nds = TensorDataset(torch.arange(10.0))\n"
        "a, b = random_split(ds, [7, 3], generator=torch.Generator().manual_seed(0)); out = (len(a), len(b))",
        "from torch.utils.data import Dataset, DataLoader\nclass Sq(Dataset):\n    def __len__(self):\n"
        "        return 6\n"
        "    def __getitem__(self, i):\n        return torch.tensor([float(i)]), i * i\n"
        "out = [b for b in DataLoader(Sq(), batch_size=4)]",
        "from torch.utils.data import TensorDataset, Subset\nds = TensorDataset(torch.arange(10.0))\n"
        "out = Subset(ds, [1, 5])[1]",
        "import torch.utils.data as tud\nout = len(tud.ConcatDataset([tud.TensorDataset(torch.ones(2)), "
        "tud.TensorDataset(torch.ones(3))]))",
        "from torch.utils.data import DataLoader\nout = list(DataLoader([1, 2, 3, 4, 5], batch_size=2))",
    ),
    *_group(
        "devices",
        "out = torch.cuda.is_available()",
        "out = torch.device('cpu')",
        "out = str(torch.device('cuda' if torch.cuda.is_available() else 'cpu'))",
        "out = torch.device('cuda:0').index",
        "dev = torch.device('cpu'); m = nn.Linear(2, 2).to(dev); out = m(torch.ones(1, 2, device=dev)).device",
        "out = torch.ones(2, device='cpu').device",
        "out = torch.cuda.device_count()",
        "out = torch.backends.mps.is_available()",
    ),
    *_group(
        "index and scan ops",
        "x = torch.arange(12.0).reshape(3, 4); out = torch.gather(x, 0, torch.tensor([[2, 0, 1, 1]]))",
        "x = torch.arange(6.0); out = x.masked_select(x > 2)",
        "x = torch.zeros(2, 4); out = x.scatter(1, torch.tensor([[3], [0]]), torch.ones(2, 1))",
        "x = torch.zeros(5); out = x.scatter_add(0, torch.tensor([0, 1, 1, 4]), torch.ones(4))",
        "out = torch.where(torch.tensor([[0, 1], [1, 0]]) > 0)",
        "out = torch.tensor([[0, 1], [2, 0]]).count_nonzero()",
        "x = torch.arange(1.0, 7.0).reshape(2, 3); out = x.prod(dim=1, keepdim=True)",
        "x = torch.arange(1.0, 5.0); out = torch.cumprod(x, 0)",
        "out = torch.logsumexp(torch.tensor([1000.0, 1000.0]), 0)",
        "x = torch.arange(6).reshape(2, 3); out = torch.roll(x, 1, 1)",
        "x = torch.arange(6).reshape(2, 3); out = torch.flip(x, [0, 1])",
        "a = torch.arange(6.0).reshape(2, 3); b = torch.ones(3, 2); out = torch.einsum('ij,jk->ik', a, b)",
        "out = torch.einsum('ii->', torch.arange(9.0).reshape(3, 3))",
        "out = torch.outer(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0, 5.0]))",
        "x = torch.tensor([-2.0, 0.5, 3.0]); out = x.clamp(torch.tensor([-1.0, 1.0, 0.0]), torch.tensor(2.0))",
        "out = torch.tensor([True, False]) + 1",
        "out = torch.tensor([1, 2], dtype=torch.int32) * torch.tensor(2.5, dtype=torch.float64)",
        "x = torch.arange(3.0, requires_grad=True); x.cumsum(0).sum().backward(); out = x.grad",
        "x = torch.tensor([2.0, 0.0, 3.0], requires_grad=True); x.prod().backward(); out = x.grad",
    ),
    *_group(
        "random",
        "g = torch.Generator().manual_seed(0); out = torch.randn(2, 3, generator=g)",
        "g = torch.Generator().manual_seed(0); out = torch.randperm(5, generator=g)",
        mode="shape",
    ),
    *_group(
        "optimizers",
        "bn = nn.BatchNorm1d(2); xs = [torch.arange(6.0).reshape(3, 2), torch.arange(8.0).reshape(4, 2) ** 2]\n"
        "optim.swa_utils.update_bn(xs, bn)\nout = (bn.running_mean, bn.running_var, bn.num_batches_tracked)",
    ),
]
