"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict, plus the shape-only layers Identity and Flatten."""
from __future__ import annotations

from collections import OrderedDict

from ..ops import flatten
from .module import Module, Parameter


class Sequential(Module):
    """Apply modules in order. Indexable (``seq[0]``), sliceable (``seq[1:3]``) and iterable.

    Accepts modules positionally or one ``OrderedDict`` of name -> module.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (OrderedDict, dict)):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[idx][1]

    def __setitem__(self, idx, module):
        key = list(self._modules)[idx]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for k in (keys[idx] if isinstance(idx, slice) else [keys[idx]]):
            del self._modules[k]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class ModuleList(Module):
    """A list of modules whose parameters are registered (``layers.0.weight`` ...).

    Supports ``append``, ``extend``, ``insert``, ``pop``, indexing (negative too), slicing (a new
    ``ModuleList``), ``del``, ``len``, iteration and ``+`` / ``+=`` as ``torch.nn.ModuleList``.
    Keys stay ``0..len-1`` after an insert or delete, as torch's.
    """

    def __init__(self, modules=None):
        super().__init__()
        for m in modules or []:
            self.append(m)

    def _index(self, idx):
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"ModuleList: index {idx} is out of range for a list of {n} modules")
        return idx % n

    def _renumber(self, modules):
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        vals = list(self._modules.values())
        vals.insert(index, module)
        self._renumber(vals)

    def pop(self, idx=-1):
        m = self[idx]
        del self[idx]
        return m

    def __getitem__(self, idx):
        vals = list(self._modules.values())
        return ModuleList(vals[idx]) if isinstance(idx, slice) else vals[self._index(idx)]

    def __setitem__(self, idx, module):
        self.add_module(str(self._index(idx)), module)

    def __delitem__(self, idx):
        vals = list(self._modules.values())
        if isinstance(idx, slice):
            del vals[idx]
        else:
            del vals[self._index(idx)]
        self._renumber(vals)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __iadd__(self, modules):
        return self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """An ordered dict of modules whose parameters are registered (``heads.cls.weight`` ...),
    as ``torch.nn.ModuleDict``: ``md[key]``, ``md[key] = m``, ``del``, ``in``, ``keys/values/items``,
    ``update``, ``pop``, ``clear``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        return self._modules.pop(key)

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self[k] = m


class ParameterList(Module):
    """A list of Parameters registered under ``0, 1, ...`` (``plist.0`` in ``state_dict``), as
    ``torch.nn.ParameterList``. A plain tensor or array appended becomes a Parameter."""

    def __init__(self, values=None):
        super().__init__()
        for v in values or []:
            self.append(v)

    def append(self, value):
        self.register_parameter(str(len(self._parameters)), _as_parameter(value))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def __getitem__(self, idx):
        vals = list(self._parameters.values())
        if isinstance(idx, slice):
            return ParameterList(vals[idx])
        n = len(vals)
        if not -n <= idx < n:
            raise IndexError(f"ParameterList: index {idx} is out of range for a list of {n} parameters")
        return vals[idx % n]

    def __setitem__(self, idx, value):
        n = len(self._parameters)
        if not -n <= idx < n:
            raise IndexError(f"ParameterList: index {idx} is out of range for a list of {n} parameters")
        self.register_parameter(str(idx % n), _as_parameter(value))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())


class ParameterDict(Module):
    """An ordered dict of Parameters (``pdict.<key>`` in ``state_dict``), as
    ``torch.nn.ParameterDict``. A plain tensor or array stored becomes a Parameter."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return self._parameters[key]

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter(value))

    def __delitem__(self, key):
        del self._parameters[key]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key):
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def pop(self, key):
        return self._parameters.pop(key)

    def update(self, parameters):
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for k, v in items:
            self[k] = v


def _as_parameter(value):
    if value is None or isinstance(value, Parameter):
        return value
    return Parameter(value)


class Identity(Module):
    """Return the input unchanged (placeholder when replacing a classifier head)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim``: ``(N, C, H, W) -> (N, C*H*W)`` by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: ``(N, C*H*W) -> (N, C, H, W)`` (inverse of Flatten).

    Example:
        >>> import convnet as cn
        >>> Unflatten(1, (2, 5))(cn.zeros(3, 10)).shape
        (3, 2, 5)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        dim = self.dim % x.ndim if -x.ndim <= self.dim < x.ndim else None
        if dim is None:
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for an input with {x.ndim} dims")
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
