"""In-place writes (torch's ``_`` methods). They are never recorded for backward; they are
refused where autodiff needs the old value.

Each write stamps the tensor's version counter (shared with its views), so a graph node that
saved the tensor before the write refuses to backpropagate with the changed value.
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, bump_version
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.registry import op
from chainrule.ops.shape import _convert_index


def _check_writable(op, t):
    if t.requires_grad and _mode.state.grad_enabled:
        kind = "a leaf" if t.grad_fn is None else f"the output of {type(t.grad_fn).__name__}"
        raise RuntimeError(
            f"{op}: in-place operation on {kind} that requires grad (shape {t.shape}); autodiff "
            "needs its value. Write it out of place (x = x + y), or inside cr.no_grad() for a "
            "parameter update")


def _write(op, t, kernel, value=None, *params):
    """kernel(t's array, value, *params) writes into t (an interceptor event: cr.compile
    records it as one step)."""
    _check_writable(op, t)
    for i in _mode.state.interceptors:
        i.write(op, t, kernel, value, params)
    try:
        kernel(t._data, value, *params)
    except ValueError as e:
        raise ValueError(f"{op}: cannot write into a tensor of shape {t.shape}: {e}") from None
    bump_version(t)
    return t


def _value(other, t):
    return to_tensor(other, t)._data


def _add(d, v, alpha):
    np.add(d, v if alpha == 1 else alpha * v, out=d, casting="same_kind")


def _subtract(d, v, alpha):
    np.subtract(d, v if alpha == 1 else alpha * v, out=d, casting="same_kind")


def _multiply(d, v):
    np.multiply(d, v, out=d, casting="same_kind")


def _divide(d, v):
    np.divide(d, v, out=d, casting="same_kind")


def _copy(d, v):
    np.copyto(d, v, casting="same_kind")


def _fill(d, _, value):
    d.fill(value)


def _clip(d, _, lo, hi):
    np.clip(d, lo, hi, out=d)


def _assign(d, v, index):
    try:
        d[index] = v
    except IndexError as e:
        raise ValueError(f"index {index!r}: {e}") from None


@op(methods=("add_", "__iadd__"), export=False)
def add_(t, other, alpha=1):
    """t += alpha * other, in place."""
    return _write("add_", t, _add, _value(other, t), alpha)


@op(methods=("sub_", "__isub__"), export=False)
def sub_(t, other, alpha=1):
    """t -= alpha * other, in place."""
    return _write("sub_", t, _subtract, _value(other, t), alpha)


@op(methods=("mul_", "__imul__"), export=False)
def mul_(t, other):
    """t *= other, in place."""
    return _write("mul_", t, _multiply, _value(other, t))


@op(methods=("div_", "__itruediv__"), export=False)
def div_(t, other):
    """t /= other, in place."""
    return _write("div_", t, _divide, _value(other, t))


@op(methods=("copy_",), export=False)
def copy_(t, src):
    """Copy src's values into t (broadcasting), in place."""
    return _write("copy_", t, _copy, src._data if isinstance(src, Tensor) else np.asarray(src))


@op(methods=("fill_",), export=False)
def fill_(t, value):
    """Set every element of t to value, in place."""
    return _write("fill_", t, _fill, None, value)


@op(methods=("clamp_", "clip_"), export=False)
def clamp_(t, min=None, max=None):
    """Clamp t into [min, max], in place."""
    return _write("clamp_", t, _clip, None, min, max)


@op(methods=("__setitem__",), export=False)
def setitem_(t, index, value):
    """t[index] = value, in place."""
    v = value._data if isinstance(value, Tensor) else np.asarray(value)
    return _write("setitem", t, _assign, v, _convert_index(index))


@op(methods=("zero_",), export=False)
def zero_(t):
    """Set every element of t to 0, in place."""
    return _write("zero_", t, _fill, None, 0)
