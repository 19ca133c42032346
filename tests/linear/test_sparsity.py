"""Acceptance 4 (seed 000): lasso's exact zeros select features; ridge only shrinks them."""

import numpy as np
import pytest

import chainrule as cr

SUPPORT = np.array([3, 11, 24, 37, 45])


@pytest.fixture(scope="module")
def sparse_problem():
    """5 of 50 features matter; y = X w + 0.5 + small noise."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 50))
    w = np.zeros(50)
    w[SUPPORT] = [3.0, -2.0, 1.5, 2.5, -1.0]
    return X, X @ w + 0.5 + 0.1 * rng.normal(size=100), w


@pytest.mark.parametrize("solver", ["cd", "fista"])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_lasso_recovers_the_support(sparse_problem, solver, alpha):
    X, y, w = sparse_problem
    model = cr.linear.Lasso(alpha=alpha, solver=solver, tol=1e-8).fit(X, y)
    np.testing.assert_array_equal(np.flatnonzero(model.coef_), SUPPORT)
    assert np.all(model.coef_[SUPPORT] * w[SUPPORT] > 0)  # right signs
    # shrunk toward 0 by roughly alpha (the soft threshold), not more
    assert np.all(np.abs(model.coef_[SUPPORT]) < np.abs(w[SUPPORT]))
    assert np.max(np.abs(model.coef_ - w)) < 3 * alpha


def test_ridge_shrinks_every_coefficient_but_zeroes_none(sparse_problem):
    X, y, _ = sparse_problem
    ols = cr.linear.LinearRegression().fit(X, y)
    norms = []
    for alpha in [1.0, 10.0, 100.0]:
        ridge = cr.linear.Ridge(alpha=alpha).fit(X, y)
        assert np.count_nonzero(ridge.coef_) == 50
        assert np.min(np.abs(ridge.coef_)) > 0
        norms.append(np.linalg.norm(ridge.coef_))
    assert np.linalg.norm(ols.coef_) > norms[0] > norms[1] > norms[2] > 0


def test_orthogonal_design_gives_the_textbook_formulas():
    """With X^T X = n I: ridge scales every w_ols by n / (n + alpha); lasso soft-thresholds it."""
    rng = np.random.default_rng(1)
    n, p = 60, 8
    Q, _ = np.linalg.qr(rng.normal(size=(n, p)))
    X = np.sqrt(n) * Q  # orthogonal columns, X^T X = n I (no intercept: nothing to centre)
    y = X @ np.array([2.0, -1.5, 0.8, 0.3, -0.2, 0.05, 0.0, 1.0]) + 0.1 * rng.normal(size=n)
    w_ols = X.T @ y / n
    for alpha in [1.0, 10.0]:
        ridge = cr.linear.Ridge(alpha=alpha, fit_intercept=False).fit(X, y)
        np.testing.assert_allclose(ridge.coef_, w_ols * n / (n + alpha), rtol=1e-12)
    for alpha in [0.1, 0.5]:
        lasso = cr.linear.Lasso(alpha=alpha, fit_intercept=False, tol=1e-12).fit(X, y)
        soft = np.sign(w_ols) * np.maximum(np.abs(w_ols) - alpha, 0)
        np.testing.assert_allclose(lasso.coef_, soft, atol=1e-12)
        np.testing.assert_array_equal(lasso.coef_ == 0, np.abs(w_ols) <= alpha)
        assert np.count_nonzero(lasso.coef_ == 0) > 0


def test_lasso_path_starts_at_zero_and_grows(sparse_problem):
    X, y, _ = sparse_problem
    X, y = X - X.mean(axis=0), y - y.mean()
    alphas, coefs, gaps = cr.linear.lasso_path(X, y, alphas=30, eps=1e-3)
    assert coefs.shape == (50, 30) and np.all(np.diff(alphas) < 0)
    assert np.all(coefs[:, 0] == 0)  # alpha_max = max|X^T y| / n zeroes everything
    assert np.max(np.abs(X.T @ y)) / len(y) == pytest.approx(alphas[0])
    active = np.count_nonzero(coefs, axis=0)
    assert active[1] >= 1 and active[-1] > 5
    # the support appears first: at the first alpha with 5 non-zeros they are the true ones
    first5 = np.flatnonzero(active == 5)[0]
    np.testing.assert_array_equal(np.flatnonzero(coefs[:, first5]), SUPPORT)
    # each point on the path is the Lasso fit at that alpha
    k = 12
    lasso = cr.linear.Lasso(alpha=alphas[k], fit_intercept=False, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(coefs[:, k], lasso.coef_, atol=1e-4 * np.abs(lasso.coef_).max())
