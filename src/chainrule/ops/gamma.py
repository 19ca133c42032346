"""Special functions of probability: lgamma digamma polygamma lbeta (the gamma family), the
normal CDF pair ndtr / ndtri, and xlogy (0 log 0 = 0). Forwards call scipy.special (imported
lazily: SciPy is optional); every vjp is written with these same ops, so derivatives of any
order work."""

import math

import numpy as np

from chainrule.core.backend import asarray as _asarray
from chainrule.core.backend import backend_of, xp_of
from chainrule.core.function import Function
from chainrule.core.tensor import from_array
from chainrule.ops.arithmetic import _pair, to_tensor
from chainrule.ops.compare import eq, logical_and
from chainrule.ops.elementwise import exp, log, where
from chainrule.ops.registry import op

_SQRT_2PI = math.sqrt(2 * math.pi)


def _special(op, x=None):
    """The special functions for array x: cupyx.scipy.special on CUDA, scipy.special else."""
    if x is not None and type(x) is not np.ndarray:
        sp = backend_of(x).special
        if sp is not None:
            return sp
    try:
        import scipy.special
    except ImportError:  # pragma: no cover - scipy is installed with chainrule[all]
        raise ImportError(f"{op}: needs SciPy for its special functions; pip install scipy") \
            from None
    return scipy.special


def _float(x):
    x = to_tensor(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64 if x.dtype.itemsize > 4 else np.float32)
    return x


class Lgamma(Function):
    """y = log|Gamma(x)|;  dy/dx = digamma(x)"""

    __slots__ = ()

    def forward(self, x):
        return _special("lgamma", x).gammaln(x).astype(x.dtype, copy=False)

    def vjp(self, g):
        return g * digamma(self.inputs[0])


class Polygamma(Function):
    """y = psi^(n)(x), the n-th derivative of digamma (n = 0 is digamma);  dy/dx = psi^(n+1)(x)"""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def forward(self, x):
        sp = _special("polygamma", x)
        y = sp.psi(x) if self.n == 0 else sp.polygamma(self.n, x)
        return _asarray(y, None, x).astype(x.dtype, copy=False)

    def vjp(self, g):
        return g * Polygamma(self.n + 1)(self.inputs[0])


class Ndtr(Function):
    """y = Phi(x) = (1 + erf(x / sqrt 2)) / 2 (tail-accurate);  dy/dx = e^(-x^2/2) / sqrt(2 pi)"""

    __slots__ = ()

    def forward(self, x):
        return _special("ndtr", x).ndtr(x).astype(x.dtype, copy=False)

    def vjp(self, g):
        x = self.inputs[0]
        return g * exp(-0.5 * (x * x)) / _SQRT_2PI


class Ndtri(Function):
    """y = Phi^-1(p), the standard normal quantile;  dy/dp = sqrt(2 pi) e^(y^2/2)"""

    __slots__ = ()

    def forward(self, p):
        return _special("ndtri", p).ndtri(p).astype(p.dtype, copy=False)

    def vjp(self, g):
        y = self.output
        return g * _SQRT_2PI * exp(0.5 * (y * y))


@op(methods=("lgamma",), classes=(Lgamma,))
def lgamma(x):
    """log|Gamma(x)| (scipy.special.gammaln); d/dx = digamma(x)."""
    return Lgamma()(_float(x))


@op(methods=("digamma",), classes=(Polygamma,))
def digamma(x):
    """psi(x) = d/dx log Gamma(x) (scipy.special.digamma); d/dx = polygamma(1, x)."""
    return Polygamma(0)(_float(x))


@op(classes=(Polygamma,))
def polygamma(n, x):
    """psi^(n)(x) = d^(n+1)/dx^(n+1) log Gamma(x) for an integer n >= 0."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer; got {n!r}")
    return Polygamma(int(n))(_float(x))


@op(classes=(Polygamma,))
def trigamma(x):
    """psi^(1)(x) = d^2/dx^2 log Gamma(x)."""
    return Polygamma(1)(_float(x))


@op()
def lbeta(a, b):
    """log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)."""
    a, b = _float(a), _float(b)
    return lgamma(a) + lgamma(b) - lgamma(a + b)


@op(classes=(Ndtr,))
def ndtr(x):
    """Standard normal CDF Phi(x) (scipy.special.ndtr); d/dx = the standard normal pdf."""
    return Ndtr()(_float(x))


@op(classes=(Ndtri,))
def ndtri(p):
    """Standard normal quantile Phi^-1(p) for p in [0, 1] (scipy.special.ndtri)."""
    return Ndtri()(_float(p))


@op(methods=("xlogy",))
def xlogy(x, y):
    """x log y with 0 log 0 = 0 (scipy.special.xlogy); d/dx = log y, d/dy = x / y (0 at 0, 0).

    x > 0 = y gives -inf, as the math says. The (0, 0) corner reads log 1 instead of log 0, so
    no inf or NaN reaches the gradient through the inactive branch.
    """
    x, y = _pair(x, y)
    corner = logical_and(eq(x, 0), eq(y, 0))  # (ops, not NumPy: a compiled call replays them)
    y = where(corner, from_array(xp_of(y).ones((), dtype=y.dtype)), y)
    with np.errstate(divide="ignore"):  # log 0 = -inf is the documented answer for x > 0 = y
        return x * log(y)
