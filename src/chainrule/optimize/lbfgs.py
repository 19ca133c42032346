"""L-BFGS: BFGS that keeps only the last m pairs (s, y) instead of an n x n matrix.

The product H g is computed by the two-loop recursion (Nocedal & Wright, Algorithm 7.4) with
H0 = gamma I, gamma = s^T y / y^T y from the newest pair, in O(m n) time and memory; the step
-H g takes a strong-Wolfe line search. Stops when ||g||_inf <= gtol or when the relative
decrease (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol, as scipy's L-BFGS-B does.
"""

from collections import deque

import numpy as np

from chainrule.optimize.linesearch import line_search
from chainrule.optimize.result import LINESEARCH, MAXITER, SUCCESS


def two_loop(g, pairs):
    """H g for the L-BFGS inverse Hessian built from pairs [(s, y, rho), ...], oldest first."""
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * float(s @ q)
        q -= a * y
        alphas.append(a)
    if pairs:
        s, y, _ = pairs[-1]
        q *= float(s @ y) / float(y @ y)  # H0 = gamma I scales the step to the curvature seen
    for (s, y, rho), a in zip(pairs, reversed(alphas)):
        b = rho * float(y @ q)
        q += (a - b) * s
    return q


def check_lbfgs_options(maxcor, maxls, maxfun):
    """scipy's L-BFGS-B options: history size maxcor, line-search trials maxls, maxfun."""
    for name, value in (("maxcor", maxcor), ("maxls", maxls), ("maxfun", maxfun)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"minimize: lbfgs option {name} must be a positive integer; got "
                             f"{value!r}")


def minimize_lbfgs(objective, x0, progress, maxcor=10, gtol=1e-5, ftol=2.220446049250313e-09,
                   maxiter=15000, maxls=20, maxfun=15000, norm=np.inf, c1=1e-4, c2=0.9):
    """L-BFGS with history size maxcor (scipy's name; `m` is accepted too) and a strong-Wolfe
    line search of at most maxls trials; at most maxfun evaluations of f."""
    check_lbfgs_options(maxcor, maxls, maxfun)
    x = x0.copy()
    f, g = objective.value_and_grad(x)
    pairs = deque(maxlen=int(maxcor))
    status, message = MAXITER, None
    for _ in range(maxiter):
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
            break
        if objective.nfev >= maxfun:
            message = ("Maximum number of function evaluations has been exceeded "
                       f"(maxfun={maxfun}).")
            break
        p = -two_loop(g, list(pairs))
        # without curvature information yet, the first step is scaled to length 1
        alpha0 = 1.0 if pairs else min(1.0, 1.0 / np.linalg.norm(g))
        found = line_search(objective, x, p, f, g, alpha0, c1, c2, maxiter=maxls)
        if found is None:
            status = LINESEARCH
            break
        alpha, f_new, g_new = found
        s = alpha * p
        y = g_new - g
        x, f_old, f, g = x + s, f, f_new, g_new
        stop = progress.advance(x, f)
        if stop is not None:
            status = stop
            break
        sy = float(s @ y)
        if sy > np.finfo(float).eps * float(y @ y):
            pairs.append((s, y, 1.0 / sy))
        if (f_old - f) / max(abs(f_old), abs(f), 1.0) <= ftol:
            status = SUCCESS
            message = ("Optimization terminated successfully: the relative decrease of f was "
                       f"at most ftol={ftol:g}.")
            break
    else:
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
    return progress.result(x, f, g, status, message)
