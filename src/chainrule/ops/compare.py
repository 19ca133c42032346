"""Non-differentiable ops: comparisons, argmax/argmin, sign, and the masks that vjps multiply
by. Results never require grad. Each is a Function (a Nondifferentiable one), so cr.compile
replays it on new data like every other op."""

import numpy as np

from chainrule.core.function import Nondifferentiable
from chainrule.ops.arithmetic import _pair, to_tensor


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
        return np.asarray(self.pick(x, axis=self.axis, keepdims=self.keepdims), dtype=np.int64)


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
        inside = np.ones(x.shape, dtype=bool)
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
        w = self.wins(a, b).astype(self.dtype)
        w[a == b] = 0.5
        return w


class ArgmaxShare(Nondifferentiable):
    """w = 1/k at the k entries of x equal to the reduced y along axes, else 0"""

    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x, y):
        y = y if self.keepdims else np.expand_dims(y, self.axes)
        mask = (x == y).astype(x.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return mask


class OneHot(Nondifferentiable):
    """y[n, labels[n]] = 1, else 0: an (N, classes) array of dtype"""

    __slots__ = ("classes", "dtype")

    def __init__(self, classes, dtype):
        self.classes, self.dtype = classes, dtype

    def forward(self, labels):
        y = np.zeros((len(labels), self.classes), dtype=self.dtype)
        y[np.arange(len(labels)), labels] = 1
        return y


class DropoutMask(Nondifferentiable):
    """y = 1/(1-p) with probability 1 - p, else 0, shaped and typed like x (fresh draws)"""

    __slots__ = ("p",)

    def __init__(self, p):
        self.p = p

    def forward(self, x):
        from chainrule.core.mode import state

        scale = (state.rng.random(x.shape, dtype=np.float32) >= self.p).astype(x.dtype)
        scale *= 1.0 / (1.0 - self.p)  # kept entries are scaled so that E[y] = x
        return scale


def _compare(ufunc, name, a, b):
    a, b = _pair(a, b)
    try:
        return Compare(ufunc)(a, b)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast "
                         "together") from None


def eq(a, b):
    """Elementwise a == b (boolean tensor)."""
    return _compare(np.equal, "eq", a, b)


def ne(a, b):
    """Elementwise a != b (boolean tensor)."""
    return _compare(np.not_equal, "ne", a, b)


def lt(a, b):
    """Elementwise a < b (boolean tensor)."""
    return _compare(np.less, "lt", a, b)


def le(a, b):
    """Elementwise a <= b (boolean tensor)."""
    return _compare(np.less_equal, "le", a, b)


def gt(a, b):
    """Elementwise a > b (boolean tensor)."""
    return _compare(np.greater, "gt", a, b)


def ge(a, b):
    """Elementwise a >= b (boolean tensor)."""
    return _compare(np.greater_equal, "ge", a, b)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum (of the flattened tensor when axis is None), int64."""
    return ArgReduce(np.argmax, axis, keepdims)(to_tensor(x))


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum (of the flattened tensor when axis is None), int64."""
    return ArgReduce(np.argmin, axis, keepdims)(to_tensor(x))


def sign(x):
    """-1, 0 or 1 elementwise (gradient zero almost everywhere, so not recorded)."""
    return Sign()(to_tensor(x))
