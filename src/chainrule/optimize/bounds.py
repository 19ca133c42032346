"""Box constraints lb <= x <= ub in scipy.optimize's two spellings, as flat float64 arrays.

minimize takes one (min, max) pair per element of x (None: unbounded), least_squares one pair
(lb, ub) of scalars or arrays; both also take a `scipy.optimize.Bounds` (anything with `lb`
and `ub` attributes). Infinite bounds are allowed; a box with lb > ub somewhere is an error.
"""

import numpy as np


def _side(values, n, op, what):
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: {what} must be numbers or arrays of numbers; got "
                        f"{values!r}") from e
    if arr.size == 1:
        return np.full(n, float(arr.reshape(())))
    if arr.size != n:
        raise ValueError(f"{op}: {what} has {arr.size} entries but x0 has {n}")
    return arr.reshape(-1).copy()


def _checked(lb, ub, op):
    if np.any(np.isnan(lb)) or np.any(np.isnan(ub)):
        raise ValueError(f"{op}: bounds must not be NaN")
    bad = np.flatnonzero(lb > ub)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{op}: each lower bound must be <= its upper bound; got lb[{i}] = "
                         f"{lb[i]} > ub[{i}] = {ub[i]}")
    return lb, ub


def minimize_bounds(bounds, n, op="minimize"):
    """(lb, ub) of length n from minimize's bounds, or None when nothing is bounded.

    bounds: None, a sequence of n pairs (min, max) with None for no bound, or an object with
    `lb` / `ub` (scipy.optimize.Bounds).
    """
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb, ub = _side(bounds.lb, n, op, "bounds.lb"), _side(bounds.ub, n, op, "bounds.ub")
    else:
        try:
            pairs = list(bounds)
        except TypeError as e:
            raise TypeError(f"{op}: bounds must be a sequence of (min, max) pairs or a "
                            f"scipy.optimize.Bounds; got {type(bounds).__name__}") from e
        if len(pairs) != n:
            raise ValueError(f"{op}: bounds has {len(pairs)} (min, max) pairs but x0 has "
                             f"{n} elements")
        lb, ub = np.full(n, -np.inf), np.full(n, np.inf)
        for i, pair in enumerate(pairs):
            try:
                lo, hi = pair
            except (TypeError, ValueError) as e:
                raise ValueError(f"{op}: bounds[{i}] must be a (min, max) pair; got "
                                 f"{pair!r}") from e
            lb[i] = -np.inf if lo is None else float(lo)
            ub[i] = np.inf if hi is None else float(hi)
    lb, ub = _checked(lb, ub, op)
    if np.all(np.isneginf(lb)) and np.all(np.isposinf(ub)):
        return None
    return lb, ub


def least_squares_bounds(bounds, n, op="least_squares"):
    """(lb, ub) of length n from least_squares' bounds=(lb, ub), or None when unbounded."""
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lo, hi = bounds.lb, bounds.ub
    else:
        try:
            lo, hi = bounds
        except (TypeError, ValueError) as e:
            raise ValueError(f"{op}: bounds must be a pair (lb, ub) of scalars or arrays of "
                             f"length n; got {bounds!r}") from e
    lb, ub = _checked(_side(lo, n, op, "lb"), _side(hi, n, op, "ub"), op)
    if np.all(np.isneginf(lb)) and np.all(np.isposinf(ub)):
        return None
    return lb, ub


def step_to_bound(x, p, lb, ub):
    """The largest t >= 0 with lb <= x + t p <= ub (inf if none), and which bounds stop it:
    hits[i] = -1 (lower), +1 (upper) or 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, (ub - x) / p, np.where(p < 0, (lb - x) / p, np.inf))
    t = np.maximum(t, 0.0)
    tmin = float(np.min(t, initial=np.inf))
    hits = np.where(t == tmin, np.sign(p), 0.0).astype(int) if np.isfinite(tmin) else \
        np.zeros(x.size, dtype=int)
    return tmin, hits
