"""Nonlinear conjugate gradient: p_{k+1} = -g_{k+1} + beta p_k, with a strong-Wolfe search.

    Fletcher-Reeves:  beta = g_{k+1}^T g_{k+1} / g_k^T g_k
    Polak-Ribiere+:   beta = max(0, g_{k+1}^T (g_{k+1} - g_k) / g_k^T g_k)
On a quadratic with exact line searches both reduce to linear CG (n steps at most). PR+ resets
itself (beta = 0) when progress stalls; FR is restarted with -g when successive gradients stop
being nearly orthogonal, |g_{k+1}^T g_k| >= 0.1 |g_{k+1}|^2 (Nocedal & Wright, eq. 5.52). A new
direction that is not a sufficient descent direction (p^T g > -0.01 |g|^2) is replaced by -g.
c2 = 0.4 < 1/2, as the theory of FR requires (scipy's CG uses the same value).
"""

import numpy as np

from chainrule.optimize.linesearch import initial_step, line_search
from chainrule.optimize.result import LINESEARCH, MAXITER, SUCCESS

_BETAS = ("pr+", "fr")


def minimize_cg(objective, x0, progress, beta="pr+", gtol=1e-5, maxiter=None, norm=np.inf,
                c1=1e-4, c2=0.4):
    """Nonlinear CG, beta='pr+' (Polak-Ribiere+, default) or 'fr' (Fletcher-Reeves)."""
    rule = str(beta).lower()
    if rule not in _BETAS:
        raise ValueError(f"minimize: cg beta must be one of {', '.join(_BETAS)}; got {beta!r}")
    maxiter = 200 * x0.size if maxiter is None else maxiter
    x = x0.copy()
    f, g = objective.value_and_grad(x)
    f_prev = f + np.linalg.norm(g) / 2  # so the first trial step has length about 1
    p = -g
    status = MAXITER
    for _ in range(maxiter):
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
            break
        found = line_search(objective, x, p, f, g, initial_step(f, f_prev, float(g @ p)), c1, c2)
        if found is None:
            status = LINESEARCH
            break
        alpha, f_new, g_new = found
        x = x + alpha * p
        gg = float(g @ g)
        if rule == "fr":
            b = float(g_new @ g_new) / gg
            if abs(float(g_new @ g)) >= 0.1 * float(g_new @ g_new):
                b = 0.0
        else:
            b = max(0.0, float(g_new @ (g_new - g)) / gg)
        p = -g_new + b * p
        if float(p @ g_new) > -0.01 * float(g_new @ g_new):
            p = -g_new
        f_prev, f, g = f, f_new, g_new
        stop = progress.advance(x, f)
        if stop is not None:
            status = stop
            break
    else:
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
    return progress.result(x, f, g, status)
