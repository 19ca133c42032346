"""Non-differentiable ops: comparisons, argmax/argmin, sign. Results never require grad."""

import numpy as np

from chainrule.core.tensor import make
from chainrule.ops.arithmetic import _pair, to_tensor


def _compare(ufunc, name, a, b):
    a, b = _pair(a, b)
    try:
        return make(ufunc(a._data, b._data))
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
    x = to_tensor(x)
    return make(np.asarray(np.argmax(x._data, axis=axis, keepdims=keepdims), dtype=np.int64))


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum (of the flattened tensor when axis is None), int64."""
    x = to_tensor(x)
    return make(np.asarray(np.argmin(x._data, axis=axis, keepdims=keepdims), dtype=np.int64))


def sign(x):
    """-1, 0 or 1 elementwise (gradient zero almost everywhere, so not recorded)."""
    x = to_tensor(x)
    return make(np.sign(x._data))
