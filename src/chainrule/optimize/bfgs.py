"""BFGS: a quasi-Newton method that learns the inverse Hessian from gradient differences.

With s = x_{k+1} - x_k and y = g_{k+1} - g_k, the inverse-Hessian estimate H is updated so
that H y = s (the secant equation) with the smallest change that keeps it symmetric:
    H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T,      rho = 1 / (y^T s)
and the step is p = -H g with a strong-Wolfe line search, which guarantees y^T s > 0 and so
keeps H positive definite (Nocedal & Wright, Algorithm 6.1; scipy's BFGS).
"""

import numpy as np

from chainrule.optimize.linesearch import initial_step, line_search
from chainrule.optimize.result import LINESEARCH, MAXITER, SUCCESS


def bfgs_update(H, s, y):
    """Inverse-Hessian BFGS update: (I - rho s y^T) H (I - rho y s^T) + rho s s^T."""
    sy = float(s @ y)
    if not sy > 1e-16 * np.linalg.norm(s) * np.linalg.norm(y):
        return H  # curvature condition failed (only possible without Wolfe): skip the update
    rho = 1.0 / sy
    Hy = H @ y
    return (H - rho * (np.outer(s, Hy) + np.outer(Hy, s))
            + (rho * rho * float(y @ Hy) + rho) * np.outer(s, s))


def minimize_bfgs(objective, x0, progress, gtol=1e-5, maxiter=None, norm=np.inf, c1=1e-4,
                  c2=0.9, hess_inv0=None):
    """BFGS with a strong-Wolfe line search; stops when ||grad f||_norm <= gtol."""
    n = x0.size
    maxiter = 200 * n if maxiter is None else maxiter
    H = np.eye(n) if hess_inv0 is None else np.array(hess_inv0, dtype=np.float64)
    if H.shape != (n, n):
        raise ValueError(f"minimize: hess_inv0 must have shape ({n}, {n}); got {H.shape}")
    x = x0.copy()
    f, g = objective.value_and_grad(x)
    f_prev = f + np.linalg.norm(g) / 2  # so the first trial step has length about 1
    status = MAXITER
    for _ in range(maxiter):
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
            break
        p = -H @ g
        found = line_search(objective, x, p, f, g, initial_step(f, f_prev, float(g @ p)),
                            c1, c2)
        if found is None:
            status = LINESEARCH
            break
        alpha, f_new, g_new = found
        s = alpha * p
        x, y = x + s, g_new - g
        f_prev, f, g = f, f_new, g_new
        stop = progress.advance(x, f)
        if stop is not None:
            status = stop
            break
        H = bfgs_update(H, s, y)
    else:
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
    return progress.result(x, f, g, status, hess_inv=H)
