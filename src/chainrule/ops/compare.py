"""Non-differentiable ops: comparisons, argmax/argmin, sign, and the masks that vjps multiply
by. Results never require grad. Each is a Function (a Nondifferentiable one), so cr.compile
replays it on new data like every other op."""

import numpy as np

from chainrule.core import backend as _backend
from chainrule.core import mode as _mode
from chainrule.core.backend import asarray as _asarray
from chainrule.core.function import Nondifferentiable
from chainrule.ops.arithmetic import _pair, to_tensor
from chainrule.ops.registry import op


class Compare(Nondifferentiable):
    """y = ufunc(a, b) for a comparison ufunc (boolean)"""

    __slots__ = ("ufunc",)

    def __init__(self, ufunc):
        self.ufunc = ufunc

    def forward(self, a, b):
        return self.ufunc(a, b)


class ArgReduce(Nondifferentiable):
    """y = argmax or argmin of x along an axis (int64)"""

    __slots__ = ("pick", "axis", "keepdims")

    def __init__(self, pick, axis, keepdims):
        self.pick, self.axis, self.keepdims = pick, axis, keepdims

    def forward(self, x):
        return _asarray(self.pick(x, axis=self.axis, keepdims=self.keepdims), np.int64, x)


class Sign(Nondifferentiable):
    """y = -1, 0 or 1 as x < 0, x = 0, x > 0"""

    __slots__ = ()

    def forward(self, x):
        return np.sign(x)


class SlopeMask(Nondifferentiable):
    """y = 1 where x > 0 else slope (x's dtype): leaky relu's derivative"""

    __slots__ = ("slope",)

    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        return np.where(x > 0, 1, self.slope).astype(x.dtype)


class InsideMask(Nondifferentiable):
    """y = lo <= x <= hi (either bound None): clip's derivative"""

    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        inside = _backend.xp_of(x).ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return inside


class TieWeights(Nondifferentiable):
    """w = 1 where wins(a, b), 1/2 where a == b, else 0 (dtype): max/min's share of g for a"""

    __slots__ = ("wins", "dtype")

    def __init__(self, wins, dtype):
        self.wins, self.dtype = wins, dtype

    def forward(self, a, b):
        w = _asarray(self.wins(a, b), self.dtype, a)  # (an array even for 0-d a and b)
        w[a == b] = 0.5
        return w


class ArgmaxShare(Nondifferentiable):
    """w = 1/k at the k entries of x equal to the reduced y along axes, else 0"""

    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x, y):
        y = y if self.keepdims else np.expand_dims(y, self.axes)
        mask = _asarray(x == y, x.dtype, x)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return mask


class OneHot(Nondifferentiable):
    """y[n, labels[n]] = 1, else 0 (a zero row where labels[n] == ignore): (N, classes) of dtype"""

    __slots__ = ("classes", "dtype", "ignore")

    def __init__(self, classes, dtype, ignore=None):
        self.classes, self.dtype, self.ignore = classes, dtype, ignore

    def forward(self, labels):
        if type(labels) is not np.ndarray:  # on a device: one comparison, no value read
            xp = _backend.xp_of(labels)
            y = labels[:, None] == xp.arange(self.classes)
            if self.ignore is not None and 0 <= self.ignore < self.classes:
                y &= (labels != self.ignore)[:, None]
            return y.astype(self.dtype)
        y = np.zeros((len(labels), self.classes), dtype=self.dtype)
        rows = np.arange(len(labels))
        if self.ignore is not None and (labels == self.ignore).any():
            kept = labels != self.ignore
            rows, labels = rows[kept], labels[kept]
        y[rows, labels] = 1
        return y


class DropoutMask(Nondifferentiable):
    """y = 1/(1-p) with probability 1 - p, else 0, shaped and typed like x (fresh draws)"""

    __slots__ = ("p",)
    pure = False

    def __init__(self, p):
        self.p = p

    def forward(self, x):
        rng = _mode.state.rng if type(x) is np.ndarray else _backend.backend_of(x).rng(None)
        scale = (rng.random(x.shape, dtype=np.float32) >= self.p).astype(x.dtype)
        scale *= 1.0 / (1.0 - self.p)  # kept entries are scaled so that E[y] = x
        return scale


def _compare(ufunc, name, a, b):
    a, b = _pair(a, b)
    try:
        return Compare(ufunc)(a, b)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast "
                         "together") from None


_NOT_DIFF = dict(differentiable=False)


@op(methods=("eq", "__eq__"), classes=(Compare,), **_NOT_DIFF)
def eq(input, other):
    """Elementwise input == other (boolean tensor)."""
    return _compare(np.equal, "eq", input, other)


@op(methods=("ne", "__ne__"), classes=(Compare,), **_NOT_DIFF)
def ne(input, other):
    """Elementwise input != other (boolean tensor)."""
    return _compare(np.not_equal, "ne", input, other)


@op(methods=("lt", "less", "__lt__"), classes=(Compare,), **_NOT_DIFF)
def lt(input, other):
    """Elementwise input < other (boolean tensor)."""
    return _compare(np.less, "lt", input, other)


@op(methods=("le", "less_equal", "__le__"), classes=(Compare,), **_NOT_DIFF)
def le(input, other):
    """Elementwise input <= other (boolean tensor)."""
    return _compare(np.less_equal, "le", input, other)


@op(methods=("gt", "greater", "__gt__"), classes=(Compare,), **_NOT_DIFF)
def gt(input, other):
    """Elementwise input > other (boolean tensor)."""
    return _compare(np.greater, "gt", input, other)


@op(methods=("ge", "greater_equal", "__ge__"), classes=(Compare,), **_NOT_DIFF)
def ge(input, other):
    """Elementwise input >= other (boolean tensor)."""
    return _compare(np.greater_equal, "ge", input, other)


def _arg_reduce(pick, name, input, dim, keepdim):
    x = to_tensor(input)
    if dim is not None:
        if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
            raise ValueError(f"{name}: dim {dim} is out of range for a tensor of {x.ndim} "
                             "dimensions")
        if x.ndim and x.shape[dim] == 0:
            raise ValueError(f"{name}: cannot reduce over the empty dimension {dim} of shape "
                             f"{x.shape}")
        dim = dim % x.ndim if x.ndim else None
    elif x.size == 0:
        raise ValueError(f"{name}: cannot reduce an empty tensor of shape {x.shape}")
    if dim is None and keepdim:  # torch keeps every dimension, each of length 1
        return ArgReduce(pick, None, False)(x).reshape((1,) * x.ndim)
    return ArgReduce(pick, dim, keepdim)(x)


@op(methods=("argmax",), classes=(ArgReduce,), **_NOT_DIFF)
def argmax(input, dim=None, keepdim=False):
    """Index of the maximum along `dim` (of the flattened tensor when dim is None), int64."""
    return _arg_reduce(np.argmax, "argmax", input, dim, keepdim)


@op(methods=("argmin",), classes=(ArgReduce,), **_NOT_DIFF)
def argmin(input, dim=None, keepdim=False):
    """Index of the minimum along `dim` (of the flattened tensor when dim is None), int64."""
    return _arg_reduce(np.argmin, "argmin", input, dim, keepdim)


@op(methods=("sign",), classes=(Sign,), **_NOT_DIFF)
def sign(input):
    """-1, 0 or 1 elementwise (gradient zero almost everywhere, so not recorded)."""
    return Sign()(to_tensor(input))


class LogicalNot(Nondifferentiable):
    """y = not x (boolean)"""

    __slots__ = ()

    def forward(self, x):
        return np.logical_not(x)


class Truth(Nondifferentiable):
    """y = all(x) or any(x) over axes (boolean)"""

    __slots__ = ("reduce", "axes", "keepdims")

    def __init__(self, reduce, axes, keepdims):
        self.reduce, self.axes, self.keepdims = reduce, axes, keepdims

    def forward(self, x):
        return _asarray(self.reduce(x, axis=self.axes, keepdims=self.keepdims), None, x)


@op(methods=("logical_and", "__and__"), reflected=("__rand__",), classes=(Compare,),
    **_NOT_DIFF)
def logical_and(input, other):
    """Elementwise input and other (boolean tensor; & on tensors)."""
    return _compare(np.logical_and, "logical_and", input, other)


@op(methods=("logical_or", "__or__"), reflected=("__ror__",), classes=(Compare,), **_NOT_DIFF)
def logical_or(input, other):
    """Elementwise input or other (boolean tensor; | on tensors)."""
    return _compare(np.logical_or, "logical_or", input, other)


@op(methods=("logical_xor", "__xor__"), reflected=("__rxor__",), classes=(Compare,),
    **_NOT_DIFF)
def logical_xor(input, other):
    """Elementwise input xor other (boolean tensor; ^ on tensors)."""
    return _compare(np.logical_xor, "logical_xor", input, other)


@op(methods=("logical_not", "__invert__"), classes=(LogicalNot,), **_NOT_DIFF)
def logical_not(input):
    """Elementwise not input (boolean tensor; ~ on tensors)."""
    return LogicalNot()(to_tensor(input))


def _truth(reduce, name, input, dim, keepdim):
    x = to_tensor(input)
    if dim is None:
        axes = None
    else:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        for d in dims:
            if not -max(x.ndim, 1) <= d < max(x.ndim, 1):
                raise ValueError(f"{name}: dim {d} is out of range for a tensor of {x.ndim} "
                                 "dimensions")
        axes = tuple(d % max(x.ndim, 1) for d in dims) if x.ndim else None
    return Truth(reduce, axes, keepdim)(x)


@op(methods=("all",), classes=(Truth,), **_NOT_DIFF)
def all(input, dim=None, keepdim=False):
    """True where every element along `dim` (or of the whole tensor) is non-zero."""
    return _truth(np.all, "all", input, dim, keepdim)


@op(methods=("any",), classes=(Truth,), **_NOT_DIFF)
def any(input, dim=None, keepdim=False):
    """True where some element along `dim` (or of the whole tensor) is non-zero."""
    return _truth(np.any, "any", input, dim, keepdim)
