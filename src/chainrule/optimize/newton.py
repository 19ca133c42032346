"""Newton's method from the second-order Taylor model, and truncated Newton (Newton-CG).

Around x, f(x + p) ~ f + g^T p + 1/2 p^T H p; when H is positive definite the model's minimizer
is the Newton step p = -H^{-1} g. Where H is not positive definite the raw step heads for the
model's stationary point, which may be a saddle or a maximum, so `modification` chooses:
    "damped"       p = -(H + tau I)^{-1} g, the smallest tau (doubling) for which Cholesky
                   succeeds (Nocedal & Wright, Algorithm 3.3); tau = 0 when H is PD.
    "saddle-free"  p = -|H|^{-1} g with |H| = V |Lambda| V^T: curvature keeps its size but
                   negative directions are walked down, not up (Dauphin et al., 2014).
    "none"         p = -H^{-1} g: the undamped step, drawn to any stationary point.
Newton-CG never forms H: it solves H p = -g approximately by linear CG using Hessian-vector
products (one extra backward pass each), stopping early at negative curvature.
"""

import numpy as np

from chainrule.optimize.linesearch import line_search
from chainrule.optimize.result import LINESEARCH, MAXITER, NONFINITE, SUCCESS

MODIFICATIONS = ("damped", "saddle-free", "none")


def newton_direction(H, g, modification="damped"):
    """Newton direction p for Hessian H, gradient g and `modification`; returns (p, tau)."""
    if modification == "none":
        try:
            return np.linalg.solve(H, -g), 0.0
        except np.linalg.LinAlgError:  # singular H: the least-norm solution of H p = -g
            return np.linalg.lstsq(H, -g, rcond=None)[0], 0.0
    if modification == "saddle-free":
        w, V = np.linalg.eigh(H)
        a = np.abs(w)
        # flat directions would give an infinite step; floor |lambda| relative to the largest
        a = np.maximum(a, max(a.max(), 1.0) * 1e-8)
        return -V @ ((V.T @ g) / a), 0.0
    diag = np.diag(H)
    beta = 1e-3 * max(np.abs(diag).max(), 1e-12)
    tau = 0.0 if diag.min() > 0 else beta - diag.min()
    eye = np.eye(len(g))
    for _ in range(200):
        try:
            L = np.linalg.cholesky(H + tau * eye)
            break
        except np.linalg.LinAlgError:
            tau = max(2.0 * tau, beta)
    else:
        raise ValueError(f"newton: could not make the Hessian positive definite; got tau={tau}")
    z = np.linalg.solve(L, -g)
    return np.linalg.solve(L.T, z), tau


def minimize_newton(objective, x0, progress, modification="damped", linesearch=True, gtol=1e-5,
                    maxiter=None, norm=np.inf, c1=1e-4, c2=0.9):
    """Newton's method with the exact Hessian from autodiff; see the module for `modification`.

    linesearch=True takes a strong-Wolfe step starting from alpha = 1; False takes the full
    step (pure Newton iteration x <- x - H^{-1} g when modification="none").
    """
    if modification not in MODIFICATIONS:
        raise ValueError(f"minimize: newton modification must be one of "
                         f"{', '.join(MODIFICATIONS)}; got {modification!r}")
    maxiter = 200 * x0.size if maxiter is None else maxiter
    x = x0.copy()
    f, g = objective.value_and_grad(x)
    status = MAXITER
    for _ in range(maxiter):
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
            break
        H = objective.hess(x)
        if not np.all(np.isfinite(H)):
            status = NONFINITE
            break
        p, _ = newton_direction(H, g, modification)
        if linesearch:
            found = line_search(objective, x, p, f, g, 1.0, c1, c2)
            if found is None:
                status = LINESEARCH
                break
            alpha, f, g = found
            x = x + alpha * p
        else:
            x = x + p
            f, g = objective.value_and_grad(x)
        stop = progress.advance(x, f, g)
        if stop is not None:
            status = stop
            break
    else:
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
    return progress.result(x, f, g, status, _saddle_note(objective, x) if status == SUCCESS
                           else None)


def _saddle_note(objective, x):
    """A success message that says so when the stationary point found is not a minimum."""
    w = np.linalg.eigvalsh(objective.hess(x))
    # only a clearly negative curvature counts: near a flat minimum rounding and the gradient
    # tolerance leave eigenvalues slightly below zero
    if w[0] < -1e-4 * abs(w[-1]):
        return (f"Optimization terminated successfully, but x is a saddle point, not a minimum: "
                f"the Hessian at x has the negative eigenvalue {w[0]:.6g}.")
    return None


def truncated_cg(hessp, g, tol, maxiter):
    """Approximate solution of H p = -g by linear CG from p = 0, stopped at |r|_1 <= tol.

    On negative (or zero) curvature d^T H d <= 0 it returns the current iterate, or -g if that
    happens on the first direction (Nocedal & Wright, Algorithm 7.1).
    """
    z = np.zeros_like(g)
    r = g.copy()
    d = -r
    rr = float(r @ r)
    for j in range(maxiter):
        if np.abs(r).sum() <= tol:
            break
        Hd = hessp(d)
        curv = float(d @ Hd)
        if curv <= 3 * np.finfo(float).eps * float(d @ d):
            return -g if j == 0 else z
        a = rr / curv
        z += a * d
        r += a * Hd
        rr_new = float(r @ r)
        d = -r + (rr_new / rr) * d
        rr = rr_new
    return z


def minimize_newton_cg(objective, x0, progress, xtol=1e-5, maxiter=None, cg_maxiter=None,
                       c1=1e-4, c2=0.9):
    """Truncated Newton: CG on H p = -g to relative accuracy min(0.5, sqrt|g|), then a Wolfe step.

    Stops when the mean absolute change of x in a step is at most xtol (scipy's criterion).
    """
    n = x0.size
    maxiter = 200 * n if maxiter is None else maxiter
    cg_maxiter = 20 * n if cg_maxiter is None else cg_maxiter
    x = x0.copy()
    f, g = objective.value_and_grad(x)
    status = MAXITER
    for _ in range(maxiter):
        gnorm1 = np.abs(g).sum()
        if gnorm1 == 0:
            status = SUCCESS
            break
        p = truncated_cg(objective.hessp(x), g, min(0.5, np.sqrt(gnorm1)) * gnorm1, cg_maxiter)
        found = line_search(objective, x, p, f, g, 1.0, c1, c2)
        if found is None:
            # a full step below xtol cannot be resolved in f: x is converged, not stuck
            status = SUCCESS if np.abs(p).sum() <= n * xtol else LINESEARCH
            break
        alpha, f, g = found
        update = alpha * p
        x = x + update
        stop = progress.advance(x, f)
        if stop is not None:
            status = stop
            break
        if np.abs(update).sum() <= n * xtol:
            status = SUCCESS
            break
    return progress.result(x, f, g, status)
