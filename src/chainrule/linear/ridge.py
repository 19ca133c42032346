"""Ridge regression: least squares plus alpha ||w||^2, i.e. alpha I added to X^T X."""

import warnings

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, RegressorMixin

from chainrule.linear._base import (
    ConditioningWarning,
    LinearPredictorMixin,
    center_data,
    check_number,
    check_option,
    gradient_descent,
    intercept_from,
    validate_fit_data,
)
from chainrule.linear.ordinary import solve_svd


def _singular(owner):
    warnings.warn(f"{owner}: X^T X + alpha I is singular (alpha = 0 and X rank deficient); "
                  "using the minimum-norm least-squares solution instead. Use alpha > 0",
                  ConditioningWarning, stacklevel=4)


def _singular_at_zero_alpha(A, alpha):
    # alpha > 0 bounds every eigenvalue below by alpha; at alpha = 0 a rank-deficient X gives
    # a singular A, which LU/Cholesky may "factor" with a rounding-sized pivot
    return alpha == 0 and not np.linalg.cond(A) < 1 / np.finfo(np.float64).eps


def solve_closed(X, y, alpha, owner):
    """w = (X^T X + alpha I)^-1 X^T y, the textbook formula, by LU (np.linalg.solve)."""
    A = X.T @ X
    A[np.diag_indices_from(A)] += alpha
    if _singular_at_zero_alpha(A, alpha):
        _singular(owner)
        return solve_svd(X, y)
    return np.linalg.solve(A, X.T @ y)


def solve_cholesky(X, y, alpha, owner):
    """The same w by Cholesky, in the smaller of the primal and dual forms.

    Primal (n >= p): (X^T X + alpha I) w = X^T y. Dual (n < p): w = X^T (X X^T + alpha I)^-1 y,
    equal by the push-through identity (X^T X + alpha I)^-1 X^T = X^T (X X^T + alpha I)^-1.
    """
    n, p = X.shape
    A = X.T @ X if n >= p else X @ X.T
    A[np.diag_indices_from(A)] += alpha
    if _singular_at_zero_alpha(A, alpha):
        _singular(owner)
        return solve_svd(X, y)
    factor = scipy.linalg.cho_factor(A)
    if n >= p:
        return scipy.linalg.cho_solve(factor, X.T @ y)
    return X.T @ scipy.linalg.cho_solve(factor, y)


class Ridge(RegressorMixin, LinearPredictorMixin, BaseEstimator):
    """Ridge regression: minimise ||y - X w - b||^2 + alpha ||w||^2 (the intercept b is not
    penalised; with sample weights the first term is sum_i s_i (y_i - x_i w - b)^2).

    Setting the gradient to zero gives (X^T X + alpha I) w = X^T y on centred data: adding
    alpha I lifts every eigenvalue of X^T X by alpha, so the system is solvable and
    well-conditioned even when X has identical columns. In the SVD basis each component of the
    least-squares solution is shrunk by s^2 / (s^2 + alpha): toward zero, never to exactly zero.

    solver: 'closed' (default; np.linalg.solve on the formula), 'cholesky' (primal or dual
    form, whichever is smaller), 'svd' (w = V diag(s / (s^2 + alpha)) U^T y), 'gd' (gradient
    descent with step 1 / (lambda_max(X^T X) + alpha), stopping when
    ||grad|| <= tol ||grad(0)||). alpha = 0 is ordinary least squares.

    Fitted attributes: coef_ ((n_features,) or (n_targets, n_features)), intercept_, n_iter_
    (gradient steps; 1 for the direct solvers), n_features_in_.

        >>> import numpy as np, chainrule as cr
        >>> X = np.array([[1.0], [-1.0]]); y = np.array([1.0, -1.0])
        >>> cr.linear.Ridge(alpha=2.0).fit(X, y).coef_.tolist()  # X^T y / (X^T X + alpha)
        [0.5]
    """

    def __init__(self, alpha=1.0, *, solver="closed", fit_intercept=True, tol=1e-8,
                 max_iter=100_000):
        self.alpha = alpha
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None):
        """Fit w and b; returns self."""
        owner = type(self).__name__
        check_number(owner, "alpha", self.alpha, low=0)
        check_option(owner, "solver", self.solver, ("closed", "cholesky", "svd", "gd"))
        check_number(owner, "tol", self.tol, low=0)
        check_number(owner, "max_iter", self.max_iter, low=1, integer=True)
        X, y, sw = validate_fit_data(self, X, y, sample_weight, multi_output=True)
        Xc, yc, x_bar, y_bar = center_data(X, y, sw, self.fit_intercept)
        alpha = float(self.alpha)
        self.n_iter_ = 1
        if self.solver == "closed":
            w = solve_closed(Xc, yc, alpha, owner)
        elif self.solver == "cholesky":
            w = solve_cholesky(Xc, yc, alpha, owner)
        elif self.solver == "svd":
            w = solve_svd(Xc, yc, alpha)
        else:
            w, self.n_iter_ = gradient_descent(Xc, yc, alpha, self.tol, self.max_iter, owner)
        self.coef_ = w.T
        self.intercept_ = intercept_from(self.coef_, x_bar, y_bar, self.fit_intercept)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
