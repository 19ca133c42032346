"""Constraints: the sets that parameters and values must lie in (torch.distributions.constraints).

Each constraint has `check(array) -> bool array` (elementwise over the batch) and a name that
the error messages use.
"""

import numpy as np


class Constraint:
    """A set of values; `check` returns an elementwise boolean array."""

    name = "constraint"
    is_discrete = False
    event_dim = 0

    def check(self, x):
        raise NotImplementedError

    def __repr__(self):
        return self.name


class _Real(Constraint):
    name = "real"

    def check(self, x):
        return x == x  # everything but NaN


class _GreaterThan(Constraint):
    def __init__(self, lower, strict=True):
        self.lower, self.strict = lower, strict
        self.name = f"{'>' if strict else '>='} {lower}"

    def check(self, x):
        return x > self.lower if self.strict else x >= self.lower


class _Interval(Constraint):
    def __init__(self, lower, upper, half_open=False):
        self.lower, self.upper, self.half_open = lower, upper, half_open
        self.name = f"in [{lower}, {upper}{')' if half_open else ']'}"

    def check(self, x):
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        return (x >= lo) & ((x < hi) if self.half_open else (x <= hi))


class _OpenUnitInterval(Constraint):
    name = "in (0, 1)"

    def check(self, x):
        return (x > 0) & (x < 1)


class _Boolean(Constraint):
    name = "0 or 1"
    is_discrete = True

    def check(self, x):
        return (x == 0) | (x == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower, upper):
        self.lower, self.upper = lower, upper
        self.name = f"an integer in [{lower}, {upper}]"

    def check(self, x):
        return (x % 1 == 0) & (x >= self.lower) & (x <= self.upper)


class _Simplex(Constraint):
    name = "a probability vector (non-negative, summing to 1 along the last axis)"
    event_dim = 1

    def check(self, x):
        return np.all(x >= 0, axis=-1) & (np.abs(x.sum(-1) - 1) < 1e-6)


class _RealVector(Constraint):
    name = "a real vector"
    event_dim = 1

    def check(self, x):
        return np.all(x == x, axis=-1)


class _LowerCholesky(Constraint):
    name = "lower triangular with a positive diagonal"
    event_dim = 2

    def check(self, x):
        lower = np.all(np.triu(x, 1) == 0, axis=(-2, -1))
        return lower & np.all(np.diagonal(x, axis1=-2, axis2=-1) > 0, axis=-1)


class _PositiveDefinite(Constraint):
    name = "symmetric positive-definite"
    event_dim = 2

    def check(self, x):
        symmetric = np.all(np.abs(x - np.swapaxes(x, -1, -2)) <= 1e-8 * (1 + np.abs(x)),
                           axis=(-2, -1))
        ok = np.zeros(x.shape[:-2], dtype=bool)
        for idx in np.ndindex(*x.shape[:-2]):
            try:
                np.linalg.cholesky(x[idx])
                ok[idx] = True
            except np.linalg.LinAlgError:
                pass
        return symmetric & ok


real = _Real()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThan(0.0, strict=False)
unit_interval = _Interval(0.0, 1.0)
open_unit_interval = _OpenUnitInterval()
boolean = _Boolean()
simplex = _Simplex()
real_vector = _RealVector()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
integer_interval = _IntegerInterval
interval = _Interval
greater_than = _GreaterThan


def half_open_interval(lower, upper):
    """[lower, upper)"""
    return _Interval(lower, upper, half_open=True)
