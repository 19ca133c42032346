"""What every linear model shares: validation, centring for the intercept, the predict rule.

The intercept is never penalised. With weights s_i (all 1 by default), a model
y ~ X w + b is fitted by centring on the weighted means,

    X_c = X - x_bar,  y_c = y - y_bar,  x_bar = sum_i s_i x_i / sum_i s_i,

solving for w on (sqrt(s) X_c, sqrt(s) y_c), where the weighted squared loss becomes an ordinary
one, and recovering b = y_bar - x_bar . w: for any fixed w, the b minimising
sum_i s_i (y_i - x_i . w - b)^2 is exactly that.
"""

import numbers
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data


class ConditioningWarning(UserWarning):
    """X^T X is so ill-conditioned that the normal equations lose most of float64's digits."""


# The normal equations square cond(X): beyond 1/sqrt(eps) ~ 6.7e7 more than half of float64's
# 16 significant digits of w can be wrong.
CONDITION_LIMIT = 1.0 / np.sqrt(np.finfo(np.float64).eps)


def check_option(owner, name, value, options):
    """Raise ValueError unless value is one of options (strings or None)."""
    if not any(value is o or (isinstance(value, str) and value == o) for o in options):
        shown = ", ".join(repr(o) for o in options)
        raise ValueError(f"{owner}: {name} must be one of {shown}; got {value!r}")


def check_number(owner, name, value, low=None, high=None, low_open=False, integer=False):
    """Raise TypeError for a non-number, ValueError for one out of [low, high] (or (low, ...))."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a real number"
        raise TypeError(f"{owner}: {name} must be {what}; got {value!r} "
                        f"of type {type(value).__name__}")
    if np.isnan(value) or (low is not None and (value < low or (low_open and value == low))) \
            or (high is not None and value > high):
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else f"<= {high}"
        bound = " and ".join(b for b in (lo, hi) if b)
        raise ValueError(f"{owner}: {name} must be {bound}; got {value!r}")


def check_sample_weight(owner, sample_weight, n_samples):
    """None or a finite, non-negative (n_samples,) float64 array with a positive sum."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.shape != (n_samples,):
        raise ValueError(f"{owner}: sample_weight.shape == {sw.shape}, expected "
                         f"({n_samples},)")
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise ValueError(f"{owner}: sample_weight must be finite and non-negative; got "
                         f"min {np.nanmin(sw)}")
    if not sw.sum() > 0:
        raise ValueError(f"{owner}: all sample weights are zero; at least one sample needs a "
                         "positive weight")
    return sw


def validate_fit_data(estimator, X, y, sample_weight=None, multi_output=False):
    """sklearn's validation (NaN/inf, lengths, feature count, y numeric): float64 X, y, weights."""
    X, y = validate_data(estimator, X, y, dtype=np.float64, y_numeric=True,
                         multi_output=multi_output)
    y = np.asarray(y, dtype=np.float64)
    sw = check_sample_weight(type(estimator).__name__, sample_weight, X.shape[0])
    return X, y, sw


def center_data(X, y, sample_weight, fit_intercept):
    """(X_c, y_c, x_bar, y_bar): centred (if fit_intercept) and row-scaled by sqrt(weight).

    Always returns new arrays: the caller's X and y are never written to.
    """
    if fit_intercept:
        x_bar = np.average(X, axis=0, weights=sample_weight)
        y_bar = np.average(y, axis=0, weights=sample_weight)
    else:
        x_bar = np.zeros(X.shape[1])
        y_bar = np.zeros(y.shape[1:]) if y.ndim > 1 else 0.0
    Xc, yc = X - x_bar, y - y_bar
    if sample_weight is not None:
        root = np.sqrt(sample_weight)
        Xc *= root[:, None]
        yc *= root if y.ndim == 1 else root[:, None]
    return Xc, yc, x_bar, y_bar


def intercept_from(coef, x_bar, y_bar, fit_intercept):
    """b = y_bar - x_bar . w (coef shaped (n_features,) or (n_targets, n_features))."""
    if not fit_intercept:
        return 0.0 if np.ndim(coef) == 1 else np.zeros(coef.shape[0])
    b = y_bar - coef @ x_bar
    return float(b) if np.ndim(coef) == 1 else b


def gradient_descent(X, y, alpha, tol, max_iter, owner):
    """Minimise 1/2 ||y - X w||^2 + alpha/2 ||w||^2 by w <- w - (1/L) grad, from w = 0.

    grad = X^T X w - X^T y + alpha w and L = lambda_max(X^T X) + alpha, the gradient's Lipschitz
    constant, the largest step that cannot diverge. Stops when ||grad|| <= tol ||grad(0)||.
    From w = 0 every iterate lies in the row space of X, so when X^T X is singular (alpha = 0)
    the limit is the minimum-norm solution. Returns (w, n_iter).
    """
    n, p = X.shape
    use_gram = n >= p  # X^T X is the cheaper operator when n_samples >= n_features
    G = X.T @ X if use_gram else None
    Xty = X.T @ y
    L = (np.linalg.eigvalsh(G)[-1] if use_gram else np.linalg.norm(X, 2) ** 2) + alpha
    w = np.zeros(Xty.shape)
    g0 = np.linalg.norm(Xty)
    if g0 == 0 or L == 0:
        return w, 1
    step = 1.0 / L
    for it in range(1, max_iter + 1):
        grad = (G @ w if use_gram else X.T @ (X @ w)) - Xty
        if alpha:
            grad += alpha * w
        if np.linalg.norm(grad) <= tol * g0:
            return w, it
        w -= step * grad
    warnings.warn(f"{owner}: gradient descent did not converge in max_iter={max_iter} steps "
                  f"(||grad|| / ||grad(0)|| = {np.linalg.norm(grad) / g0:.2e} > tol={tol}); "
                  "increase max_iter or use a direct solver", ConvergenceWarning, stacklevel=3)
    return w, max_iter


class LinearPredictorMixin:
    """predict(X) = X @ coef_.T + intercept_."""

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_targets)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_.T + self.intercept_
