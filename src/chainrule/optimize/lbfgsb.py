"""Projected L-BFGS for box constraints: minimize f(x) subject to lb <= x <= ub.

x is first projected into the box, P(x) = clip(x, lb, ub). The first-order condition is
P(x - g) = x: scipy's L-BFGS-B stops, as this does, when the projected gradient
||P(x - g) - x||_inf <= gtol. Each iteration
  1. fixes the binding variables (at a bound, with -g pointing out of the box) and takes the
     two-loop L-BFGS direction in the free ones, from pairs (s, y) restricted to them;
  2. if the step stays inside the box, searches it for a strong-Wolfe step as unbounded L-BFGS
     does (so in the interior the iterates are exactly those of `lbfgs`);
  3. otherwise backtracks along the projected path x(a) = P(x + a p) until the Armijo
     condition f(x(a)) <= f + c1 g^T (x(a) - x) holds; if that fails it retries once along
     the projected steepest descent direction, from which a decrease always exists.
The relative-decrease test on f (ftol) is scipy's as well. This is the projected-Newton
scheme of Bertsekas (1982) with an L-BFGS metric, not scipy's Cauchy-point L-BFGS-B, so the
iterates differ from scipy's on the boundary while the solution is the same.
"""

from collections import deque

import numpy as np

from chainrule.optimize.bounds import step_to_bound
from chainrule.optimize.lbfgs import check_lbfgs_options, two_loop
from chainrule.optimize.linesearch import line_search
from chainrule.optimize.result import LINESEARCH, MAXITER, SUCCESS


def projected_gradient(x, g, lb, ub):
    """P(x - g) - x: zero exactly at a first-order point of the box-constrained problem."""
    return np.clip(x - g, lb, ub) - x


def _free_direction(g, free, pairs):
    """-H g on the free variables (0 on the fixed ones), H the L-BFGS inverse Hessian."""
    sub = []
    for s, y, _ in pairs:
        sy = float(s[free] @ y[free])
        if sy > np.finfo(float).eps * float(y[free] @ y[free]):
            sub.append((s[free], y[free], 1.0 / sy))
    p = np.zeros_like(g)
    p[free] = -two_loop(g[free], sub)
    return p, bool(sub)


def _projected_search(objective, x, p, f, g, lb, ub, alpha, c1, maxls):
    """Backtrack along P(x + a p) to the Armijo condition: (x, f, g) or None."""
    for _ in range(maxls):
        x_new = np.clip(x + alpha * p, lb, ub)
        dx = x_new - x
        if not np.any(dx):
            return None
        f_new, g_new = objective.value_and_grad(x_new)
        if np.isfinite(f_new) and f_new < f and f_new <= f + c1 * float(g @ dx):
            return x_new, f_new, g_new
        alpha *= 0.5
    return None


def minimize_lbfgsb(objective, x0, progress, lb, ub, maxcor=10, gtol=1e-5,
                    ftol=2.220446049250313e-09, maxiter=15000, maxls=20, maxfun=15000,
                    norm=np.inf, c1=1e-4, c2=0.9):
    """Projected L-BFGS with history size maxcor on the box lb <= x <= ub."""
    check_lbfgs_options(maxcor, maxls, maxfun)
    x = np.clip(x0, lb, ub)
    f, g = objective.value_and_grad(x)
    pairs = deque(maxlen=int(maxcor))
    status, message = MAXITER, None
    for _ in range(maxiter):
        if np.linalg.norm(projected_gradient(x, g, lb, ub), ord=norm) <= gtol:
            status = SUCCESS
            break
        if objective.nfev >= maxfun:
            message = ("Maximum number of function evaluations has been exceeded "
                       f"(maxfun={maxfun}).")
            break
        fixed = ((x <= lb) & (g > 0)) | ((x >= ub) & (g < 0))
        free = ~fixed
        p, curved = _free_direction(g, free, pairs)
        if not float(g @ p) < 0:  # the metric lost positive definiteness on this face
            p, curved = np.where(free, -g, 0.0), False
        # without curvature information yet, the first step is scaled to length 1
        alpha0 = 1.0 if curved else min(1.0, 1.0 / np.linalg.norm(p))
        found = None
        room, _ = step_to_bound(x, p, lb, ub)
        if room > alpha0:
            found = line_search(objective, x, p, f, g, alpha0, c1, c2, amax=room, maxiter=maxls)
            if found is not None:
                alpha, f_new, g_new = found
                found = np.clip(x + alpha * p, lb, ub), f_new, g_new
        if found is None:
            found = _projected_search(objective, x, p, f, g, lb, ub, alpha0, c1, maxls)
        if found is None and curved:
            pairs.clear()  # start the metric again from the projected steepest descent
            steep = np.where(free, -g, 0.0)
            found = _projected_search(objective, x, steep, f, g, lb, ub,
                                      min(1.0, 1.0 / np.linalg.norm(steep)), c1, maxls)
        if found is None:
            status = LINESEARCH
            break
        x_new, f_new, g_new = found
        s, y = x_new - x, g_new - g
        x, f_old, f, g = x_new, f, f_new, g_new
        stop = progress.advance(x, f)
        if stop is not None:
            status = stop
            break
        if float(s @ y) > np.finfo(float).eps * float(y @ y):
            pairs.append((s, y, 1.0 / float(s @ y)))
        if (f_old - f) / max(abs(f_old), abs(f), 1.0) <= ftol:
            status = SUCCESS
            message = ("Optimization terminated successfully: the relative decrease of f was "
                       f"at most ftol={ftol:g}.")
            break
    else:
        if np.linalg.norm(projected_gradient(x, g, lb, ub), ord=norm) <= gtol:
            status = SUCCESS
    return progress.result(x, f, g, status, message)
