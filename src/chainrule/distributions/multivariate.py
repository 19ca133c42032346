"""Distributions over vectors: MultivariateNormal (full covariance through its Cholesky factor)
and Independent (a batch of scalars read as one event, e.g. a diagonal Gaussian)."""

import math

import numpy as np

from chainrule.core.mode import get_default_dtype
from chainrule.core.tensor import from_array
from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution, noise
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.elementwise import log
from chainrule.ops.linalg import cholesky, diagonal, triangular_solve

_LOG_2PI = math.log(2 * math.pi)


class MultivariateNormal(Distribution):
    """N(mu, Sigma) on R^d: log p(x) = -(d log 2pi + |L^-1 (x - mu)|^2) / 2 - sum log diag L.

    Give exactly one of covariance_matrix (Sigma), precision_matrix (Sigma^-1) or scale_tril
    (L, lower triangular with a positive diagonal, Sigma = L L^T). A diagonal Gaussian is
    `Independent(Normal(loc, scale), 1)`, as in PyTorch.
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = {k: v for k, v in (("covariance_matrix", covariance_matrix),
                                   ("precision_matrix", precision_matrix),
                                   ("scale_tril", scale_tril)) if v is not None}
        if len(given) != 1:
            raise ValueError("MultivariateNormal: pass exactly one of covariance_matrix, "
                             f"precision_matrix and scale_tril; got {sorted(given) or 'none'}")
        (name, matrix), = given.items()
        loc, matrix = _floats(to_tensor(loc), to_tensor(matrix))
        if loc.ndim < 1 or matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2] \
                or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(f"MultivariateNormal: loc must be (..., d) and {name} (..., d, d); "
                             f"got shapes {loc.shape} and {matrix.shape}")
        try:
            batch = np.broadcast_shapes(loc.shape[:-1], matrix.shape[:-2])
        except ValueError:
            raise ValueError(f"MultivariateNormal: batch shapes of loc {loc.shape} and {name} "
                             f"{matrix.shape} cannot be broadcast together") from None
        d = loc.shape[-1]
        super().__init__(batch, (d,), validate_args=validate_args)
        self._check_params(**{name: matrix})
        self.loc = loc.broadcast_to(batch + (d,)) if loc.shape != batch + (d,) else loc
        if name == "scale_tril":
            L = matrix
        elif name == "covariance_matrix":
            L = cholesky(matrix)
        else:  # Sigma = P^-1 = Lp^-T Lp^-1
            Lp_inv = triangular_solve(cholesky(matrix), from_array(np.eye(d, dtype=matrix.dtype)))
            L = cholesky(Lp_inv.mT @ Lp_inv)
        self._L = L  # unbroadcast: batch axes of the matrix only

    @property
    def scale_tril(self):
        """L with Sigma = L L^T."""
        return self._L.broadcast_to(self.batch_shape + self.event_shape * 2)

    @property
    def covariance_matrix(self):
        """Sigma = L L^T."""
        return (self._L @ self._L.mT).broadcast_to(self.batch_shape + self.event_shape * 2)

    @property
    def precision_matrix(self):
        """Sigma^-1 = L^-T L^-1."""
        L_inv = self._L_inv()
        return (L_inv.mT @ L_inv).broadcast_to(self.batch_shape + self.event_shape * 2)

    mean = property(lambda self: self.loc, doc="E[X] = mu.")
    mode = property(lambda self: self.loc, doc="argmax p = mu.")

    @property
    def variance(self):
        """diag Sigma = row sums of L^2."""
        return (self._L * self._L).sum(-1).broadcast_to(self.batch_shape + self.event_shape)

    def _L_inv(self):
        return triangular_solve(self._L, from_array(np.eye(self._L.shape[-1], dtype=self._L.dtype)))

    def _half_log_det(self):
        return log(diagonal(self._L, 0, -2, -1)).sum(-1)

    def rsample(self, sample_shape=()):
        """x = mu + L eps, eps ~ N(0, I)."""
        eps = noise(self._extended_shape(sample_shape), self.loc.dtype,
                    lambda rng, shape: rng.standard_normal(shape), self.loc)
        return self.loc + (self._L @ eps[..., None])[..., 0]

    def log_prob(self, value):
        """log p(x) = -(d log 2pi + |z|^2) / 2 - sum log diag L, z = L^-1 (x - mu)."""
        x = self._value("log_prob", value, self.loc)
        z = (self._L_inv() @ (x - self.loc)[..., None])[..., 0]
        d = self.event_shape[0]
        return -0.5 * ((z * z).sum(-1) + d * _LOG_2PI) - self._half_log_det()

    def entropy(self):
        """H = d (1 + log 2pi) / 2 + sum log diag L."""
        d = self.event_shape[0]
        h = self._half_log_det() + 0.5 * d * (1 + _LOG_2PI)
        return h.broadcast_to(self.batch_shape) if h.shape != self.batch_shape else h


def _floats(*tensors):
    """Integer tensors take the floating dtype of the others (or the default dtype)."""
    dtype = next((t.dtype for t in tensors if t.dtype.kind == "f"), get_default_dtype())
    return [t if t.dtype.kind == "f" else t.astype(dtype) for t in tensors]


class Independent(Distribution):
    """Reinterpret the last n batch axes of `base_distribution` as event axes: log p sums them.

        >>> import chainrule as cr
        >>> diag = cr.distributions.Independent(cr.distributions.Normal([0., 0.], [1., 2.]), 1)
        >>> diag.batch_shape, diag.event_shape
        ((), (2,))
    """

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        if not isinstance(base_distribution, Distribution):
            raise TypeError("Independent: base_distribution must be a Distribution; got "
                            f"{type(base_distribution).__name__}")
        n = int(reinterpreted_batch_ndims)
        shape = base_distribution.batch_shape
        if not 0 <= n <= len(shape):
            raise ValueError(f"Independent: reinterpreted_batch_ndims must be in [0, "
                             f"{len(shape)}] for batch_shape {shape}; got {n}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        cut = len(shape) - n
        super().__init__(shape[:cut], shape[cut:] + base_distribution.event_shape,
                         validate_args=validate_args)

    has_rsample = property(lambda self: self.base_dist.has_rsample)
    support = property(lambda self: self.base_dist.support)
    mean = property(lambda self: self.base_dist.mean)
    mode = property(lambda self: self.base_dist.mode)
    variance = property(lambda self: self.base_dist.variance)

    def _reduce(self, t):
        n = self.reinterpreted_batch_ndims
        return t.sum(tuple(range(-n, 0))) if n else t

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        """log p(x) = sum over the reinterpreted axes of the base log p."""
        return self._reduce(self.base_dist.log_prob(value))

    def entropy(self):
        """H = sum over the reinterpreted axes of the base entropies."""
        return self._reduce(self.base_dist.entropy())

    def cdf(self, value):
        raise NotImplementedError("Independent: cdf of a vector event is not defined here")

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
