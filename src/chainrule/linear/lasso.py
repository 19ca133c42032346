"""Lasso and elastic net: least squares plus an L1 penalty, whose kink at 0 gives exact zeros.

Both solvers minimise, on centred data (n = n_samples, or the sum of the sample weights),

    P(w) = 1/2 ||y - X w||^2 + l1 ||w||_1 + l2/2 ||w||^2,  l1 = n alpha rho, l2 = n alpha (1 - rho)

(scikit-learn's objective times n). The minimiser of 1/2 a w^2 - r w + l1 |w| is the soft
threshold S(r, l1) / a with S(r, l1) = sign(r) max(|r| - l1, 0): exactly 0 whenever
|r| <= l1. That is where lasso's zeros come from; ridge's smooth penalty has no such kink.

Both stop on the duality gap, P(w) - D(theta) >= P(w) - P(w*) >= 0, a certificate of how far w
is from optimal (scikit-learn's rule): gap <= tol ||y||^2.
"""

import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array, check_consistent_length

from chainrule.linear._base import (
    LinearPredictorMixin,
    center_data,
    check_number,
    check_option,
    intercept_from,
    validate_fit_data,
)


def soft_threshold(r, t):
    """S(r, t) = sign(r) max(|r| - t, 0), the proximal map of t |.|."""
    return np.sign(r) * np.maximum(np.abs(r) - t, 0.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def duality_gap(X, y, w, l1, l2):
    """P(w) - D(theta) at the dual point theta = c (y - X w), c <= 1 the largest scale with
    ||X^T theta - l2 w||_inf <= l1 (dual feasibility).

    (The gap formula of scikit-learn's cd_fast.) With l1 = 0 there is no L1 dual constraint and
    the gap is the primal value; callers use the step size then.
    """
    R = y - X @ w
    XtA = X.T @ R - l2 * w
    dual_norm = np.max(np.abs(XtA)) if XtA.size else 0.0
    R2 = R @ R
    if dual_norm > l1:
        const = l1 / dual_norm
        gap = 0.5 * (R2 + R2 * const**2)
    else:
        const = 1.0
        gap = R2
    return gap + l1 * np.abs(w).sum() - const * (R @ y) + 0.5 * l2 * (1 + const**2) * (w @ w)


def coordinate_descent(X, y, w, l1, l2, tol, max_iter):
    """Cyclic coordinate descent: w_j <- S(x_j^T r_j, l1) / (||x_j||^2 + l2) for j = 1..p.

    r_j = y - X w + x_j w_j is the residual without feature j; the update is the exact minimiser
    of P over w_j alone, so P never increases. After a sweep whose largest change is
    <= tol max|w_j|, the duality gap is checked. Returns (w, gap, sweeps, converged).
    """
    XT = np.ascontiguousarray(X.T)  # each feature's column, contiguous
    norm2 = np.einsum("ij,ij->i", XT, XT)
    R = y - X @ w
    gap_tol = tol * (y @ y)
    gap = np.inf
    for sweep in range(1, max_iter + 1):
        w_max = d_w_max = 0.0
        for j in range(w.size):
            if norm2[j] == 0.0:
                continue
            w_old = w[j]
            rho = XT[j] @ R + norm2[j] * w_old
            w_new = math.copysign(max(abs(rho) - l1, 0.0), rho) / (norm2[j] + l2) + 0.0
            if w_new != w_old:
                R -= (w_new - w_old) * XT[j]
                w[j] = w_new
            d_w_max = max(d_w_max, abs(w_new - w_old))
            w_max = max(w_max, abs(w_new))
        if w_max == 0.0 or d_w_max <= tol * w_max or sweep == max_iter:
            if l1 == 0.0:  # no dual certificate: the step size decides
                gap = 0.0 if d_w_max <= tol * w_max else np.inf
            else:
                gap = duality_gap(X, y, w, l1, l2)
            if gap <= gap_tol:
                return w, gap, sweep, True
    return w, gap, max_iter, False


def fista(X, y, w, l1, l2, tol, max_iter):
    """Accelerated proximal gradient (FISTA, Beck & Teboulle 2009) with adaptive restart.

    w_{k+1} = S(z_k - grad f(z_k) / L, l1 / L) on the smooth part
    f(w) = 1/2 ||y - X w||^2 + l2/2 ||w||^2, L = lambda_max(X^T X) + l2; z_k extrapolates by
    Nesterov's momentum, which is reset whenever it points uphill (O'Donoghue & Candes 2015's
    gradient restart), so convergence is linear once the support is found. The duality gap is
    checked every 10 steps. Returns (w, gap, steps, converged).
    """
    n, p = X.shape
    use_gram = n >= p
    G = X.T @ X if use_gram else None
    Xty = X.T @ y
    L = (np.linalg.eigvalsh(G)[-1] if use_gram else np.linalg.norm(X, 2) ** 2) + l2
    gap_tol = tol * (y @ y)
    gap = duality_gap(X, y, w, l1, l2)
    if gap <= gap_tol or L == 0:
        return w, gap, 1, True
    z, t = w.copy(), 1.0
    for step in range(1, max_iter + 1):
        grad = (G @ z if use_gram else X.T @ (X @ z)) - Xty + l2 * z
        w_new = soft_threshold(z - grad / L, l1 / L)
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        if (z - w_new) @ (w_new - w) > 0:  # momentum points uphill: restart
            t_new, z = 1.0, w_new.copy()
        else:
            z = w_new + ((t - 1.0) / t_new) * (w_new - w)
        w_prev, w, t = w, w_new, t_new
        if step % 10 == 0 or step == max_iter:
            if l1 == 0.0:
                gap = 0.0 if np.max(np.abs(w - w_prev)) <= tol * np.max(np.abs(w)) else np.inf
            else:
                gap = duality_gap(X, y, w, l1, l2)
            if gap <= gap_tol:
                return w, gap, step, True
    return w, gap, max_iter, False


SOLVERS = {"cd": coordinate_descent, "fista": fista}


class _ElasticNetBase(RegressorMixin, LinearPredictorMixin, BaseEstimator):
    def fit(self, X, y, sample_weight=None):
        """Fit w and b; returns self."""
        owner = type(self).__name__
        l1_ratio = self._l1_ratio()
        check_number(owner, "alpha", self.alpha, low=0)
        check_option(owner, "solver", self.solver, tuple(SOLVERS))
        check_number(owner, "tol", self.tol, low=0)
        check_number(owner, "max_iter", self.max_iter, low=1, integer=True)
        X, y, sw = validate_fit_data(self, X, y, sample_weight)
        Xc, yc, x_bar, y_bar = center_data(X, y, sw, self.fit_intercept)
        n = X.shape[0] if sw is None else sw.sum()
        l1, l2 = n * self.alpha * l1_ratio, n * self.alpha * (1.0 - l1_ratio)
        w, gap, self.n_iter_, converged = SOLVERS[self.solver](
            Xc, yc, np.zeros(X.shape[1]), l1, l2, self.tol, self.max_iter)
        if not converged:
            warnings.warn(f"{owner}: {self.solver} did not converge in max_iter="
                          f"{self.max_iter} iterations: duality gap {gap:.3g} > tol ||y||^2 = "
                          f"{self.tol * (yc @ yc):.3g}. Increase max_iter or tol",
                          ConvergenceWarning, stacklevel=2)
        self.coef_ = w
        self.intercept_ = intercept_from(w, x_bar, y_bar, self.fit_intercept)
        self.dual_gap_ = gap / n
        return self


class ElasticNet(_ElasticNetBase):
    """Elastic net: minimise 1/(2n) ||y - X w - b||^2 + alpha rho ||w||_1
    + alpha (1 - rho)/2 ||w||^2, with rho = l1_ratio (scikit-learn's objective; with sample
    weights the first term is 1/(2 sum s) sum_i s_i (y_i - x_i w - b)^2; b is not penalised).

    solver 'cd' (default): cyclic coordinate descent with soft thresholding; 'fista':
    accelerated proximal gradient with restart. Both stop when the duality gap is at most
    tol ||y - y_bar||^2 (n times scikit-learn's scaled gap), after at most max_iter sweeps/steps.

    Fitted attributes: coef_ (n_features,), intercept_, n_iter_, dual_gap_ (of the 1/n-scaled
    objective), n_features_in_.
    """

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, solver="cd",
                 max_iter=1000, tol=1e-4):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol

    def _l1_ratio(self):
        check_number(type(self).__name__, "l1_ratio", self.l1_ratio, low=0, high=1)
        return float(self.l1_ratio)


class Lasso(_ElasticNetBase):
    """Lasso: minimise 1/(2n) ||y - X w - b||^2 + alpha ||w||_1 (scikit-learn's objective; b
    is not penalised). The elastic net with l1_ratio = 1.

    Each coordinate is soft-thresholded, so every feature with |x_j^T r_j| <= n alpha gets an
    exact 0: lasso selects features, ridge only shrinks them. solver 'cd' (default) or 'fista',
    as in ElasticNet.

        >>> import numpy as np, chainrule as cr
        >>> X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        >>> y = np.array([2.0, -2.0, 0.1, -0.1])
        >>> cr.linear.Lasso(alpha=0.1).fit(X, y).coef_.round(6).tolist()  # S(r, n alpha) / ||x||^2
        [1.8, 0.0]
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, solver="cd", max_iter=1000, tol=1e-4):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol

    def _l1_ratio(self):
        return 1.0


def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, alphas=100, solver="cd", tol=1e-4,
              max_iter=1000):
    """Elastic-net coefficients along a decreasing grid of alpha, each fit warm-started.

    Like scikit-learn's enet_path, no intercept is fitted: centre X and y first. alphas is an
    array, or the number of points on the geometric grid from alpha_max = max|X^T y| / (n rho)
    (the smallest alpha for which w = 0) down to eps alpha_max.
    Returns (alphas (n_alphas,), coefs (n_features, n_alphas), dual_gaps (n_alphas,)).
    """
    check_number("enet_path", "l1_ratio", l1_ratio, low=0, high=1, low_open=True)
    check_option("enet_path", "solver", solver, tuple(SOLVERS))
    X = check_array(X, dtype=np.float64)
    y = check_array(y, dtype=np.float64, ensure_2d=False)
    if y.ndim != 1:
        raise ValueError(f"enet_path: y must be 1-D; got shape {y.shape}")
    check_consistent_length(X, y)
    n = X.shape[0]
    from_grid = isinstance(alphas, numbers.Integral)
    if from_grid:
        check_number("enet_path", "alphas", alphas, low=1, integer=True)
        check_number("enet_path", "eps", eps, low=0, low_open=True)
        alpha_max = np.max(np.abs(X.T @ y)) / (n * l1_ratio)
        if alpha_max == 0:
            alpha_max = 1.0  # y orthogonal to every feature: w = 0 for any alpha
        alphas = np.geomspace(alpha_max, alpha_max * eps, int(alphas))
    else:
        alphas = np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1]
        if alphas.size == 0 or np.any(alphas < 0) or not np.all(np.isfinite(alphas)):
            raise ValueError("enet_path: alphas must be finite, non-negative and non-empty; "
                             f"got {alphas}")
    coefs = np.empty((X.shape[1], alphas.size))
    gaps = np.empty(alphas.size)
    w = np.zeros(X.shape[1])
    for i, alpha in enumerate(alphas):
        if from_grid and i == 0:  # w = 0 exactly at alpha_max, whatever the rounding says
            coefs[:, 0], gaps[0] = 0.0, duality_gap(X, y, w, n * alpha * l1_ratio,
                                                    n * alpha * (1 - l1_ratio)) / n
            continue
        w, gap, _, converged = SOLVERS[solver](X, y, w.copy(), n * alpha * l1_ratio,
                                               n * alpha * (1 - l1_ratio), tol, max_iter)
        if not converged:
            warnings.warn(f"enet_path: {solver} did not converge at alpha={alpha:.3g} "
                          f"(duality gap {gap:.3g}); increase max_iter", ConvergenceWarning,
                          stacklevel=2)
        coefs[:, i], gaps[i] = w, gap / n
    return alphas, coefs, gaps


def lasso_path(X, y, *, eps=1e-3, alphas=100, solver="cd", tol=1e-4, max_iter=1000):
    """Lasso coefficients along a decreasing grid of alpha: enet_path with l1_ratio = 1.

        >>> import numpy as np, chainrule as cr
        >>> X = np.array([[1.0, 0.5], [-1.0, 0.5], [0.0, -1.0]]); y = np.array([1.0, -1.0, 0.1])
        >>> alphas, coefs, gaps = cr.linear.lasso_path(X, y, alphas=3)
        >>> coefs.shape, bool(np.all(coefs[:, 0] == 0))
        ((2, 3), True)
    """
    return enet_path(X, y, l1_ratio=1.0, eps=eps, alphas=alphas, solver=solver, tol=tol,
                     max_iter=max_iter)
