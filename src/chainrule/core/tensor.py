"""Tensor: a NumPy array that remembers the op that created it, so gradients can flow back.

The kernel's Tensor knows only autodiff (data, grad, the creating op, hooks, versions). Its op
methods (``x + y``, ``x.sum(dim)``, ``x.reshape``, ...) are installed on it from above by the
op registry (chainrule/ops/registry.py), the way JAX installs array methods on its tracer.
"""

import numpy as np

from chainrule.core import backend as _backend
from chainrule.core import mode as _mode

_new = object.__new__
_state = _mode.state


class Size(tuple):
    """A tensor's shape, as PyTorch's torch.Size: a tuple of ints with numel()."""

    __slots__ = ()

    def numel(self):
        """Product of the dimensions."""
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self):
        return f"Size({list(self)})"

    __str__ = tuple.__repr__  # in messages and print: (3, 2), as every shape in chainrule


class _SizeMethod(int):
    """Tensor.size: an int (the element count, as NumPy's .size) that can be called as torch's
    size(): size() is the shape as a Size, size(d) the length of dim d."""

    def __new__(cls, array):
        n = int.__new__(cls, array.size)
        n._shape = array.shape
        return n

    def __call__(self, dim=None):
        return Size(self._shape) if dim is None else self._shape[dim]


class Tensor:
    """An n-dimensional array with reverse-mode autodiff.

    `grad` is the accumulated gradient (a Tensor) after `backward()`; `grad_fn` the op that
    created it (None for leaves); `data` the same values detached from the graph.
    """

    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_index", "_version", "_extra",
                 "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operators
    __hash__ = object.__hash__  # == is elementwise, identity hashing keeps tensors usable as keys

    def __init__(self, data, dtype=None, requires_grad=False):
        self._data = as_array(data, dtype)
        if _backend.DEFAULT is not None and type(self._data) is np.ndarray:  # torch's default
            self._data = _backend.DEFAULT[0].from_host(self._data, _backend.DEFAULT[1])
        self.grad = None
        self.grad_fn = None
        self._index = 0
        self._version = None
        self._extra = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @property
    def data(self):
        """The same values (the same memory), detached from the graph, as PyTorch's .data."""
        return detach(self)

    @data.setter
    def data(self, value):
        a = as_array(value, None)
        if type(value) is np.ndarray and type(self._data) is not np.ndarray:
            a = _backend.to_like(a, self._data)  # NumPy values join the tensor's device (a
        self._data = a  # Tensor's data is adopted with its device, as torch's .data = t)
        bump_version(self)

    shape = property(lambda self: Size(self._data.shape), doc="Dimensions, a Size (a tuple).")
    ndim = property(lambda self: self._data.ndim, doc="Number of dimensions.")
    dtype = property(lambda self: self._data.dtype, doc="NumPy dtype of the data.")
    is_leaf = property(lambda self: self.grad_fn is None, doc="True when no op created this.")

    @property
    def size(self):
        """torch's size: x.size() is the shape (a Size), x.size(d) the length of dim d; read as
        a number without calling it (NumPy's habit), it is the element count."""
        return _SizeMethod(self._data)

    def numel(self): return self._data.size
    def dim(self): return self._data.ndim
    def item(self): return _item(_read(self, ".item()"))
    def numpy(self, force=False): return _host(_read(self, ".numpy()"), force)
    def tolist(self): return _read(self, ".tolist()")._data.tolist()
    def detach(self): return detach(self)
    def requires_grad_(self, requires_grad=True): return _set_requires_grad(self, requires_grad)
    def retain_grad(self): return _retain_grad(self)

    def register_hook(self, hook):
        """hook(grad) -> new grad or None, run when this tensor's gradient is computed."""
        return _add_hook(self, "hooks", hook)

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor), run after backward() accumulated into this leaf's .grad (PyTorch)."""
        if self.grad_fn is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors have an "
                               "accumulated .grad")
        return _add_hook(self, "post_accumulate_hooks", hook)

    def backward(self, gradient=None, retain_graph=False, create_graph=False, inputs=None):
        """Accumulate d self / d leaf into every leaf's `.grad` (PyTorch semantics)."""
        from chainrule.core.engine import backward  # (engine imports this module)

        backward(self, gradient, retain_graph, create_graph, inputs)

    def __repr__(self): return _repr(self)
    def __len__(self): return len(self._data)
    def __bool__(self): return bool(_read(self, "bool()")._data)
    def __float__(self): return float(_read(self, "float()")._data)
    def __int__(self): return int(_read(self, "int()")._data)
    def __index__(self): return _index(_read(self, "an index")._data)
    def __array__(self, dtype=None, copy=None):
        return np.asarray(_host(_read(self, "np.asarray()"), False), dtype=dtype)
    def __iter__(self): return (self[i] for i in range(len(self)))

    def __format__(self, spec):
        if not spec:
            return repr(self)
        if self._data.size != 1:
            raise TypeError(f"format: only a tensor with one element takes the format spec "
                            f"{spec!r}; got shape {self._data.shape}")
        return format(self.item(), spec)


def as_array(data, dtype=None):
    """ndarray from data: Python floats take the default dtype, ints/bools stay integral/bool,
    NumPy arrays and NumPy scalars keep their dtype; non-numeric data is refused."""
    if isinstance(data, Tensor):
        data = data._data
    if type(data) in _backend.DEVICE_TYPES:  # a device array stays on its device
        if data.dtype.kind not in "biufc":
            raise TypeError(f"tensor: cannot build a numeric tensor from an array of dtype "
                            f"{data.dtype}; convert it to a number dtype first")
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"tensor: cannot build a numeric tensor from an array of dtype "
                            f"{arr.dtype}; convert it to a number dtype first")
        return arr if dtype is None or arr.dtype == dtype else arr.astype(dtype)
    if dtype is None:
        arr = np.asarray(data)
        if arr.dtype.kind == "f":
            arr = arr.astype(_state.default_dtype)
        elif arr.dtype.kind not in "biuc":
            raise TypeError(f"tensor: cannot build a numeric tensor from {type(data).__name__} "
                            f"(NumPy dtype {arr.dtype})")
        return arr
    return np.asarray(data, dtype=dtype)


def from_array(data, grad_fn=None, index=0):
    """The Tensor of an ndarray, with no checks or copy (op outputs): `grad_fn` created it as
    its output number `index`."""
    t = _new(Tensor)
    t._data = data
    t.grad = None
    t.requires_grad = grad_fn is not None
    t.grad_fn = grad_fn
    t._index = index
    t._version = None
    t._extra = None
    return t


def share_version(view, base):
    """Give `view` the version counter of `base`: a write through either is seen by both."""
    if base._version is None:
        base._version = [0]
    view._version = base._version
    return view


def detach(x):
    """A tensor sharing x's data and version counter, cut off from the graph."""
    return share_version(from_array(x._data), x)


def bump_version(t):
    """Record an in-place write: every graph node recorded before now can no longer use t."""
    v = t._version
    if v is None:
        t._version = [_mode.tick()]
    else:
        v[0] = _mode.tick()


def extra(t):
    """t's dict of rarely used attributes (hooks, retain_grad, grad sink), created on demand."""
    if t._extra is None:
        t._extra = {}
    return t._extra


def _set_requires_grad(t, requires_grad):
    if not requires_grad and t.grad_fn is not None:
        raise RuntimeError("requires_grad_: cannot turn off requires_grad of a non-leaf tensor "
                           f"(created by {type(t.grad_fn).__name__}); use .detach()")
    if requires_grad and t._data.dtype.kind not in "fc":
        raise TypeError("requires_grad_: only floating-point tensors can require gradients; "
                        f"got dtype {t._data.dtype}")
    t.requires_grad = bool(requires_grad)
    return t


def _retain_grad(t):
    if t.grad_fn is not None:
        extra(t)["retains_grad"] = True
    elif not t.requires_grad:
        raise RuntimeError("retain_grad: the tensor does not require grad")
    return t


class _HookHandle:
    """Returned by register_hook; `remove()` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _add_hook(t, kind, hook):
    if not t.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that does not "
                           "require grad")
    hooks = extra(t).setdefault(kind, [])
    hooks.append(hook)
    return _HookHandle(hooks, hook)


def _read(t, what):
    """t, after the interceptors saw its value leave the graph as a Python value."""
    for i in _state.interceptors:
        i.read(t, what)
    if _backend.PENDING:
        _backend.raise_pending()
    return t


def _host(t, force):
    """t's data as a NumPy array; a device tensor is refused (torch: use .cpu() first) unless
    force=True (torch's numpy(force=True) copies it to the host)."""
    a = t._data
    if type(a) is np.ndarray or type(a) not in _backend.DEVICE_TYPES:
        return a
    b = _backend.backend_of(a)
    if not force and not b.lenient:
        raise TypeError(f"numpy: the tensor is on device {b.name!r}; copy it to the host with "
                        ".cpu() first (t.cpu().numpy())")
    return _backend.to_host(a)


def _index(a):
    if type(a) is np.ndarray:
        return a.__index__()
    if a.size != 1 or a.dtype.kind not in "biu":
        raise TypeError("only integer tensors of a single element can be converted to an index")
    return int(a.item())


def _item(t):
    if t._data.size != 1:
        raise ValueError(f"item: only a tensor with one element can be converted to a Python "
                         f"scalar; got shape {t._data.shape}")
    return t._data.item()


def _repr(t):
    a = t._data
    dev = None
    if type(a) in _backend.DEVICE_TYPES:
        dev = _backend.describe(a)
        a = _backend.to_host(a)
    body = np.array2string(a, separator=", ", prefix="tensor(", precision=4)
    extras = [] if dev is None else [f"device='{dev}'"]
    if t._data.dtype != _state.default_dtype and t._data.dtype.kind == "f":
        extras.append(f"dtype={t._data.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
