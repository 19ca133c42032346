"""Nonlinear least squares: minimize cost(x) = 1/2 sum_i r_i(x)^2, with J = dr/dx from autodiff.

Near x the residuals are linear, r(x + h) ~ r + J h, so the cost is modelled by the quadratic
1/2 |r + J h|^2 whose Hessian J^T J needs first derivatives only.
    gauss-newton:  h = argmin |r + J h|^2 (by lstsq), then backtracking on the true cost.
    lm:            (J^T J + mu D) h = -J^T r with D = diag(J^T J) (Marquardt's scaling). mu
                   moves between Gauss-Newton (mu -> 0) and short gradient steps (mu large),
                   adapted from the gain ratio rho = actual / predicted decrease (Nielsen's rule).
    trf:           trust-region reflective (trf.py), the method for bounds lb <= x <= ub.
Stopping follows scipy.optimize.least_squares: ftol (relative decrease of the cost), xtol
(relative step size) and gtol (cosine between the residual and the Jacobian's columns; for trf
the scaled gradient's max-norm, scipy's first-order optimality).

    >>> import numpy as np, chainrule as cr
    >>> t = np.linspace(0, 3, 20); y = 2.0 * np.exp(-1.5 * t) + 0.5
    >>> res = cr.optimize.least_squares(lambda p: p[0] * (-p[1] * t).exp() + p[2] - y,
    ...                                 [1.0, 1.0, 0.0])
    >>> res.x.round(6).tolist()
    [2.0, 1.5, 0.5]
"""

import numpy as np

from chainrule._device import require_host as _require_host
from chainrule.core import mode as _mode
from chainrule.core.engine import grad as _autograd_grad
from chainrule.core.tensor import Tensor, from_array
from chainrule.optimize.bounds import least_squares_bounds
from chainrule.optimize.objective import _to_array, as_float_array, call_with_array
from chainrule.optimize.result import OptimizeResult
from chainrule.optimize.trf import trf

METHODS = ("lm", "gauss-newton", "trf")
_MESSAGES = {
    -2: "Stopped because `callback` returned True.",
    -1: "Improper input: the step could not be computed (the cost did not decrease along the "
        "Gauss-Newton direction).",
    0: "The maximum number of function evaluations is exceeded (max_nfev={}).",
    1: "`gtol` termination condition is satisfied.",
    2: "`ftol` termination condition is satisfied.",
    3: "`xtol` termination condition is satisfied.",
    4: "Both `ftol` and `xtol` termination conditions are satisfied.",
}


class Residuals:
    """Residual vector r(x) (flattened) and its Jacobian J (m x n), counting evaluations.

    fun gets a float64 Tensor shaped like x0, or an ndarray when jac is supplied (scipy's
    convention; jac always gets an ndarray). args: a tuple, or one extra argument.
    """

    def __init__(self, fun, x0, args=(), jac=None):
        if not callable(fun):
            raise TypeError(f"least_squares: fun must be callable; got {type(fun).__name__}")
        if jac is not None and not callable(jac):
            raise TypeError(f"least_squares: jac must be None or callable; got {jac!r}")
        self.fun, self.jac = fun, jac
        self.args = args if isinstance(args, tuple) else (args,)  # scipy wraps a non-tuple
        self.shape = x0.shape
        self.n = x0.size
        self.m = None
        self.nfev = self.njev = 0

    def _tensor(self, x, requires_grad=False):
        t = from_array(np.array(x, dtype=np.float64).reshape(self.shape))
        t.requires_grad = requires_grad
        return t

    def _point(self, x):
        """What fun receives: an ndarray when jac is supplied, else a Tensor (for autodiff)."""
        if self.jac is not None:
            return np.array(x, dtype=np.float64).reshape(self.shape)
        return self._tensor(x)

    def _check(self, r):
        if self.m is None:  # the first call is at x0
            if r.size == 0:
                raise ValueError("least_squares: fun returned no residuals; got shape "
                                 f"{r.shape}")
            if not np.all(np.isfinite(r)):
                raise ValueError(f"least_squares: the residuals are not finite at x0; got "
                                 f"{r[~np.isfinite(r)][:5].tolist()}")
            self.m = r.size
        elif r.size != self.m:
            raise ValueError(f"least_squares: fun returned {r.size} residuals, earlier "
                             f"{self.m}")
        return r

    def value(self, x):
        """r(x) as a flat float64 vector."""
        self.nfev += 1
        with _mode.no_grad():
            if self.jac is not None:
                out = call_with_array(self.fun, self._point(x), self.args, "least_squares",
                                      "fun")
            else:
                out = self.fun(self._point(x), *self.args)
            r = _to_array(out, "least_squares", "fun(x)")
        return self._check(r.reshape(-1))

    def jacobian(self, x):
        """J(x) = dr/dx, shape (m, n): reverse mode (m vjps) or forward (n jvps), the fewer."""
        self.njev += 1
        if self.jac is not None:
            with _mode.no_grad():
                J = _to_array(call_with_array(self.jac, self._point(x), self.args,
                                              "least_squares", "jac"), "least_squares", "jac(x)")
            if J.size != self.m * self.n:
                raise ValueError(f"least_squares: jac(x) has shape {J.shape}; expected "
                                 f"({self.m}, {self.n})")
            return J.reshape(self.m, self.n)
        with _mode.enable_grad():
            t = self._tensor(x, requires_grad=True)
            out = self.fun(t, *self.args)
            if not isinstance(out, Tensor):
                raise TypeError(f"least_squares: fun returned a {type(out).__name__}, so "
                                "autodiff cannot differentiate it; build it from the Tensor it "
                                "receives with chainrule ops, or pass jac=")
            if not out.requires_grad:
                return np.zeros((out.size, self.n))
            if self.n < out.size:
                return self._forward(t, out)
            rows = []
            for e in np.eye(out.size):
                (g,) = _autograd_grad(out, [t], grad_outputs=from_array(e.reshape(out.shape)),
                                      retain_graph=True, allow_unused=True)
                rows.append(np.zeros(self.n) if g is None else np.ravel(g._data))
        return np.array(rows, dtype=np.float64)

    def _forward(self, t, out):
        """Columns J e_j by the double-vjp trick: u -> J^T u is linear, its vjp is J."""
        u = from_array(np.zeros(out.shape, dtype=out.dtype))
        u.requires_grad = True
        (gx,) = _autograd_grad(out, [t], grad_outputs=u, create_graph=True, allow_unused=True)
        if gx is None or not gx.requires_grad:
            return np.zeros((out.size, self.n))
        cols = []
        for e in np.eye(self.n):
            (c,) = _autograd_grad(gx, [u], grad_outputs=from_array(e.reshape(self.shape)),
                                  retain_graph=True, allow_unused=True)
            cols.append(np.zeros(out.size) if c is None else np.ravel(c._data))
        return np.array(cols, dtype=np.float64).T


def _gtol_cosine(J, r, g):
    """max_j |J_j^T r| / (|J_j| |r|): 0 when r is orthogonal to every column (MINPACK's gtol)."""
    rn = np.linalg.norm(r)
    if rn == 0:
        return 0.0
    cn = np.linalg.norm(J, axis=0)
    ok = cn > 0
    return float(np.max(np.abs(g[ok]) / (cn[ok] * rn), initial=0.0))


def _lm_step(A, g, D, mu):
    try:
        return np.linalg.solve(A + mu * np.diag(D), -g)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(A + mu * np.diag(D), -g, rcond=None)[0]


def least_squares(fun, x0, jac=None, bounds=None, method=None, ftol=1e-8, xtol=1e-8,
                  gtol=1e-8, max_nfev=None, args=(), callback=None):
    """Minimize 1/2 sum r(x)^2 by Levenberg-Marquardt, Gauss-Newton or TRF; J from autodiff.

    fun(x, *args) receives a float64 Tensor shaped like x0 (an ndarray when jac is supplied)
    and returns the residuals (any shape; they are flattened). bounds=(lb, ub) (scalars or
    arrays, or a scipy.optimize.Bounds) keeps lb <= x <= ub and needs method 'trf'; method
    defaults to 'trf' with bounds, else 'lm'. Returns an OptimizeResult with x, cost, fun
    (residuals, flat), jac (m x n), grad (J^T r), optimality (|grad|_inf; trf: |v * grad|_inf),
    nfev, njev, nit, status, message, success (and active_mask for trf), as
    scipy.optimize.least_squares. callback(xk) runs after each accepted step; True stops.
    """
    _require_host("least_squares", x0)
    x0 = as_float_array(x0, "x0", "least_squares")
    if x0.size == 0 or not np.all(np.isfinite(x0)):
        raise ValueError(f"least_squares: x0 must be a non-empty finite array; got "
                         f"{x0.ravel()[:6].tolist()}")
    box = least_squares_bounds(bounds, x0.size)
    if method is None:
        method = "lm" if box is None else "trf"
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"least_squares: unknown method {method!r}; choose one of "
                         f"{', '.join(METHODS)}")
    for name, tol in (("ftol", ftol), ("xtol", xtol), ("gtol", gtol)):
        if not tol >= 0:
            raise ValueError(f"least_squares: {name} must be non-negative; got {tol}")
    method = method.lower()
    if box is not None and method != "trf":
        raise ValueError(f"least_squares: method {method!r} does not handle bounds; use "
                         "method='trf'")
    if method == "trf":
        return _least_squares_trf(fun, x0, jac, box, ftol, xtol, gtol, max_nfev, args,
                                  callback)
    res = Residuals(fun, x0, args, jac)
    max_nfev = 100 * x0.size if max_nfev is None else int(max_nfev)
    x = x0.ravel().copy()
    r = res.value(x)
    J = res.jacobian(x)
    cost = 0.5 * float(r @ r)
    g = J.T @ r
    lm = method == "lm"
    D = np.diag(J.T @ J).copy()
    mu, nu = 1e-3, 2.0
    status, nit = 0, 0
    while res.nfev < max_nfev:
        if cost == 0 or _gtol_cosine(J, r, g) <= gtol:
            status = 1
            break
        A = J.T @ J
        if lm:
            D = np.maximum(D, np.diag(A))  # MINPACK keeps the largest column norms seen
            h = _lm_step(A, g, np.where(D > 0, D, 1.0), mu)
        else:
            h = np.linalg.lstsq(J, -r, rcond=None)[0]
        if np.linalg.norm(h) <= xtol * (np.linalg.norm(x) + xtol):
            status = 3
            break
        nit += 1
        if lm:
            r_new = res.value(x + h)
            cost_new = 0.5 * float(r_new @ r_new)
            predicted = 0.5 * float(h @ (mu * np.where(D > 0, D, 1.0) * h - g))
            rho = (cost - cost_new) / predicted if predicted > 0 else -1.0
            if not (np.isfinite(cost_new) and rho > 0):
                mu, nu = mu * nu, nu * 2.0  # rejected: lean toward shorter gradient steps
                continue
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            nu = 2.0
        else:
            step = 1.0
            slope = float(g @ h)
            while res.nfev < max_nfev:
                r_new = res.value(x + step * h)
                cost_new = 0.5 * float(r_new @ r_new)
                if np.isfinite(cost_new) and cost_new <= cost + 1e-4 * step * slope:
                    break
                step *= 0.5
            else:
                status = 0
                break
            h = step * h
            predicted = -slope * step
        small_f = cost - cost_new <= ftol * cost and predicted <= ftol * cost
        small_x = np.linalg.norm(h) <= xtol * (np.linalg.norm(x) + xtol)
        x, r, cost = x + h, r_new, cost_new
        J = res.jacobian(x)
        g = J.T @ r
        if callback is not None and callback(x.reshape(x0.shape).copy()):
            status = -2
            break
        if small_f or small_x:
            status = 4 if small_f and small_x else (2 if small_f else 3)
            break
    message = _MESSAGES[status].format(max_nfev)
    return OptimizeResult(x=x.reshape(x0.shape), cost=cost, fun=r, jac=J, grad=g,
                          optimality=float(np.abs(g).max()), nfev=res.nfev, njev=res.njev,
                          nit=nit, status=status, message=message, success=status > 0)


def _least_squares_trf(fun, x0, jac, box, ftol, xtol, gtol, max_nfev, args, callback):
    n = x0.size
    lb, ub = box if box is not None else (np.full(n, -np.inf), np.full(n, np.inf))
    if np.any(lb >= ub):
        i = int(np.flatnonzero(lb >= ub)[0])
        raise ValueError(f"least_squares: each lower bound must be strictly less than its "
                         f"upper bound; got lb[{i}] = {lb[i]}, ub[{i}] = {ub[i]}")
    flat = x0.ravel()
    outside = np.flatnonzero((flat < lb) | (flat > ub))
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"least_squares: x0 is infeasible: x0[{i}] = {flat[i]} is outside "
                         f"[{lb[i]}, {ub[i]}]")
    res = Residuals(fun, x0, args, jac)
    max_nfev = 100 * n if max_nfev is None else int(max_nfev)
    step = None if callback is None else (lambda x: callback(x.reshape(x0.shape)))
    x, r, J, g, cost, optimality, nit, status = trf(res, flat, lb, ub, ftol, xtol, gtol,
                                                    max_nfev, step)
    # which bounds hold at x (to rounding): -1 lower, +1 upper, 0 free
    near = 1e-10 * np.maximum(1.0, np.abs(x))
    active = np.where(x - lb <= near, -1, np.where(ub - x <= near, 1, 0))
    return OptimizeResult(x=x.reshape(x0.shape), cost=cost, fun=r, jac=J, grad=g,
                          optimality=optimality, active_mask=active, nfev=res.nfev,
                          njev=res.njev, nit=nit, status=status,
                          message=_MESSAGES[status].format(max_nfev), success=status > 0)
