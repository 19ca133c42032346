"""The gamma family: Gamma and Beta (Beta = Ga / (Ga + Gb) with Ga, Gb standard gammas).

Both have pathwise gradients through `rsample` by implicit reparameterisation (Figurnov et al.,
2018): a gamma sample x = F^-1(u; alpha) moves with alpha as dx/dalpha = -(dF/dalpha) / p(x).
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.backend import to_host, to_like
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.tensor import from_array
from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution, broadcast_all
from chainrule.ops.elementwise import log, where
from chainrule.ops.gamma import digamma, lbeta, lgamma, xlogy


class StandardGamma(Function):
    """x ~ Gamma(alpha, 1) drawn in forward (from chainrule's generator at the time of the call);
    dx/dalpha = -(dP(alpha, x)/dalpha) / p(x; alpha)

    P is the regularised lower incomplete gamma function (the CDF); its alpha-derivative has no
    closed form and is taken by a central difference of scipy.special.gammainc (relative error
    ~1e-9). First order only: the derivative is a constant to a second differentiation.
    """

    __slots__ = ()
    pure = False

    def forward(self, alpha):
        if type(alpha) is not np.ndarray:  # a device's alpha: drawn on the host, copied back
            return to_like(self.forward(to_host(alpha)), alpha)
        return _mode.state.rng.standard_gamma(alpha).astype(alpha.dtype, copy=False)

    def vjp(self, g):
        return g * GammaSampleDerivative()(self.inputs[0], self.output)


class GammaSampleDerivative(Nondifferentiable):
    """dx/dalpha of a Gamma(alpha, 1) sample x (implicit reparameterisation), in g's dtype"""

    __slots__ = ()

    def forward(self, alpha, x):
        from scipy.special import gammainc, gammaln

        if type(alpha) is not np.ndarray:  # (scipy's gammainc, on the host; copied back)
            return to_like(self.forward(to_host(alpha), to_host(x)), alpha)
        dtype = alpha.dtype
        alpha = alpha.astype(np.float64)
        x = np.maximum(x.astype(np.float64), np.finfo(np.float64).tiny)
        h = 1e-5 * alpha
        dP = (gammainc(alpha + h, x) - gammainc(alpha - h, x)) / (2 * h)
        log_pdf = (alpha - 1) * np.log(x) - x - gammaln(alpha)
        dx = -dP * np.exp(-log_pdf)
        return np.nan_to_num(dx, nan=0.0, posinf=0.0, neginf=0.0).astype(dtype)


def _standard_gamma(alpha, shape):
    return StandardGamma()(alpha.broadcast_to(shape))


class Gamma(Distribution):
    """Gamma(alpha, beta): p(x) = beta^alpha x^(alpha-1) e^(-beta x) / Gamma(alpha), x > 0.

    `concentration` is alpha (shape), `rate` is beta (inverse scale), as in PyTorch.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate, op="Gamma")
        super().__init__(self.concentration.shape, validate_args=validate_args)
        self._check_params(concentration=self.concentration, rate=self.rate)

    mean = property(lambda self: self.concentration / self.rate, doc="E[X] = alpha / beta.")
    variance = property(lambda self: self.concentration / (self.rate * self.rate),
                        doc="Var X = alpha / beta^2.")

    @property
    def mode(self):
        """(alpha - 1) / beta, clipped at 0."""
        return ((self.concentration - 1) / self.rate).clip(min=0.0)

    def rsample(self, sample_shape=()):
        """x = G / beta with G ~ Gamma(alpha, 1), differentiable in alpha and beta."""
        shape = self._extended_shape(sample_shape)
        return _standard_gamma(self.concentration, shape) / self.rate

    def log_prob(self, value):
        """log p(x) = alpha log beta + (alpha - 1) log x - beta x - lgamma(alpha)."""
        x = self._value("log_prob", value, self.rate)
        a, b = self.concentration, self.rate
        return xlogy(a, b) + xlogy(a - 1, x) - b * x - lgamma(a)

    def entropy(self):
        """H = alpha - log beta + lgamma(alpha) + (1 - alpha) digamma(alpha)."""
        a = self.concentration
        return a - log(self.rate) + lgamma(a) + (1 - a) * digamma(a)


class Beta(Distribution):
    """Beta(a, b): p(x) = x^(a-1) (1 - x)^(b-1) / B(a, b) on [0, 1].

    `concentration1` is a, `concentration0` is b, as in PyTorch.
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(
            concentration1, concentration0, op="Beta")
        super().__init__(self.concentration1.shape, validate_args=validate_args)
        self._check_params(concentration1=self.concentration1,
                           concentration0=self.concentration0)

    @property
    def mean(self):
        """E[X] = a / (a + b)."""
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self):
        """Var X = a b / ((a + b)^2 (a + b + 1))."""
        a, b = self.concentration1, self.concentration0
        s = a + b
        return a * b / (s * s * (s + 1))

    @property
    def mode(self):
        """(a - 1) / (a + b - 2) for a, b > 1; NaN otherwise."""
        a, b = self.concentration1, self.concentration0
        inside = (a > 1) & (b > 1)  # (ops: compiled calls replay them)
        nan = from_array(np.asarray(np.nan, dtype=a.dtype))
        return where(inside, (a - 1) / (a + b - 2), nan)

    def sample(self, sample_shape=()):
        """Draws with NumPy's beta sampler (exact for tiny a, b where Ga / (Ga + Gb) is 0/0)."""
        from chainrule.core.mode import default_generator

        shape = self._extended_shape(sample_shape)
        a, b = self.concentration1._data, self.concentration0._data
        x = default_generator().beta(np.broadcast_to(a, shape), np.broadcast_to(b, shape))
        return from_array(x.astype(a.dtype, copy=False))

    def rsample(self, sample_shape=()):
        """x = Ga / (Ga + Gb), Ga ~ Gamma(a, 1), Gb ~ Gamma(b, 1): differentiable in a and b."""
        shape = self._extended_shape(sample_shape)
        ga = _standard_gamma(self.concentration1, shape)
        gb = _standard_gamma(self.concentration0, shape)
        return ga / (ga + gb)

    def log_prob(self, value):
        """log p(x) = (a - 1) log x + (b - 1) log(1 - x) - log B(a, b)."""
        x = self._value("log_prob", value, self.concentration1)
        a, b = self.concentration1, self.concentration0
        return xlogy(a - 1, x) + xlogy(b - 1, 1 - x) - lbeta(a, b)

    def entropy(self):
        """H = log B(a, b) - (a-1) psi(a) - (b-1) psi(b) + (a+b-2) psi(a+b)."""
        a, b = self.concentration1, self.concentration0
        return (lbeta(a, b) - (a - 1) * digamma(a) - (b - 1) * digamma(b)
                + (a + b - 2) * digamma(a + b))
