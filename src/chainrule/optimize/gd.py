"""Fixed-step first-order methods: gradient descent, heavy-ball momentum, Nesterov momentum.

    gd:        x <- x - lr g(x)
    momentum:  v <- mu v + g(x);          x <- x - lr v       (Polyak's heavy ball)
    nesterov:  v <- mu v + g(x);          x <- x - lr (g(x) + mu v)
The momentum forms are PyTorch's SGD (same `lr` and `momentum` names). On a quadratic with
Hessian eigenvalues in [m, L] (condition number kappa = L/m), gd with lr = 2/(L + m) shrinks
the error by (kappa-1)/(kappa+1) per step; heavy ball with lr = 4/(sqrt L + sqrt m)^2 and
momentum = ((sqrt kappa - 1)/(sqrt kappa + 1))^2 converges at rate (sqrt kappa-1)/(sqrt kappa+1).
"""

import numpy as np

from chainrule.optimize.result import CALLBACK, MAXITER, NONFINITE, SUCCESS


def _first_order(objective, x0, progress, lr, momentum, nesterov, gtol, maxiter, norm):
    if not lr > 0:
        raise ValueError(f"minimize: lr must be positive; got {lr}")
    if not 0 <= momentum < 1:
        raise ValueError(f"minimize: momentum must be in [0, 1); got {momentum}")
    x = x0.copy()
    f, g = objective.value_and_grad(x)
    v = np.zeros_like(x)
    status = MAXITER
    for _ in range(maxiter):
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
            break
        if momentum:
            v = momentum * v + g
            x = x - lr * (g + momentum * v if nesterov else v)
        else:
            x = x - lr * g
        f, g = objective.value_and_grad(x)
        if not (np.isfinite(f) and np.all(np.isfinite(g))):
            progress.step(x, f)
            return progress.result(x, f, g, NONFINITE, message=(
                f"NaN or Inf encountered after {progress.nit} iterations: the iterates "
                f"diverged; the step lr={lr} is probably too large for this objective."))
        if progress.step(x, f):
            status = CALLBACK
            break
    else:
        if np.linalg.norm(g, ord=norm) <= gtol:
            status = SUCCESS
    return progress.result(x, f, g, status)


def minimize_gd(objective, x0, progress, lr=1e-3, gtol=1e-5, maxiter=10000, norm=np.inf):
    """Gradient descent with a fixed step: x <- x - lr grad f(x)."""
    return _first_order(objective, x0, progress, lr, 0.0, False, gtol, maxiter, norm)


def minimize_momentum(objective, x0, progress, lr=1e-3, momentum=0.9, gtol=1e-5, maxiter=10000,
                      norm=np.inf):
    """Heavy-ball momentum: v <- momentum v + g; x <- x - lr v."""
    return _first_order(objective, x0, progress, lr, momentum, False, gtol, maxiter, norm)


def minimize_nesterov(objective, x0, progress, lr=1e-3, momentum=0.9, gtol=1e-5, maxiter=10000,
                      norm=np.inf):
    """Nesterov momentum: v <- momentum v + g; x <- x - lr (g + momentum v)."""
    return _first_order(objective, x0, progress, lr, momentum, True, gtol, maxiter, norm)

