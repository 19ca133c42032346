"""In-place writes. They are never recorded; they are refused where autodiff needs the old value.

Each write stamps the tensor's version counter (shared with its views), so a graph node that
saved the tensor before the write refuses to backpropagate with the changed value.
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, _bump_version
from chainrule.ops.arithmetic import to_tensor


def _check_writable(op, t):
    if t.requires_grad and _mode.state.grad_enabled:
        kind = "a leaf" if t.grad_fn is None else f"the output of {type(t.grad_fn).__name__}"
        raise RuntimeError(
            f"{op}: in-place operation on {kind} that requires grad (shape {t.shape}); autodiff "
            "needs its value. Write it out of place (x = x + y), or inside cr.no_grad() for a "
            "parameter update")


def _write(op, t, fn):
    _check_writable(op, t)
    try:
        fn(t._data)
    except ValueError as e:
        raise ValueError(f"{op}: cannot write into a tensor of shape {t.shape}: {e}") from None
    _bump_version(t)
    return t


def _value(other, t):
    return to_tensor(other, t)._data


def add_(t, other, alpha=1):
    """t += alpha * other, in place."""
    v = _value(other, t)
    return _write("add_", t, lambda d: np.add(d, v if alpha == 1 else alpha * v, out=d,
                                              casting="same_kind"))


def sub_(t, other, alpha=1):
    """t -= alpha * other, in place."""
    v = _value(other, t)
    return _write("sub_", t, lambda d: np.subtract(d, v if alpha == 1 else alpha * v, out=d,
                                                   casting="same_kind"))


def mul_(t, other):
    """t *= other, in place."""
    v = _value(other, t)
    return _write("mul_", t, lambda d: np.multiply(d, v, out=d, casting="same_kind"))


def div_(t, other):
    """t /= other, in place."""
    v = _value(other, t)
    return _write("div_", t, lambda d: np.divide(d, v, out=d, casting="same_kind"))


def copy_(t, src):
    """Copy src's values into t (broadcasting), in place."""
    v = src._data if isinstance(src, Tensor) else np.asarray(src)
    return _write("copy_", t, lambda d: np.copyto(d, v, casting="same_kind"))


def fill_(t, value):
    """Set every element of t to value, in place."""
    return _write("fill_", t, lambda d: d.fill(value))


def clamp_(t, min=None, max=None):
    """Clamp t into [min, max], in place."""
    return _write("clamp_", t, lambda d: np.clip(d, min, max, out=d))


def setitem_(t, index, value):
    """t[index] = value, in place."""
    from chainrule.ops.shape import _convert_index

    index = _convert_index(index)
    v = value._data if isinstance(value, Tensor) else value

    def assign(d):
        try:
            d[index] = v
        except IndexError as e:
            raise ValueError(f"index {index!r}: {e}") from None

    return _write("setitem", t, assign)
