"""Acceptance 1: coefficients and intercepts match scikit-learn within 1e-6 relative.

Relative difference = max |ours - theirs| / max |theirs| over all coefficients (and likewise
for intercepts). Both sides run with tight tolerances, so the comparison measures the
solutions, not where two iterations happened to stop. For logistic regression the reference
is scikit-learn's 'newton-cholesky' at tol=1e-12, which reaches the exact optimum; its default
'lbfgs' also stops once f decreases by less than 64 eps relative, which on these data leaves
~1e-6 of error in coef_ at any tol.
"""

import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.preprocessing import StandardScaler

import chainrule as cr

RTOL = 1e-6


def rel(ours, theirs):
    ours, theirs = np.atleast_1d(ours), np.atleast_1d(theirs)
    return np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300)


def assert_match(ours, theirs, rtol=RTOL):
    assert ours.coef_.shape == np.shape(theirs.coef_)
    assert np.shape(ours.intercept_) == np.shape(theirs.intercept_)
    assert rel(ours.coef_, theirs.coef_) <= rtol, rel(ours.coef_, theirs.coef_)
    assert rel(ours.intercept_, theirs.intercept_) <= rtol, rel(ours.intercept_,
                                                                theirs.intercept_)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("solver", ["svd", "qr", "normal", "gd"])
def test_linear_regression(diabetes, solver):
    X, y = diabetes
    ours = cr.linear.LinearRegression(solver=solver, tol=1e-12).fit(X, y)
    assert_match(ours, sk.LinearRegression().fit(X, y))


@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("solver", ["closed", "cholesky", "svd", "gd"])
def test_ridge(diabetes, alpha, solver):
    X, y = diabetes
    ours = cr.linear.Ridge(alpha=alpha, solver=solver, tol=1e-12).fit(X, y)
    assert_match(ours, sk.Ridge(alpha=alpha, solver="cholesky").fit(X, y))


@pytest.mark.parametrize("solver", ["cd", "fista"])
@pytest.mark.parametrize("name, params", [
    ("Lasso", {"alpha": 0.1}),
    ("Lasso", {"alpha": 1.0}),
    ("ElasticNet", {"alpha": 0.01, "l1_ratio": 0.5}),
    ("ElasticNet", {"alpha": 0.1, "l1_ratio": 0.9}),
])
def test_lasso_and_elastic_net(diabetes, name, params, solver):
    X, y = diabetes
    theirs = getattr(sk, name)(**params, tol=1e-10, max_iter=100_000).fit(X, y)
    ours = getattr(cr.linear, name)(**params, solver=solver, tol=1e-12,
                                    max_iter=100_000).fit(X, y)
    assert_match(ours, theirs)
    # the same exact zeros, not merely small values
    np.testing.assert_array_equal(ours.coef_ == 0, theirs.coef_ == 0)


@pytest.mark.parametrize("C", [0.1, 1.0])
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_logistic_l2_breast_cancer(cancer, C, solver):
    X, y = cancer
    theirs = sk.LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12).fit(X, y)
    ours = cr.linear.LogisticRegression(C=C, solver=solver, tol=1e-10, max_iter=1000).fit(X, y)
    assert_match(ours, theirs)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-7)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_logistic_l1_with_intercept_vs_saga(cancer, solver):
    """saga minimises the same objective as ours (C sum loss + ||w||_1, intercept free)."""
    X, y = cancer
    theirs = sk.LogisticRegression(C=0.1, l1_ratio=1.0, solver="saga", tol=1e-12,
                                   max_iter=100_000).fit(X, y)
    ours = cr.linear.LogisticRegression("l1", C=0.1, solver=solver, tol=1e-10,
                                        max_iter=10_000).fit(X, y)
    assert_match(ours, theirs)
    np.testing.assert_array_equal(ours.coef_ == 0, theirs.coef_ == 0)


@pytest.mark.parametrize("C", [0.1, 1.0])
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_logistic_l1_vs_liblinear(cancer, C, solver):
    """liblinear penalises its intercept, so compare without one."""
    X, y = cancer
    theirs = sk.LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", tol=1e-12,
                                   max_iter=100_000, fit_intercept=False).fit(X, y)
    ours = cr.linear.LogisticRegression("l1", C=C, solver=solver, tol=1e-10, max_iter=10_000,
                                        fit_intercept=False).fit(X, y)
    assert rel(ours.coef_, theirs.coef_) <= RTOL
    np.testing.assert_array_equal(ours.intercept_, [0.0])  # liblinear gives the scalar 0.0
    np.testing.assert_array_equal(ours.coef_ == 0, theirs.coef_ == 0)


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_logistic_multinomial_iris(solver):
    X, y = load_iris(return_X_y=True)
    theirs = sk.LogisticRegression(solver="newton-cholesky", tol=1e-12).fit(X, y)
    ours = cr.linear.LogisticRegression(solver=solver, tol=1e-10, max_iter=1000).fit(X, y)
    assert ours.coef_.shape == (3, 4)
    assert_match(ours, theirs)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-7)


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_logistic_multinomial_l1_iris(solver):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    theirs = sk.LogisticRegression(C=0.5, l1_ratio=1.0, solver="saga", tol=1e-12,
                                   max_iter=100_000).fit(X, y)
    ours = cr.linear.LogisticRegression("l1", C=0.5, solver=solver, tol=1e-10,
                                        max_iter=10_000).fit(X, y)
    assert_match(ours, theirs)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_without_penalty(n_classes):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    scores = X @ rng.normal(size=(3, n_classes)) + rng.gumbel(size=(200, n_classes)) * 2
    y = scores.argmax(axis=1)  # noisy labels: not separable, so the optimum is finite
    theirs = sk.LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12).fit(X, y)
    for solver in ("lbfgs", "newton"):
        ours = cr.linear.LogisticRegression(None, solver=solver, tol=1e-10).fit(X, y)
        assert_match(ours, theirs)


def test_sample_weight_matches_sklearn(diabetes, cancer):
    X, y = diabetes
    sw = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    for ours, theirs in [
        (cr.linear.LinearRegression(), sk.LinearRegression()),
        (cr.linear.Ridge(alpha=1.0), sk.Ridge(alpha=1.0)),
        (cr.linear.Lasso(alpha=0.1, tol=1e-12), sk.Lasso(alpha=0.1, tol=1e-10)),
    ]:
        assert_match(ours.fit(X, y, sample_weight=sw), theirs.fit(X, y, sample_weight=sw))
    X, y = cancer
    sw = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    ours = cr.linear.LogisticRegression(solver="newton", tol=1e-10).fit(X, y, sample_weight=sw)
    theirs = sk.LogisticRegression(solver="newton-cholesky", tol=1e-12).fit(X, y,
                                                                             sample_weight=sw)
    assert_match(ours, theirs)


def test_lasso_path_matches_sklearn(diabetes):
    X, y = diabetes
    X, y = X - X.mean(axis=0), y - y.mean()
    alphas = np.geomspace(2.0, 1e-3, 12)
    a1, coefs, gaps = cr.linear.lasso_path(X, y, alphas=alphas, tol=1e-12, max_iter=100_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        a2, ref, _ = sk.lasso_path(X, y, alphas=alphas, tol=1e-10, max_iter=100_000)
    np.testing.assert_allclose(a1, a2)
    assert coefs.shape == (10, 12)
    assert rel(coefs, ref) <= RTOL
    assert np.all(gaps >= 0)
