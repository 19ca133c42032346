"""Reductions: sum mean var std amax amin max min over a dim, a tuple of dims, or everything;
cumsum. torch's spelling: ``dim``/``keepdim`` (NumPy's ``axis``/``keepdims`` also accepted), and
``max(dim)``/``min(dim)`` return ``(values, indices)``."""

import builtins
import math

import numpy as np

from chainrule.core.backend import xp_of
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor
from chainrule.ops import return_types
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.compare import ArgmaxShare, argmax, argmin
from chainrule.ops.elementwise import maximum, minimum
from chainrule.ops.registry import op
from chainrule.ops.shape import TakeAlongAxis


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
            raise ValueError(f"{op}: dim {a} is out of range for a tensor of {ndim} dimensions")
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated dim in {axis}")
    return tuple(sorted(out)) if ndim else ()  # a 0-d tensor accepts dim 0 / -1, as PyTorch


_add_reduce = np.add.reduce  # np.sum without its Python-level dispatch (~1 us a call)
_BLOCK = 128
_LONG = 2048  # axes of up to this many terms are summed directly


def _sum_axis(x, a):
    """x summed along axis a (kept): in blocks of _BLOCK terms whose sums are summed the same
    way, recursively, when the axis is long."""
    n = x.shape[a]
    if n <= 2 * _BLOCK or (a == x.ndim - 1 and x.strides[a] == x.itemsize):
        return _add_reduce(x, a, None, None, True)  # (NumPy sums a contiguous axis pairwise)
    k = n - n % _BLOCK
    lead = (slice(None),) * a
    head = x[lead + (slice(0, k),)].reshape(x.shape[:a] + (k // _BLOCK, _BLOCK) + x.shape[a + 1:])
    dims = list(range(head.ndim))
    # einsum sums each block in the order add.reduce does (the same bits), but runs its own
    # loop over the short trailing axes instead of one call per row: (1e6, 10) in 5 ms, not 22
    s = _sum_axis(np.einsum(head, dims, dims[:a + 1] + dims[a + 2:]), a)
    return s + _add_reduce(x[lead + (slice(k, None),)], a, None, None, True) if k < n else s


def accurate_sum(x, axes, keepdims):
    """sum of x over axes, accurate in float32: NumPy adds the terms along a strided axis one by
    one (pairwise summation only runs along the contiguous axis), an error growing like n ulps;
    long axes are summed in blocks of 128 whose sums are summed alike (a few ulps, at NumPy's
    speed)."""
    if x.size <= _LONG or x.dtype.kind != "f" or x.dtype.itemsize > 4 \
            or math.prod([x.shape[a] for a in axes]) <= _LONG:
        return _add_reduce(x, axes, None, None, keepdims)
    y = x
    for a in sorted(axes, reverse=True):
        y = _sum_axis(y, a)
    return y if keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in axes])


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
        if x.size <= _LONG:  # (accurate_sum's first case, inline: the common small sum)
            return _add_reduce(x, self.axes, None, None, self.keepdims)
        return accurate_sum(x, self.axes, self.keepdims)

    def forward_into(self, out, x):
        """forward, written into out (an array of the result's shape and dtype)."""
        self.shape = x.shape
        if x.size <= _LONG:
            return _add_reduce(x, self.axes, None, out, self.keepdims)
        out[...] = accurate_sum(x, self.axes, self.keepdims)
        return out

    def vjp(self, g):
        return expand_reduced(g, self.shape, self.axes, self.keepdims)


class BatchSum(Function):
    """y_j = sum_i x_ij down the rows of a 2-D x (a bias's gradient): one vector-matrix
    product, ones @ x (BLAS, 2-4x faster than a reduce down a strided axis);  dy/dx_ij = 1"""

    __slots__ = ("shape",)
    reads_values = False

    def forward(self, x):
        self.shape = x.shape
        if x.size < 2048:  # (small: a reduce is as fast as the call of a product)
            return _add_reduce(x, 0)
        if _blas_rows(x):
            return ones_for_rows(x) @ x
        return accurate_sum(x, (0,), False)

    def forward_into(self, out, x):
        """forward, written into out (an array of the result's shape and dtype)."""
        self.shape = x.shape
        if x.size < 2048:
            return _add_reduce(x, 0, None, out)
        if _blas_rows(x):
            return np.matmul(ones_for_rows(x), x, out=out)
        out[...] = accurate_sum(x, (0,), False)
        return out

    def vjp(self, g):
        return expand_reduced(g, self.shape, (0,), False)


def _blas_rows(x):
    """Whether BatchSum sums x (of 2048 entries or more) with BLAS: 2-D, float32/64, at most
    _LONG rows (longer columns go through accurate_sum's blocks)."""
    return x.ndim == 2 and x.shape[0] <= _LONG and x.dtype.char in "fd"


_ONES = {}  # (rows, dtype char) -> a read-only vector of ones on the host


def ones_for_rows(x):
    """A vector of x.shape[0] ones in x's dtype, on x's device (cached on the host)."""
    if type(x) is not np.ndarray:
        return xp_of(x).ones(x.shape[0], x.dtype)
    key = (x.shape[0], x.dtype.char)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:
            _ONES.clear()
        ones = _ONES[key] = np.ones(x.shape[0], x.dtype)
        ones.flags.writeable = False
    return ones


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


@op(methods=("cumsum",), classes=(CumSum,))
def cumsum(input, dim=-1):
    """Running sum along `dim` (the last by default)."""
    x = to_tensor(input)
    if x.ndim == 0:
        return x
    return CumSum(normalize_axes("cumsum", dim, x.ndim)[0])(x)


@op(methods=("sum",), classes=(Sum,))
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over `dim` (an int, a tuple, or None for every dim)."""
    x = to_tensor(input)
    if dtype is not None:
        x = x.astype(dtype)
    return Sum(normalize_axes("sum", dim, x.ndim), keepdim)(x)


@op(methods=("mean",))
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Arithmetic mean over `dim`: sum(x) / n."""
    x = to_tensor(input)
    if dtype is not None:
        x = x.astype(dtype)
    axes = normalize_axes("mean", dim, x.ndim)
    n = math.prod([x.shape[a] for a in axes])
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    return Sum(axes, keepdim)(x) / n


def _correction(op, unbiased, correction):
    if correction is not None and unbiased is not None:
        raise TypeError(f"{op}: give correction= or unbiased=, not both")
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


@op(methods=("var",))
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance sum((x - mean)^2) / (n - correction); correction=1 (unbiased) as PyTorch."""
    x = to_tensor(input)
    c = _correction("var", unbiased, correction)
    axes = normalize_axes("var", dim, x.ndim)
    n = math.prod([x.shape[a] for a in axes])
    d = x - mean(x, axes, keepdim=True)
    return sum(d * d, axes, keepdim) / builtins.max(n - c, 0)


@op(methods=("std",))
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation sqrt(var(x))."""
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


@op(methods=("amax",), classes=(Max, ArgmaxShare))
def amax(input, dim=None, keepdim=False):
    """Maximum over `dim` (int, tuple, or None for all); ties share the gradient, as torch."""
    x = to_tensor(input)
    return Max(normalize_axes("amax", dim, x.ndim), keepdim, np.max)(x)


@op(methods=("amin",), classes=(Max, ArgmaxShare))
def amin(input, dim=None, keepdim=False):
    """Minimum over `dim` (int, tuple, or None for all); ties share the gradient, as torch."""
    x = to_tensor(input)
    return Max(normalize_axes("amin", dim, x.ndim), keepdim, np.min)(x)


def _extreme(name, reduce, arg, pairwise, input, dim, keepdim, other):
    x = to_tensor(input)
    if isinstance(dim, Tensor) or other is not None:  # torch.max(a, b): elementwise
        return pairwise(x, dim if other is None else other)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}: keepdim needs a dim")
        return reduce(x)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int (use amax/amin for several dims); got "
                        f"{dim!r}")
    d = normalize_axes(name, dim, x.ndim)
    d = d[0] if d else None
    indices = arg(x, d, True)
    values = x if x.ndim == 0 else TakeAlongAxis(d)(x, indices)
    if not keepdim and x.ndim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return getattr(return_types, name)(values, indices)


@op(methods=("max",), returns="max", classes=(Max, TakeAlongAxis))
def max(input, dim=None, keepdim=False, *, other=None):
    """Maximum of every element; with `dim`, the named tuple (values, indices) along it (the
    gradient goes to the index, as torch); with a tensor second argument, maximum."""
    return _extreme("max", amax, argmax, maximum, input, dim, keepdim, other)


@op(methods=("min",), returns="min", classes=(Max, TakeAlongAxis))
def min(input, dim=None, keepdim=False, *, other=None):
    """Minimum of every element; with `dim`, the named tuple (values, indices) along it (the
    gradient goes to the index, as torch); with a tensor second argument, minimum."""
    return _extreme("min", amin, argmin, minimum, input, dim, keepdim, other)

