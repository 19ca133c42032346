"""The estimators in scikit-learn's machinery, solver agreement, closed-form identities."""

import doctest
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from chainrule.linear import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    lasso,
    logistic,
    ordinary,
    ridge,
)


def test_import_chainrule_does_not_import_sklearn_or_scipy():
    code = ("import sys, chainrule; bad = [m for m in ('sklearn', 'scipy') if m in sys.modules];"
            "print(bad); import chainrule as cr; cr.linear; cr.decomposition;"
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["[]", "True"]


@pytest.mark.parametrize("module", [ordinary, ridge, lasso, logistic])
def test_docstring_examples(module):
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_pipeline_grid_search_and_cross_validation():
    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), Ridge())
    search = GridSearchCV(pipe, {"ridge__alpha": [0.1, 1.0, 10.0],
                                 "ridge__solver": ["closed", "svd"]}, cv=3).fit(X, y)
    assert search.best_params_["ridge__alpha"] in (0.1, 1.0, 10.0)
    scores = cross_val_score(make_pipeline(StandardScaler(), Lasso(alpha=0.5)), X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.3)

    Xc, yc = load_breast_cancer(return_X_y=True)
    clf = make_pipeline(StandardScaler(), LogisticRegression())
    accuracy = cross_val_score(clf, Xc, yc, cv=3)
    assert np.all(accuracy > 0.95)
    search = GridSearchCV(clf, {"logisticregression__C": [0.1, 1.0]}, cv=3).fit(Xc, yc)
    assert search.best_score_ > 0.95


def test_get_set_params_and_clone():
    model = LogisticRegression(penalty="l1", C=0.5, solver="newton")
    assert model.get_params() == {"penalty": "l1", "C": 0.5, "fit_intercept": True,
                                  "solver": "newton", "tol": 1e-4, "max_iter": 100}
    copy = clone(model).set_params(C=2.0)
    assert copy.C == 2.0 and model.C == 0.5
    assert "l1_ratio" not in Lasso().get_params()
    assert ElasticNet(l1_ratio=0.3).get_params()["l1_ratio"] == 0.3


def test_all_solvers_agree_and_ridge_at_zero_alpha_is_ols():
    X, y = load_diabetes(return_X_y=True)
    ols = [LinearRegression(solver=s, tol=1e-12).fit(X, y).coef_
           for s in ("svd", "qr", "normal", "gd")]
    ridge0 = [Ridge(alpha=0.0, solver=s, tol=1e-12).fit(X, y).coef_
              for s in ("closed", "cholesky", "svd", "gd")]
    for coef in ols[1:] + ridge0:
        np.testing.assert_allclose(coef, ols[0], rtol=1e-8)


def test_ridge_dual_form_when_features_outnumber_samples():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 20)), rng.normal(size=8)
    coefs = [Ridge(alpha=0.7, solver=s, tol=1e-12).fit(X, y).coef_
             for s in ("closed", "cholesky", "svd", "gd")]
    for coef in coefs[1:]:
        np.testing.assert_allclose(coef, coefs[0], rtol=1e-8)
    # more unknowns than equations: OLS interpolates with the minimum-norm w
    for solver in ("svd", "qr", "gd"):
        model = LinearRegression(solver=solver, tol=1e-12).fit(X, y)
        np.testing.assert_allclose(model.predict(X), y, atol=1e-8)
        Xc = X - X.mean(0)
        np.testing.assert_allclose(model.coef_, np.linalg.pinv(Xc) @ (y - y.mean()), atol=1e-8)


def test_multi_output_regression():
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, -2 * y + 1])
    for model in (LinearRegression(), Ridge(alpha=1.0), Ridge(alpha=1.0, solver="gd")):
        fitted = clone(model).fit(X, Y)
        single = clone(model).fit(X, y)
        assert fitted.coef_.shape == (2, 10) and fitted.intercept_.shape == (2,)
        np.testing.assert_allclose(fitted.coef_[0], single.coef_, rtol=1e-7)
        np.testing.assert_allclose(fitted.coef_[1], -2 * single.coef_, rtol=1e-7)
        assert fitted.predict(X).shape == (442, 2)


def test_elastic_net_with_l1_ratio_one_is_lasso():
    X, y = load_diabetes(return_X_y=True)
    a = ElasticNet(alpha=0.2, l1_ratio=1.0, tol=1e-10).fit(X, y)
    b = Lasso(alpha=0.2, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12)
    assert a.n_iter_ >= 1 and a.dual_gap_ >= 0


def test_fitting_does_not_modify_the_inputs():
    X, y = load_diabetes(return_X_y=True)
    X0, y0 = X.copy(), y.copy()
    for model in (LinearRegression(solver="gd"), Ridge(), Lasso(), ElasticNet(solver="fista")):
        model.fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_classifier_outputs():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = LogisticRegression(max_iter=500).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), atol=1e-10)
    assert clf.decision_function(X).shape == (150, 3)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.intercept_.sum(), 0.0, atol=1e-10)  # softmax's gauge
    assert clf.score(X, names) > 0.95

    binary = y > 0
    clf = LogisticRegression().fit(X, binary)
    assert clf.coef_.shape == (1, 4) and clf.intercept_.shape == (1,)
    scores = clf.decision_function(X)
    assert scores.shape == (150,)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-scores)))
    np.testing.assert_array_equal(clf.predict(X), scores > 0)
    # stable at huge scores: no NaN, no warning
    big = clf.predict_log_proba(X * 1e6)
    assert np.all(np.isfinite(big) | (big == -np.inf)) and not np.any(np.isnan(big))


def test_l1_logistic_is_sparse_and_satisfies_the_optimality_conditions():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = LogisticRegression("l1", C=0.1, solver="newton", tol=1e-10, max_iter=1000).fit(X, y)
    w, b = clf.coef_[0], clf.intercept_[0]
    assert 0 < np.count_nonzero(w) < 30
    # gradient of the mean loss: -X^T (y - p) / n; KKT: |g_j| <= 1/(C n) where w_j = 0,
    # g_j = -sign(w_j) / (C n) elsewhere, and d/db = 0
    p = 1 / (1 + np.exp(-(X @ w + b)))
    g = X.T @ (p - y) / len(y)
    lam = 1 / (0.1 * len(y))
    assert np.all(np.abs(g[w == 0]) <= lam + 1e-10)
    np.testing.assert_allclose(g[w != 0], -np.sign(w[w != 0]) * lam, atol=1e-9)
    assert abs(np.mean(p - y)) < 1e-10
