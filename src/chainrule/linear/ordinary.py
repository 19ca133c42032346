"""Ordinary least squares, four ways: normal equations, QR, SVD, gradient descent."""

import warnings

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, RegressorMixin

from chainrule.linear._base import (
    CONDITION_LIMIT,
    ConditioningWarning,
    LinearPredictorMixin,
    center_data,
    check_number,
    check_option,
    gradient_descent,
    intercept_from,
    validate_fit_data,
)

EPS = np.finfo(np.float64).eps


def solve_normal(X, y, owner="LinearRegression(solver='normal')"):
    """w = (X^T X)^-1 X^T y, by Cholesky; warns (ConditioningWarning) when cond(X^T X) is large.

    Setting the gradient of ||y - Xw||^2 to zero gives X^T X w = X^T y. It is the cheapest
    solver (one p x p factorisation) but it squares the condition number of X, so each factor
    of 10 in cond(X) costs two digits of w. A numerically singular X^T X (cond >= 1/eps: rank
    deficient X, e.g. two identical columns) is solved by its pseudo-inverse instead.
    """
    A, b = X.T @ X, X.T @ y
    cond = np.linalg.cond(A) if A.any() else np.inf
    if not cond <= CONDITION_LIMIT:
        lost = "all" if not cond < 1 / EPS else f"about {int(np.log10(cond * EPS)) + 16} of 16"
        warnings.warn(f"{owner}: cond(X^T X) = {cond:.3g} exceeds {CONDITION_LIMIT:.2g}; the "
                      f"normal equations square cond(X), so {lost} significant digits of coef_ "
                      "may be lost. Use solver='qr' or solver='svd' (or Ridge, which adds "
                      "alpha I to X^T X)", ConditioningWarning, stacklevel=3)
    if not cond < 1 / EPS:
        return np.linalg.lstsq(A, b, rcond=None)[0]
    try:
        return scipy.linalg.cho_solve(scipy.linalg.cho_factor(A), b)
    except np.linalg.LinAlgError:  # positive definite only up to rounding
        return np.linalg.lstsq(A, b, rcond=None)[0]


def solve_qr(X, y):
    """Least squares by column-pivoted QR, X P = Q R; the minimum-norm w when X is rank deficient.

    Full rank: R w_P = Q^T y by back substitution, cond(R) = cond(X) (not squared). Rank r < p:
    the complete orthogonal decomposition: R_1 = R[:r] (r x p) = T^T Z^T from a QR of R_1^T, and
    w_P = Z T^-T (Q^T y)[:r] is the solution of R_1 w_P = (Q^T y)[:r] orthogonal to R_1's null
    space, i.e. the one of least norm (what the SVD solver gives).
    """
    n, p = X.shape
    Q, R, perm = scipy.linalg.qr(X, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > max(n, p) * EPS * d[0])) if d.size and d[0] > 0 else 0
    c = Q[:, :rank].T @ y
    z = np.zeros((p,) + y.shape[1:])
    if rank == p:
        z = scipy.linalg.solve_triangular(R[:p, :p], c)
    elif rank > 0:
        Z, T = scipy.linalg.qr(R[:rank].T, mode="economic")
        z = Z @ scipy.linalg.solve_triangular(T, c, trans="T")
    w = np.empty_like(z)
    w[perm] = z
    return w


def solve_svd(X, y, alpha=0.0):
    """w = V diag(s / (s^2 + alpha)) U^T y from X = U diag(s) V^T (alpha = 0: the pseudo-inverse).

    Singular values below max(n, p) eps s_max count as zero (np.linalg.lstsq's cutoff), so a
    rank-deficient X gets the minimum-norm least-squares solution.
    """
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    keep = s > max(X.shape) * EPS * (s[0] if s.size else 0.0)
    if alpha > 0:
        keep = s > 0
    shrink = np.zeros_like(s)
    shrink[keep] = s[keep] / (s[keep] ** 2 + alpha)
    Uty = U.T @ y
    return Vt.T @ (shrink[:, None] * Uty if y.ndim > 1 else shrink * Uty)


class LinearRegression(RegressorMixin, LinearPredictorMixin, BaseEstimator):
    """Ordinary least squares: minimise ||y - X w - b||^2 (sum_i s_i (y_i - x_i w - b)^2 with
    sample weights) over w and b.

    solver:
      - 'svd' (default): X = U S V^T, w = V S^+ U^T y; minimum-norm when X is rank deficient.
      - 'qr': column-pivoted QR; same answer, cheaper than the SVD, also minimum-norm.
      - 'normal': Cholesky on X^T X w = X^T y; fastest, but squares cond(X), and warns with
        ConditioningWarning (naming cond(X^T X)) when that exceeds 1/sqrt(eps) ~ 6.7e7.
      - 'gd': gradient descent with step 1/lambda_max(X^T X) until
        ||grad|| <= tol ||grad(0)|| (at most max_iter steps); from w = 0 it converges to the
        minimum-norm solution too, at a rate set by cond(X^T X).

    y may be (n_samples,) or (n_samples, n_targets). Fitted attributes: coef_ ((n_features,) or
    (n_targets, n_features)), intercept_, n_iter_ (gradient steps; 1 for the direct solvers),
    n_features_in_ (and feature_names_in_).

        >>> import numpy as np, chainrule as cr
        >>> X = np.array([[0.0], [1.0], [2.0]]); y = 1 + 2 * X[:, 0]
        >>> m = cr.linear.LinearRegression().fit(X, y)
        >>> m.coef_.round(6).tolist(), round(m.intercept_, 6)
        ([2.0], 1.0)
    """

    def __init__(self, *, solver="svd", fit_intercept=True, tol=1e-8, max_iter=100_000):
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None):
        """Fit w and b by the chosen solver; returns self."""
        owner = type(self).__name__
        check_option(owner, "solver", self.solver, ("svd", "qr", "normal", "gd"))
        check_number(owner, "tol", self.tol, low=0)
        check_number(owner, "max_iter", self.max_iter, low=1, integer=True)
        X, y, sw = validate_fit_data(self, X, y, sample_weight, multi_output=True)
        Xc, yc, x_bar, y_bar = center_data(X, y, sw, self.fit_intercept)
        self.n_iter_ = 1
        if self.solver == "svd":
            w = solve_svd(Xc, yc)
        elif self.solver == "qr":
            w = solve_qr(Xc, yc)
        elif self.solver == "normal":
            w = solve_normal(Xc, yc)
        else:
            w, self.n_iter_ = gradient_descent(Xc, yc, 0.0, self.tol, self.max_iter, owner)
        self.coef_ = w.T  # (n_features,) or (n_targets, n_features)
        self.intercept_ = intercept_from(self.coef_, x_bar, y_bar, self.fit_intercept)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
