"""Location-scale and rate families with closed-form CDFs: Normal, Exponential, Uniform."""

import math

import numpy as np

from chainrule.core.tensor import from_array
from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution, broadcast_all, noise
from chainrule.ops.elementwise import clip, expm1, log, log1p, where
from chainrule.ops.gamma import ndtr, ndtri

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class Normal(Distribution):
    """N(loc, scale^2): p(x) = exp(-(x - loc)^2 / (2 scale^2)) / (scale sqrt(2 pi)).

        >>> import chainrule as cr
        >>> cr.distributions.Normal(0.0, 1.0).log_prob(0.0).item()  # -log sqrt(2 pi)
        -0.9189385...
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale, op="Normal")
        super().__init__(self.loc.shape, validate_args=validate_args)
        self._check_params(loc=self.loc, scale=self.scale)

    mean = property(lambda self: self.loc, doc="E[X] = loc.")
    mode = property(lambda self: self.loc, doc="argmax p = loc.")
    stddev = property(lambda self: self.scale, doc="scale.")
    variance = property(lambda self: self.scale * self.scale, doc="Var X = scale^2.")

    def rsample(self, sample_shape=()):
        """x = loc + scale * eps, eps ~ N(0, 1): dx/dloc = 1, dx/dscale = eps."""
        eps = noise(self._extended_shape(sample_shape), self.loc.dtype,
                    lambda rng, shape: rng.standard_normal(shape), self.loc)
        return self.loc + self.scale * eps

    def log_prob(self, value):
        """log p(x) = -(x - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi)."""
        x = self._value("log_prob", value, self.loc)
        z = (x - self.loc) / self.scale
        return -0.5 * (z * z) - log(self.scale) - _LOG_SQRT_2PI

    def cdf(self, value):
        """F(x) = Phi((x - loc) / scale)."""
        x = self._value("cdf", value, self.loc)
        return ndtr((x - self.loc) / self.scale)

    def icdf(self, value):
        """F^-1(q) = loc + scale Phi^-1(q)."""
        q = _probability(self, "icdf", value, self.loc)
        return self.loc + self.scale * ndtri(q)

    def entropy(self):
        """H = 1/2 + log sqrt(2 pi) + log scale."""
        return log(self.scale) + (0.5 + _LOG_SQRT_2PI)


class Exponential(Distribution):
    """Exp(rate): p(x) = rate e^(-rate x) for x >= 0."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate, op="Exponential")
        super().__init__(self.rate.shape, validate_args=validate_args)
        self._check_params(rate=self.rate)

    mean = property(lambda self: 1 / self.rate, doc="E[X] = 1 / rate.")
    mode = property(lambda self: self.rate * 0, doc="argmax p = 0.")
    stddev = property(lambda self: 1 / self.rate, doc="1 / rate.")
    variance = property(lambda self: 1 / (self.rate * self.rate), doc="Var X = 1 / rate^2.")

    def rsample(self, sample_shape=()):
        """x = e / rate, e ~ Exp(1): dx/drate = -x / rate."""
        e = noise(self._extended_shape(sample_shape), self.rate.dtype,
                  lambda rng, shape: rng.standard_exponential(shape), self.rate)
        return e / self.rate

    def log_prob(self, value):
        """log p(x) = log rate - rate x."""
        x = self._value("log_prob", value, self.rate)
        return log(self.rate) - self.rate * x

    def cdf(self, value):
        """F(x) = 1 - e^(-rate x) for x >= 0 (computed as -expm1 so small x stays exact)."""
        x = self._value("cdf", value, self.rate, check_support=False)
        return -expm1(-self.rate * clip(x, min=0.0))

    def icdf(self, value):
        """F^-1(q) = -log(1 - q) / rate."""
        q = _probability(self, "icdf", value, self.rate)
        return -log1p(-q) / self.rate

    def entropy(self):
        """H = 1 - log rate."""
        return 1 - log(self.rate)


class Uniform(Distribution):
    """U(low, high): p(x) = 1 / (high - low) for low <= x < high."""

    arg_constraints = {"low": constraints.real, "high": constraints.real}
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high, op="Uniform")
        super().__init__(self.low.shape, validate_args=validate_args)
        self._check_params(low=self.low, high=self.high)
        if self._validate_args and not np.all(self.low._data < self.high._data):
            bad = ~(self.low._data < self.high._data)
            raise ValueError(f"Uniform: low must be less than high; got low="
                             f"{self.low._data[bad][:5]}, high={self.high._data[bad][:5]}")

    @property
    def support(self):
        """[low, high)."""
        return constraints.half_open_interval(self.low._data, self.high._data)

    mean = property(lambda self: (self.low + self.high) / 2, doc="E[X] = (low + high) / 2.")
    stddev = property(lambda self: (self.high - self.low) / math.sqrt(12),
                      doc="(high - low) / sqrt 12.")
    variance = property(lambda self: (self.high - self.low) ** 2 / 12,
                        doc="Var X = (high - low)^2 / 12.")

    def rsample(self, sample_shape=()):
        """x = low + (high - low) u, u ~ U(0, 1)."""
        u = noise(self._extended_shape(sample_shape), self.low.dtype,
                  lambda rng, shape: rng.random(shape), self.low)
        return self.low + (self.high - self.low) * u

    def log_prob(self, value):
        """log p(x) = -log(high - low) inside [low, high), -inf outside (without validation)."""
        x = self._value("log_prob", value, self.low)
        inside = (self.low <= x) & (x < self.high)  # (ops: compiled calls replay them)
        lp = -log(self.high - self.low)
        return where(inside, lp, from_array(np.asarray(-np.inf, dtype=lp.dtype)))

    def cdf(self, value):
        """F(x) = clip((x - low) / (high - low), 0, 1)."""
        x = self._value("cdf", value, self.low, check_support=False)
        return clip((x - self.low) / (self.high - self.low), 0.0, 1.0)

    def icdf(self, value):
        """F^-1(q) = low + q (high - low)."""
        q = _probability(self, "icdf", value, self.low)
        return self.low + q * (self.high - self.low)

    def entropy(self):
        """H = log(high - low)."""
        return log(self.high - self.low)


def _probability(dist, op, value, like):
    """value checked to be a probability in [0, 1] (for icdf)."""
    q = dist._value(op, value, like, check_support=False)
    if dist._validate_args and not np.all((q._data >= 0) & (q._data <= 1)):
        bad = q._data[~((q._data >= 0) & (q._data <= 1))]
        raise ValueError(f"{type(dist).__name__}.{op}: value must be a probability in [0, 1]; "
                         f"got {bad[:5]}")
    return q
