"""Tensor: a NumPy array that remembers the op that created it, so gradients can flow back."""

import numpy as np

from chainrule.core import mode as _mode

_new = object.__new__


class Tensor:
    """An n-dimensional array with reverse-mode autodiff.

    `data` is the ndarray; `grad` the accumulated gradient (a Tensor) after `backward()`;
    `grad_fn` the op that created it (None for leaves). Every method below is one line that
    delegates to `chainrule.ops`, so this class body is the table of contents of the API.
    """

    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_index", "_vc", "_extra",
                 "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operators
    __hash__ = object.__hash__  # == is elementwise, identity hashing keeps tensors usable as keys

    def __init__(self, data, dtype=None, requires_grad=False):
        self._data = as_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self._index = 0
        self._vc = None
        self._extra = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- data and metadata ---------------------------------------------------------------
    @property
    def data(self):
        """The underlying ndarray (writing to it bypasses autodiff, as in PyTorch)."""
        return self._data

    @data.setter
    def data(self, value):
        self._data = as_array(value, None)
        _bump_version(self)

    shape = property(lambda self: self._data.shape, doc="Tuple of dimensions.")
    ndim = property(lambda self: self._data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self._data.size, doc="Number of elements.")
    dtype = property(lambda self: self._data.dtype, doc="NumPy dtype of the data.")
    is_leaf = property(lambda self: self.grad_fn is None, doc="True when no op created this.")
    T = property(lambda self: _ops.permute(self, tuple(range(self.ndim - 1, -1, -1))),
                 doc="All axes reversed (NumPy's .T).")
    mT = property(lambda self: _ops.swapaxes(self, -1, -2), doc="Last two axes swapped.")

    def numel(self): return self._data.size
    def dim(self): return self._data.ndim
    def item(self): return _item(_read(self, ".item()"))
    def numpy(self): return _read(self, ".numpy()")._data
    def tolist(self): return _read(self, ".tolist()")._data.tolist()
    def detach(self): return _ops.detach(self)
    def clone(self): return _ops.clone(self)
    def astype(self, dtype): return _ops.astype(self, dtype)
    def float(self): return _ops.astype(self, np.float32)
    def double(self): return _ops.astype(self, np.float64)
    def requires_grad_(self, requires_grad=True): return _set_requires_grad(self, requires_grad)
    def retain_grad(self): return _retain_grad(self)
    def register_hook(self, hook): return _register_hook(self, hook)

    def backward(self, gradient=None, retain_graph=False, create_graph=False, inputs=None):
        """Accumulate d self / d leaf into every leaf's `.grad` (PyTorch semantics)."""
        _engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def __repr__(self): return _repr(self)
    def __len__(self): return len(self._data)
    def __bool__(self): return bool(_read(self, "bool()")._data)
    def __float__(self): return float(_read(self, "float()")._data)
    def __int__(self): return int(_read(self, "int()")._data)
    def __index__(self): return _read(self, "an index")._data.__index__()
    def __array__(self, dtype=None, copy=None):
        return np.asarray(_read(self, "np.asarray()")._data, dtype=dtype)
    def __iter__(self): return (self[i] for i in range(len(self)))

    # ---- arithmetic (ops/arithmetic.py) --------------------------------------------------
    def __add__(self, other): return _ops.add(self, other)
    def __radd__(self, other): return _ops.add(other, self)
    def __sub__(self, other): return _ops.sub(self, other)
    def __rsub__(self, other): return _ops.sub(other, self)
    def __mul__(self, other): return _ops.mul(self, other)
    def __rmul__(self, other): return _ops.mul(other, self)
    def __truediv__(self, other): return _ops.div(self, other)
    def __rtruediv__(self, other): return _ops.div(other, self)
    def __pow__(self, other): return _ops.pow(self, other)
    def __rpow__(self, other): return _ops.pow(other, self)
    def __neg__(self): return _ops.neg(self)
    def __pos__(self): return self
    def __matmul__(self, other): return _ops.matmul(self, other)
    def __rmatmul__(self, other): return _ops.matmul(other, self)
    def __abs__(self): return _ops.abs(self)
    def add(self, other): return _ops.add(self, other)
    def sub(self, other): return _ops.sub(self, other)
    def mul(self, other): return _ops.mul(self, other)
    def div(self, other): return _ops.div(self, other)
    def pow(self, other): return _ops.pow(self, other)
    def neg(self): return _ops.neg(self)
    def matmul(self, other): return _ops.matmul(self, other)

    # ---- comparisons: not differentiable (ops/compare.py) -------------------------------
    def __eq__(self, other): return _ops.eq(self, other)
    def __ne__(self, other): return _ops.ne(self, other)
    def __lt__(self, other): return _ops.lt(self, other)
    def __le__(self, other): return _ops.le(self, other)
    def __gt__(self, other): return _ops.gt(self, other)
    def __ge__(self, other): return _ops.ge(self, other)
    def argmax(self, axis=None, keepdims=False): return _ops.argmax(self, axis, keepdims)
    def argmin(self, axis=None, keepdims=False): return _ops.argmin(self, axis, keepdims)
    def sign(self): return _ops.sign(self)

    # ---- elementwise (ops/elementwise.py, ops/special.py) --------------------------------
    def abs(self): return _ops.abs(self)
    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def log1p(self): return _ops.log1p(self)
    def expm1(self): return _ops.expm1(self)
    def sqrt(self): return _ops.sqrt(self)
    def square(self): return _ops.square(self)
    def sin(self): return _ops.sin(self)
    def cos(self): return _ops.cos(self)
    def tanh(self): return _ops.tanh(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def relu(self): return _ops.relu(self)
    def leaky_relu(self, negative_slope=0.01): return _ops.leaky_relu(self, negative_slope)
    def elu(self, alpha=1.0): return _ops.elu(self, alpha)
    def softplus(self, beta=1.0): return _ops.softplus(self, beta)
    def gelu(self, approximate="none"): return _ops.gelu(self, approximate)
    def erf(self): return _ops.erf(self)
    def clip(self, min=None, max=None): return _ops.clip(self, min, max)
    clamp = clip
    def maximum(self, other): return _ops.maximum(self, other)
    def minimum(self, other): return _ops.minimum(self, other)

    # ---- reductions (ops/reduction.py) ---------------------------------------------------
    def sum(self, axis=None, keepdims=False): return _ops.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops.mean(self, axis, keepdims)
    def var(self, axis=None, correction=1, keepdims=False):
        return _ops.var(self, axis, correction, keepdims)
    def std(self, axis=None, correction=1, keepdims=False):
        return _ops.std(self, axis, correction, keepdims)
    def max(self, axis=None, keepdims=False): return _ops.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _ops.min(self, axis, keepdims)
    def logsumexp(self, axis=None, keepdims=False): return _ops.logsumexp(self, axis, keepdims)
    def cumsum(self, axis=-1): return _ops.cumsum(self, axis)
    def softmax(self, axis=-1): return _ops.softmax(self, axis)
    def log_softmax(self, axis=-1): return _ops.log_softmax(self, axis)

    # ---- shape (ops/shape.py) ------------------------------------------------------------
    def reshape(self, *shape): return _ops.reshape(self, *shape)
    view = reshape
    def flatten(self, start_dim=0, end_dim=-1): return _ops.flatten(self, start_dim, end_dim)
    def transpose(self, dim0=-2, dim1=-1): return _ops.swapaxes(self, dim0, dim1)
    def permute(self, *dims): return _ops.permute(self, *dims)
    def squeeze(self, axis=None): return _ops.squeeze(self, axis)
    def unsqueeze(self, axis): return _ops.unsqueeze(self, axis)
    def broadcast_to(self, shape): return _ops.broadcast_to(self, shape)
    expand = broadcast_to
    def split(self, split_size_or_sections, axis=0):
        return _ops.split(self, split_size_or_sections, axis)
    def pad(self, pad_width, value=0.0): return _ops.pad(self, pad_width, value)
    def __getitem__(self, index): return _ops.getitem(self, index)

    # ---- in-place (ops/inplace.py): never recorded; refused where autodiff needs the value
    def __setitem__(self, index, value): _ops.setitem_(self, index, value)
    def __iadd__(self, other): return _ops.add_(self, other)
    def __isub__(self, other): return _ops.sub_(self, other)
    def __imul__(self, other): return _ops.mul_(self, other)
    def __itruediv__(self, other): return _ops.div_(self, other)
    def add_(self, other, alpha=1): return _ops.add_(self, other, alpha)
    def sub_(self, other, alpha=1): return _ops.sub_(self, other, alpha)
    def mul_(self, other): return _ops.mul_(self, other)
    def div_(self, other): return _ops.div_(self, other)
    def copy_(self, src): return _ops.copy_(self, src)
    def fill_(self, value): return _ops.fill_(self, value)
    def zero_(self): return _ops.fill_(self, 0)
    def clamp_(self, min=None, max=None): return _ops.clamp_(self, min, max)


def as_array(data, dtype=None):
    """ndarray from data: Python floats take the default dtype, ints/bools stay integral/bool."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    if dtype is None:
        arr = np.asarray(data)
        if arr.dtype.kind == "f" or arr.dtype.kind == "c":
            arr = arr.astype(_mode.state.default_dtype if arr.dtype.kind == "f" else arr.dtype)
        elif arr.dtype.kind not in "biu":
            raise TypeError(f"tensor: cannot build a numeric tensor from {type(data).__name__} "
                            f"(NumPy dtype {arr.dtype})")
        return arr
    return np.asarray(data, dtype=dtype)


def make(data, grad_fn=None, index=0):
    """Fast constructor for op outputs (no validation): data must already be an ndarray."""
    t = _new(Tensor)
    t._data = data
    t.grad = None
    t.requires_grad = grad_fn is not None
    t.grad_fn = grad_fn
    t._index = index
    t._vc = None
    t._extra = None
    return t


def _bump_version(t):
    """Record an in-place write: every graph node recorded before now can no longer use t."""
    vc = t._vc
    if vc is None:
        t._vc = [_mode.tick()]
    else:
        vc[0] = _mode.tick()


def _extra(t):
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
        _extra(t)["retains_grad"] = True
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


def _register_hook(t, hook):
    if not t.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that does not "
                           "require grad")
    hooks = _extra(t).setdefault("hooks", [])
    hooks.append(hook)
    return _HookHandle(hooks, hook)


def _read(t, what):
    """t, after cr.compile (when tracing) checked that reading its value as Python is safe."""
    if _mode.state.tracer is not None:
        _mode.state.tracer.read(t, what)
    return t


def _item(t):
    if t._data.size != 1:
        raise ValueError(f"item: only a tensor with one element can be converted to a Python "
                         f"scalar; got shape {t._data.shape}")
    return t._data.item()


def _repr(t):
    body = np.array2string(t._data, separator=", ", prefix="tensor(", precision=4)
    extras = []
    if t._data.dtype != _mode.state.default_dtype and t._data.dtype.kind == "f":
        extras.append(f"dtype={t._data.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


# Late imports (at the bottom, after Tensor exists) break the cycle tensor -> ops -> function
# -> tensor without patching methods in from elsewhere.
from chainrule import ops as _ops  # noqa: E402
from chainrule.core import engine as _engine  # noqa: E402
