"""Special functions in their numerically stable forms: sigmoid softplus erf gelu logsumexp
softmax log_softmax. Each is finite for float32 inputs of any magnitude (no exp overflow reaches
a result)."""

import math

import numpy as np

from chainrule import _numba
from chainrule.core.backend import backend_of
from chainrule.core.function import Function
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.elementwise import exp, tanh
from chainrule.ops.reduction import expand_reduced, normalize_axes
from chainrule.ops.registry import op

# the ufuncs' reductions called directly: np.max / np.sum add ~1 us of Python dispatch a call
_max, _fmax, _sum = np.maximum.reduce, np.fmax.reduce, np.add.reduce


# the largest x whose e^x is finite, per float dtype (a smaller bound for unlisted dtypes)
_EXP_MAX = {np.dtype(t): float(np.log(np.finfo(t).max)) for t in (np.float16, np.float32,
                                                                  np.float64)}
# the numba kernels' scalars, in the dtypes they take: (that bound, 1)
_KERNEL_CONSTS = {np.dtype(t): (t(_EXP_MAX[np.dtype(t)]), t(1)) for t in (np.float32, np.float64)}


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y)"""

    __slots__ = ()
    into_inplace = True  # forward_into may write over an input of out's shape

    def forward(self, x):
        if x.dtype.kind not in "fc":
            x = x.astype(np.float64)
        return self.forward_into(np.empty_like(x), x)  # (an array even for 0-d x)

    def forward_into(self, out, x):
        """forward, written into out (x's shape and floating dtype; may be x)."""
        if x.dtype.kind not in "fc":
            np.copyto(out, self.forward(x))
            return out
        # 1 / (1 + e^-x) in place; where e^-x overflows to inf (x < -88 in float32) the result
        # is 0, within a subnormal of the exact value, so the overflow is not worth a warning
        # (np.errstate costs more than the whole sigmoid of a small batch: only enter it then)
        kernels = _numba.get()
        consts = _KERNEL_CONSTS.get(x.dtype) if kernels is not None else None
        fused = consts is not None and _numba.fits(out, x)  # numba: e^-x's neighbours fused
        if fused:
            big = kernels.sigmoid_negate(x, out, consts[0])
        else:  # (NumPy: the max, nan skipped, without y.max's dispatch)
            np.negative(x, out=out)
            big = out.size and (_fmax(out, None) if type(out) is np.ndarray
                                else out.max()) > _EXP_MAX.get(x.dtype, 0.0)
        if big:
            with np.errstate(over="ignore"):
                np.exp(out, out=out)
        else:
            np.exp(out, out=out)
        if fused:
            kernels.sigmoid_finish(out, consts[1])
            return out
        out += 1
        return np.reciprocal(out, out=out)

    def vjp(self, g):
        y = self.output
        return g * y * (1 - y)


class Softplus(Function):
    """y = log(1 + e^x) = max(x, 0) + log1p(e^-|x|);  dy/dx = sigmoid(x)"""

    __slots__ = ()

    def forward(self, x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def vjp(self, g):
        return g * sigmoid(self.inputs[0])


class Erf(Function):
    """y = erf(x) = 2/sqrt(pi) int_0^x e^-t^2 dt;  dy/dx = 2/sqrt(pi) e^(-x^2)"""

    __slots__ = ()

    def forward(self, x):
        return _erf(x)

    def vjp(self, g):
        x = self.inputs[0]
        return g * (2 / math.sqrt(math.pi)) * exp(-(x * x))


def _erf(x):
    if type(x) is not np.ndarray and backend_of(x).special is not None:  # cupyx.scipy.special
        return backend_of(x).special.erf(x).astype(x.dtype, copy=False)
    try:
        from scipy.special import erf
    except ImportError:  # exact, slower: the C library's erf element by element
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return erf(x).astype(x.dtype, copy=False)


class LogSumExp(Function):
    """y = log sum_i e^(x_i) = m + log sum_i e^(x_i - m), m = max x;  dy/dx_i = softmax(x)_i"""

    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        if x.size == 0:  # a sum of no terms: log 0 = -inf (as torch)
            return np.full(_reduced_shape(x.shape, self.axes, self.keepdims), -np.inf, x.dtype)
        m = np.max(x, axis=self.axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # all -inf rows: shift by 0, result -inf
        with np.errstate(divide="ignore"):
            y = np.log(np.sum(np.exp(x - m), axis=self.axes, keepdims=True)) + m
        return y if self.keepdims else np.squeeze(y, axis=self.axes)

    def vjp(self, g):
        # softmax from the max-shifted x, not exp(x - y): in float32, y ~ 1e4 carries an
        # absolute error of ~1e-3 that exp would turn into a relative error of the gradient
        x = self.inputs[0]
        return expand_reduced(g, x.shape, self.axes, self.keepdims) * Softmax(self.axes)(x)


class Softmax(Function):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m);  J = diag(y) - y y^T, so vjp = y (g - <g, y>)"""

    __slots__ = ("axis",)
    into_inplace = True  # forward_into may write over an input of out's shape

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if x.size == 0:
            return np.empty_like(x)
        e = np.exp(x - _max(x, self.axis, None, None, True))  # shift: exp cannot overflow
        e /= _sum(e, self.axis, None, None, True)
        return e

    def forward_into(self, out, x):
        """forward, written into out (x's shape and dtype; may be x)."""
        if x.size == 0:
            return out
        np.subtract(x, _max(x, self.axis, None, None, True), out=out)
        np.exp(out, out=out)
        out /= _sum(out, self.axis, None, None, True)
        return out

    def vjp(self, g):
        y = self.output
        return y * (g - (g * y).sum(self.axis, keepdims=True))


class LogSoftmax(Function):
    """y_i = x_i - logsumexp(x);  vjp = g - softmax(x) sum_j g_j = g - e^y sum_j g_j"""

    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if x.size == 0:
            return np.empty_like(x)
        shifted = x - _max(x, self.axis, None, None, True)
        return shifted - np.log(_sum(np.exp(shifted), self.axis, None, None, True))

    def vjp(self, g):
        return g - exp(self.output) * g.sum(self.axis, keepdims=True)


def _reduced_shape(shape, axes, keepdims):
    return tuple(1 if i in axes else n for i, n in enumerate(shape) if keepdims or i not in axes)


@op(methods=("sigmoid",), classes=(Sigmoid,))
def sigmoid(input):
    """Logistic function 1 / (1 + e^-x)."""
    return Sigmoid()(to_tensor(input))


@op(methods=("softplus",), classes=(Softplus,))
def softplus(input, beta=1.0):
    """log(1 + e^(beta x)) / beta, computed without overflow (no threshold: see F.softplus)."""
    x = to_tensor(input)
    if beta == 1:
        return Softplus()(x)
    return Softplus()(x * beta) / beta


@op(methods=("erf",), classes=(Erf,))
def erf(input):
    """Gauss error function."""
    return Erf()(to_tensor(input))


@op(methods=("gelu",))
def gelu(input, approximate="none"):
    """GELU x Phi(x) = x/2 (1 + erf(x/sqrt 2)); approximate='tanh' uses the tanh formula."""
    x = to_tensor(input)
    if approximate == "none":
        return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2))))
    if approximate == "tanh":
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + tanh(c * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh'; got {approximate!r}")


@op(methods=("logsumexp",), classes=(LogSumExp, Softmax))
def logsumexp(input, dim=None, keepdim=False):
    """log sum exp(x) over `dim`, shifted by the max so it cannot overflow."""
    x = to_tensor(input)
    return LogSumExp(normalize_axes("logsumexp", dim, x.ndim), keepdim)(x)


def _one_axis(op, dim, ndim):
    if ndim == 0:
        raise ValueError(f"{op}: needs at least one dimension; got a 0-d tensor")
    return normalize_axes(op, dim, ndim)[0] if isinstance(dim, (int, np.integer)) else \
        normalize_axes(op, dim, ndim)


@op(methods=("softmax",), classes=(Softmax,))
def softmax(input, dim=-1):
    """exp(x) / sum exp(x) along `dim` (max-shifted)."""
    x = to_tensor(input)
    return Softmax(_one_axis("softmax", dim, x.ndim))(x)


@op(methods=("log_softmax",), classes=(LogSoftmax,))
def log_softmax(input, dim=-1):
    """x - logsumexp(x) along `dim`; stable where log(softmax(x)) underflows to -inf."""
    x = to_tensor(input)
    return LogSoftmax(_one_axis("log_softmax", dim, x.ndim))(x)
