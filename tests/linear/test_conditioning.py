"""Acceptance 3 (seed 000): the normal equation breaks on rank-deficient X; QR, SVD, ridge don't.

Two identical columns a, a: X^T X is singular, and every w with w_1 + w_2 = c gives the same
fit. The minimum-norm solution splits c equally, w_1 = w_2 = c / 2, where c is the coefficient
of a when the duplicate is dropped.
"""

import re
import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.datasets import load_diabetes

import chainrule as cr
from chainrule.linear import ConditioningWarning


@pytest.fixture(scope="module")
def duplicated():
    X, y = load_diabetes(return_X_y=True)
    A = X[:, :3]
    X_dup = np.column_stack([A[:, 0], A[:, 0], A[:, 1:]])
    reduced = sk.LinearRegression().fit(A, y)
    c = reduced.coef_
    expected = np.array([c[0] / 2, c[0] / 2, c[1], c[2]])
    return X_dup, y, expected, reduced.intercept_


def test_normal_solver_warns_with_the_condition_number(duplicated):
    X, y, expected, _ = duplicated
    with pytest.warns(ConditioningWarning) as record:
        model = cr.linear.LinearRegression(solver="normal").fit(X, y)
    message = str(record[0].message)
    cond = float(re.search(r"cond\(X\^T X\) = ([0-9.e+]+)", message).group(1))
    assert cond > 1e15  # singular up to rounding
    assert "solver='qr'" in message and "solver='svd'" in message
    # it still returns a finite answer (the pseudo-inverse of X^T X), here the minimum-norm one
    assert np.all(np.isfinite(model.coef_))
    np.testing.assert_allclose(model.coef_, expected, rtol=1e-8)


@pytest.mark.parametrize("solver", ["qr", "svd", "gd"])
def test_qr_svd_gd_give_the_minimum_norm_solution(duplicated, solver):
    X, y, expected, intercept = duplicated
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: these solvers are fine here
        model = cr.linear.LinearRegression(solver=solver, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(model.coef_, expected, rtol=1e-8)
    assert model.coef_[0] == pytest.approx(model.coef_[1], rel=1e-10)
    assert model.intercept_ == pytest.approx(intercept, rel=1e-10)
    np.testing.assert_allclose(model.coef_, np.linalg.pinv(X - X.mean(0)) @ (y - y.mean()),
                               rtol=1e-8)


@pytest.mark.parametrize("solver", ["closed", "cholesky", "svd", "gd"])
def test_ridge_is_finite_and_splits_the_weight_equally(duplicated, solver):
    X, y, _, _ = duplicated
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = cr.linear.Ridge(alpha=1.0, solver=solver, tol=1e-12).fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    assert model.coef_[0] == pytest.approx(model.coef_[1], rel=1e-9)
    reference = sk.Ridge(alpha=1.0).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9)
    # ridge is the normal equation with alpha I added: X^T X + alpha I is invertible
    Xc, yc = X - X.mean(0), y - y.mean()
    closed_form = np.linalg.inv(Xc.T @ Xc + 1.0 * np.eye(4)) @ Xc.T @ yc
    np.testing.assert_allclose(model.coef_, closed_form, rtol=1e-9)


def test_nearly_collinear_columns_lose_digits_only_in_the_normal_equations():
    X, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(0)
    X = np.column_stack([X[:, 0], X[:, 0] + 1e-9 * rng.normal(size=len(y)), X[:, 1:3]])
    qr = cr.linear.LinearRegression(solver="qr").fit(X, y)
    svd = cr.linear.LinearRegression(solver="svd").fit(X, y)
    np.testing.assert_allclose(qr.coef_, svd.coef_, rtol=1e-5)  # cond(X) ~ 1e8: 1e-8 eps^-1
    assert abs(qr.coef_[0]) > 1e9  # the least-squares answer really is huge and opposed
    with pytest.warns(ConditioningWarning, match=r"cond\(X\^T X\) = 1\.\d+e\+16"):
        normal = cr.linear.LinearRegression(solver="normal").fit(X, y)
    assert np.max(np.abs(normal.coef_ - qr.coef_)) > 1e6  # cond(X)^2 ~ 1e16: nothing left


def test_well_conditioned_data_does_not_warn():
    X, y = load_diabetes(return_X_y=True)  # cond(X_c^T X_c) ~ 470
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.linear.LinearRegression(solver="normal").fit(X, y)


def test_ridge_with_zero_alpha_on_singular_data_warns_and_falls_back():
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    y = np.array([1.0, 2.0, 3.0])
    with pytest.warns(ConditioningWarning, match="alpha > 0"):
        model = cr.linear.Ridge(alpha=0.0, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(model.coef_, [0.5, 0.5])
