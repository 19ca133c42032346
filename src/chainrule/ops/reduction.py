"""Reductions: sum mean var std max min over an axis, a tuple of axes, or everything; cumsum."""

import builtins
import math

import numpy as np

from chainrule.core.function import Function
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.compare import ArgmaxShare


def normalize_axes(op, axis, ndim):
    """Tuple of non-negative axes (all axes for None); raises naming the op on a bad axis."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and 0 <= axis < ndim:  # the common case, already normal
        return (axis,)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of {ndim} dimensions")
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()  # a 0-d tensor accepts axis 0 / -1, as PyTorch


_add_reduce = np.add.reduce  # np.sum without its Python-level dispatch (~1 us a call)


def expand_reduced(g, shape, axes, keepdims):
    """Broadcast the gradient of a reduction back to the input's shape."""
    if not keepdims:
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        g = g.reshape(kept)
    return g.broadcast_to(shape)


class Sum(Function):
    """y = sum_i x_i over axes;  dy/dx_i = 1 (the gradient is broadcast back)"""

    __slots__ = ("axes", "keepdims", "shape")
    reads_values = False

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.shape = x.shape
        return _add_reduce(x, self.axes, None, None, self.keepdims)

    def vjp(self, g):
        return expand_reduced(g, self.shape, self.axes, self.keepdims)


class Max(Function):
    """y = max_i x_i;  dy/dx_i = 1/k for the k maximal entries (ties share), else 0"""

    __slots__ = ("axes", "keepdims", "pick")

    def __init__(self, axes, keepdims, pick=np.max):
        self.axes, self.keepdims, self.pick = axes, keepdims, pick

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"{self.pick.__name__}: reduction of an empty tensor of shape "
                             f"{x.shape}")
        return self.pick(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, g):
        x = self.inputs[0]
        share = ArgmaxShare(self.axes, self.keepdims)(x, self.output)
        return expand_reduced(g, x.shape, self.axes, self.keepdims) * share


class CumSum(Function):
    """y_i = sum_{j <= i} x_j along axis;  vjp: gx_i = sum_{j >= i} g_j (a reversed cumsum)"""

    __slots__ = ("axis",)
    reads_values = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return np.cumsum(x, axis=self.axis)

    def vjp(self, g):
        flip = (slice(None),) * self.axis + (slice(None, None, -1),)
        return CumSum(self.axis)(g[flip])[flip]


def cumsum(x, axis=-1):
    """Running sum along `axis` (last by default)."""
    x = to_tensor(x)
    if x.ndim == 0:
        return x
    return CumSum(normalize_axes("cumsum", axis, x.ndim)[0])(x)


def sum(x, axis=None, keepdims=False):
    """Sum over `axis` (int, tuple, or None for all)."""
    x = to_tensor(x)
    return Sum(normalize_axes("sum", axis, x.ndim), keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis`: sum(x) / n."""
    x = to_tensor(x)
    axes = normalize_axes("mean", axis, x.ndim)
    n = math.prod([x.shape[a] for a in axes])
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    return Sum(axes, keepdims)(x) / n


def var(x, axis=None, correction=1, keepdims=False):
    """Variance sum((x - mean)^2) / (n - correction); correction=1 (unbiased) as PyTorch."""
    x = to_tensor(x)
    axes = normalize_axes("var", axis, x.ndim)
    n = math.prod([x.shape[a] for a in axes])
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims) / builtins.max(n - correction, 0)


def std(x, axis=None, correction=1, keepdims=False):
    """Standard deviation sqrt(var(x))."""
    return var(x, axis, correction, keepdims).sqrt()


def max(x, axis=None, keepdims=False):
    """Maximum over `axis` (values only; use argmax for indices)."""
    x = to_tensor(x)
    return Max(normalize_axes("max", axis, x.ndim), keepdims, np.max)(x)


def min(x, axis=None, keepdims=False):
    """Minimum over `axis` (values only; use argmin for indices)."""
    x = to_tensor(x)
    return Max(normalize_axes("min", axis, x.ndim), keepdims, np.min)(x)
