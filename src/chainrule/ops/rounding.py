"""Rounding and floating-point classification, as torch: floor, ceil, round, trunc, frac, fmod,
remainder, floor_divide, isnan, isinf, isfinite, nan_to_num, isclose, allclose, equal, log2,
log10, tan, lerp, heaviside.

floor/ceil/round/trunc are piecewise constant: they are not differentiated (torch returns a
zero gradient; here the result simply does not require grad), and frac, fmod and remainder are
written from them, so their gradients are the exact ones (1 for x, -floor(x/y) for y)."""

import math

import numpy as np

from chainrule.core.function import Nondifferentiable
from chainrule.ops.arithmetic import _pair, to_tensor
from chainrule.ops.elementwise import log, where
from chainrule.ops.registry import op

_NOT_DIFF = dict(differentiable=False)


class Rounding(Nondifferentiable):
    """y = ufunc(x) for a piecewise-constant ufunc (floor, ceil, rint, trunc)"""

    __slots__ = ("ufunc",)

    def __init__(self, ufunc):
        self.ufunc = ufunc

    def forward(self, x):
        return self.ufunc(x)


class Classify(Nondifferentiable):
    """y = ufunc(x) for a floating-point class test (isnan, isinf, isfinite): boolean"""

    __slots__ = ("ufunc",)

    def __init__(self, ufunc):
        self.ufunc = ufunc

    def forward(self, x):
        return self.ufunc(x)


class Close(Nondifferentiable):
    """y = |a - b| <= atol + rtol |b| (np.isclose): boolean"""

    __slots__ = ("rtol", "atol", "equal_nan")

    def __init__(self, rtol, atol, equal_nan):
        self.rtol, self.atol, self.equal_nan = rtol, atol, equal_nan

    def forward(self, a, b):
        return np.isclose(a, b, self.rtol, self.atol, self.equal_nan)


def _round(name, ufunc, doc):
    def fn(input):
        x = to_tensor(input)
        if x.dtype.kind in "iub":
            return x
        return Rounding(ufunc)(x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return op(name, methods=(name,), classes=(Rounding,), **_NOT_DIFF)(fn)


floor = _round("floor", np.floor, "Largest integer <= x (not differentiated).")
ceil = _round("ceil", np.ceil, "Smallest integer >= x (not differentiated).")
trunc = _round("trunc", np.trunc, "x rounded toward zero (not differentiated).")
fix = trunc


@op(methods=("round",), classes=(Rounding,), **_NOT_DIFF)
def round(input, *, decimals=0):
    """x rounded to the nearest integer (halves to even, as torch); decimals= as torch."""
    x = to_tensor(input)
    if x.dtype.kind in "iub":
        return x
    if decimals == 0:
        return Rounding(np.rint)(x)
    return Rounding(lambda a: np.round(a, decimals))(x)


@op(methods=("frac",))
def frac(input):
    """Fractional part x - trunc(x);  d/dx = 1."""
    x = to_tensor(input)
    return x - trunc(x)


@op(methods=("remainder", "__mod__"), reflected=("__rmod__",))
def remainder(input, other):
    """Python's modulus x - floor(x / y) y (the sign of y);  d/dx = 1, d/dy = -floor(x / y)."""
    a, b = _pair(input, other)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return to_tensor(np.remainder(a._data, b._data))
    return a - floor(a / b) * b


@op(methods=("fmod",))
def fmod(input, other):
    """C's modulus x - trunc(x / y) y (the sign of x);  d/dx = 1, d/dy = -trunc(x / y)."""
    a, b = _pair(input, other)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return to_tensor(np.fmod(a._data, b._data))
    return a - trunc(a / b) * b


@op(methods=("floor_divide", "__floordiv__"), reflected=("__rfloordiv__",), **_NOT_DIFF)
def floor_divide(input, other):
    """floor(x / y) (torch 2's floor_divide rounds toward -inf, like Python's //)."""
    a, b = _pair(input, other)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return to_tensor(np.floor_divide(a._data, b._data))
    return floor(a.detach() / b.detach())


def _classify(name, ufunc, doc):
    def fn(input):
        return Classify(ufunc)(to_tensor(input))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return op(name, methods=(name,), classes=(Classify,), **_NOT_DIFF)(fn)


isnan = _classify("isnan", np.isnan, "True where x is NaN.")
isinf = _classify("isinf", np.isinf, "True where x is +-inf.")
isfinite = _classify("isfinite", np.isfinite, "True where x is neither NaN nor +-inf.")
isposinf = _classify("isposinf", np.isposinf, "True where x is +inf.")
isneginf = _classify("isneginf", np.isneginf, "True where x is -inf.")


@op(methods=("nan_to_num",))
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """x with NaN -> nan, +inf -> posinf, -inf -> neginf (the dtype's extremes by default);
    d/dx = 1 where x is finite, else 0."""
    x = to_tensor(input)
    if x.dtype.kind not in "fc":
        return x
    info = np.finfo(x.dtype)
    x = where(isnan(x), to_tensor(nan, x), x)
    x = where(isposinf(x), to_tensor(info.max if posinf is None else posinf, x), x)
    return where(isneginf(x), to_tensor(info.min if neginf is None else neginf, x), x)


@op(methods=("isclose",), classes=(Close,), **_NOT_DIFF)
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|x - y| <= atol + rtol |y|, elementwise (boolean)."""
    a, b = _pair(input, other)
    return Close(rtol, atol, equal_nan)(a, b)


@op(methods=("allclose",), **_NOT_DIFF)
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when isclose holds everywhere (a Python bool, as torch)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


@op(methods=("equal",), **_NOT_DIFF)
def equal(input, other):
    """True when both have the same shape and the same values (a Python bool)."""
    a, b = to_tensor(input), to_tensor(other)
    return a.shape == b.shape and bool(np.array_equal(a._data, b._data))


@op(methods=("log2",))
def log2(input):
    """log_2 x = ln x / ln 2;  d/dx = 1 / (x ln 2)."""
    return log(input) / math.log(2.0)


@op(methods=("log10",))
def log10(input):
    """log_10 x = ln x / ln 10;  d/dx = 1 / (x ln 10)."""
    return log(input) / math.log(10.0)


@op(methods=("tan",))
def tan(input):
    """tan x = sin x / cos x;  d/dx = 1 + tan^2 x."""
    x = to_tensor(input)
    return x.sin() / x.cos()


@op(methods=("lerp",))
def lerp(input, end, weight):
    """Linear interpolation x + w (end - x)."""
    x = to_tensor(input)
    return x + weight * (end - x)


@op(methods=("heaviside",), **_NOT_DIFF)
def heaviside(input, values):
    """0 where x < 0, `values` where x == 0, 1 where x > 0 (not differentiated)."""
    x = to_tensor(input).detach()
    v = to_tensor(values, x).detach()
    return where(x == 0, v, (x > 0).astype(x.dtype))


@op(methods=("sgn",), **_NOT_DIFF)
def sgn(input):
    """sign(x) (for real tensors, as torch's sgn)."""
    return to_tensor(input).sign()


@op(methods=("reciprocal",))
def reciprocal(input):
    """1 / x;  d/dx = -1 / x^2."""
    x = to_tensor(input)
    return 1.0 / (x if x.dtype.kind in "fc" else x.astype(np.float32))


@op(methods=("clamp_min",))
def clamp_min(input, min):
    """max(x, min), as clamp(x, min=min)."""
    return to_tensor(input).clamp(min=min)


@op(methods=("clamp_max",))
def clamp_max(input, max):
    """min(x, max), as clamp(x, max=max)."""
    return to_tensor(input).clamp(max=max)
