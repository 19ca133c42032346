"""Strong-Wolfe line search (Nocedal & Wright, Algorithms 3.5 and 3.6), shared by the methods.

Along p from x, phi(a) = f(x + a p). A step a is accepted when
    phi(a) <= phi(0) + c1 a phi'(0)        (sufficient decrease, Armijo)
    |phi'(a)| <= c2 |phi'(0)|              (strong curvature condition)
with 0 < c1 < c2 < 1. Each trial evaluates f and its gradient together (one autodiff pass), so
phi'(a) = grad f(x + a p) . p is free, and the zoom phase interpolates with a cubic that
matches both values and slopes at the bracket's ends.
"""

import math

import numpy as np

from chainrule.optimize.objective import Objective, as_float_array

_EPS = float(np.finfo(np.float64).eps)


def _cubic_min(a, fa, da, b, fb, db):
    """Minimizer of the cubic through (a, fa, da) and (b, fb, db); NaN when it has none."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if disc < 0 or a == b:
        return math.nan
    d2 = math.copysign(math.sqrt(disc), b - a)
    denom = db - da + 2.0 * d2
    if denom == 0:
        return math.nan
    return b - (b - a) * (db + d2 - d1) / denom


def scalar_search_wolfe(phi, phi0, dphi0, alpha0=1.0, c1=1e-4, c2=0.9, amax=1e100, maxiter=30):
    """Step a satisfying the strong Wolfe conditions for phi: a -> (phi(a), phi'(a), extra).

    Returns (a, phi(a), extra) or None when no such step was found (or dphi0 >= 0, which
    means p is not a descent direction).
    """
    if not 0 < c1 < c2 < 1:
        raise ValueError(f"line_search: need 0 < c1 < c2 < 1; got c1={c1}, c2={c2}")
    if not dphi0 < 0 or not math.isfinite(phi0):
        return None
    # f is only known to rounding: a step that meets the curvature condition and does not
    # raise f beyond that level is accepted (the "approximate Wolfe" idea of Hager and Zhang)
    noise = 1e3 * _EPS * max(1.0, abs(phi0))
    a_prev, f_prev, d_prev = 0.0, phi0, dphi0
    a = min(float(alpha0), amax)
    for i in range(maxiter):
        if not a > 0:
            return None
        fa, da, ea = phi(a)
        if not (math.isfinite(fa) and math.isfinite(da)):
            # overshot into a region where f blows up: retreat toward the last good step
            a = a_prev + 0.5 * (a - a_prev)
            continue
        if abs(da) <= -c2 * dphi0 and fa <= phi0 + c1 * a * dphi0 + noise:
            return a, fa, ea
        if fa > phi0 + c1 * a * dphi0 or (i > 0 and fa >= f_prev):
            return _zoom(phi, phi0, dphi0, c1, c2, noise, a_prev, f_prev, d_prev, a, fa, da,
                         maxiter)
        if da >= 0:
            return _zoom(phi, phi0, dphi0, c1, c2, noise, a, fa, da, a_prev, f_prev, d_prev,
                         maxiter)
        if a >= amax:
            return None
        # still descending steeply: extrapolate with the cubic, kept in [2.1 a, 5 a] (as in
        # More and Thuente's search) when the previous point was 0
        lo, hi = a + 1.1 * (a - a_prev), a + 4.0 * (a - a_prev)
        a_next = _cubic_min(a_prev, f_prev, d_prev, a, fa, da)
        a_next = min(max(a_next, lo), hi) if math.isfinite(a_next) else hi
        a_prev, f_prev, d_prev = a, fa, da
        a = min(a_next, amax)
    return None


def _zoom(phi, phi0, dphi0, c1, c2, noise, lo, f_lo, d_lo, hi, f_hi, d_hi, maxiter):
    """Shrink the bracket [lo, hi] (lo has the lower value) until a Wolfe step is inside."""
    for _ in range(maxiter):
        width = hi - lo
        a = _cubic_min(lo, f_lo, d_lo, hi, f_hi, d_hi)
        # keep the trial well inside the bracket, or bisect
        if not (math.isfinite(a) and min(lo, hi) + 0.1 * abs(width) <= a <=
                max(lo, hi) - 0.1 * abs(width)):
            a = lo + 0.5 * width
        if a == lo or a == hi:
            break  # the bracket has collapsed to rounding level
        fa, da, ea = phi(a)
        if not (math.isfinite(fa) and math.isfinite(da)):
            hi, f_hi, d_hi = a, math.inf, math.nan
            continue
        if abs(da) <= -c2 * dphi0 and fa <= phi0 + c1 * a * dphi0 + noise:
            return a, fa, ea
        if fa > phi0 + c1 * a * dphi0 or fa >= f_lo:
            hi, f_hi, d_hi = a, fa, da
        else:
            if da * (hi - lo) >= 0:
                hi, f_hi, d_hi = lo, f_lo, d_lo
            lo, f_lo, d_lo = a, fa, da
    return None


def line_search(fun, x, p, f=None, g=None, alpha0=1.0, c1=1e-4, c2=0.9, amax=1e100,
                maxiter=30):
    """Strong-Wolfe step length along p from x: returns (alpha, f(x + alpha p), its gradient).

    fun is a scalar function of a Tensor (derivatives by autodiff) or an Objective; f and g,
    its value and gradient at x, are computed when not given. Returns None when the search
    fails (p is not a descent direction, or no step within maxiter trials qualifies).
    """
    if isinstance(fun, Objective):
        objective, shape = fun, None
    else:
        x = as_float_array(x, "x", "line_search")
        objective, shape = Objective(fun, x, op="line_search"), x.shape
        x = x.ravel()
        p = as_float_array(p, "p", "line_search")
        if p.size != x.size:
            raise ValueError(f"line_search: p has shape {p.shape} but x has shape {shape}")
        p = p.ravel()
        if g is not None:
            g = as_float_array(g, "g", "line_search").ravel()
    if f is None or g is None:
        f, g = objective.value_and_grad(x)

    def phi(a):
        fa, ga = objective.value_and_grad(x + a * p)
        return fa, float(ga @ p), ga

    found = scalar_search_wolfe(phi, f, float(g @ p), alpha0, c1, c2, amax, maxiter)
    if found is None or shape is None:
        return found
    alpha, fa, ga = found
    return alpha, fa, ga.reshape(shape)


def initial_step(f, f_prev, dphi0):
    """First trial step from the last decrease (N&W 3.60): min(1, 2.02 (f - f_prev) / phi'(0)).

    Assumes the next decrease equals the last one; scipy's BFGS and CG use the same rule, with
    f_prev = f + |g|/2 before the first step so that the first move has length about 1.
    """
    if f_prev is None or not np.isfinite(f_prev) or dphi0 == 0:
        return 1.0
    a0 = 1.01 * 2.0 * (f - f_prev) / dphi0
    return 1.0 if not a0 > 0 else min(1.0, a0)
