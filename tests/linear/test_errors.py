"""Acceptance 6: bad input gets scikit-learn's usual clear errors, bad parameters ours."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import chainrule as cr
from chainrule.linear import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge

ESTIMATORS = [LinearRegression, Ridge, Lasso, ElasticNet, LogisticRegression]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(12, 3)), np.arange(12) % 2


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_nan_and_inf_in_X(Estimator, data):
    X, y = data
    X_nan, X_inf = X.copy(), X.copy()
    X_nan[2, 1], X_inf[0, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match="Input X contains NaN"):
        Estimator().fit(X_nan, y)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        Estimator().fit(X_inf, y)
    fitted = Estimator().fit(X, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fitted.predict(X_nan)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_nan_in_y(Estimator, data):
    X, y = data
    y = y.astype(float)
    y[3] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        Estimator().fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_mismatched_lengths(Estimator, data):
    X, y = data
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[12, 11\]"):
        Estimator().fit(X, y[:11])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_predict_before_fit(Estimator, data):
    X, _ = data
    with pytest.raises(NotFittedError, match=f"This {Estimator.__name__} instance is not "
                                             "fitted yet"):
        Estimator().predict(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_wrong_feature_count_at_predict(Estimator, data):
    X, y = data
    model = Estimator().fit(X, y)
    with pytest.raises(ValueError, match=f"X has 2 features, but {Estimator.__name__} is "
                                         "expecting 3 features"):
        model.predict(X[:, :2])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_one_dimensional_X(Estimator, data):
    X, y = data
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array instead"):
        Estimator().fit(X[:, 0], y)


def test_classifier_with_a_single_class(data):
    X, _ = data
    with pytest.raises(ValueError, match="only one class: 1"):
        LogisticRegression().fit(X, np.ones(12, dtype=int))


def test_classifier_with_a_regression_target(data):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        LogisticRegression().fit(X, np.linspace(0, 1, 12))


@pytest.mark.parametrize("Estimator", [LogisticRegression])
def test_classifier_methods_before_fit(Estimator, data):
    X, _ = data
    for method in ("predict_proba", "decision_function", "predict_log_proba"):
        with pytest.raises(NotFittedError):
            getattr(Estimator(), method)(X)


@pytest.mark.parametrize("Estimator, params, error, match", [
    (Ridge, {"alpha": -1.0}, ValueError, r"Ridge: alpha must be >= 0; got -1"),
    (Ridge, {"alpha": "big"}, TypeError, r"Ridge: alpha must be a real number"),
    (Ridge, {"solver": "lu"}, ValueError, r"solver must be one of 'closed', 'cholesky'"),
    (LinearRegression, {"solver": "inv"}, ValueError, r"'svd', 'qr', 'normal', 'gd'"),
    (LinearRegression, {"solver": "gd", "max_iter": 0}, ValueError, r"max_iter must be >= 1"),
    (Lasso, {"alpha": -0.5}, ValueError, r"Lasso: alpha must be >= 0"),
    (Lasso, {"solver": "lars"}, ValueError, r"one of 'cd', 'fista'"),
    (ElasticNet, {"l1_ratio": 1.5}, ValueError, r"l1_ratio must be >= 0 and <= 1; got 1.5"),
    (LogisticRegression, {"C": 0.0}, ValueError, r"C must be > 0; got 0.0"),
    (LogisticRegression, {"penalty": "elasticnet"}, ValueError, r"'l2', 'l1', None"),
    (LogisticRegression, {"solver": "saga"}, ValueError, r"one of 'lbfgs', 'newton'"),
    (LogisticRegression, {"tol": -1.0}, ValueError, r"tol must be >= 0"),
])
def test_bad_parameters_raise_at_fit(Estimator, params, error, match, data):
    X, y = data
    model = Estimator(**params)  # __init__ only stores: no error yet
    with pytest.raises(error, match=match):
        model.fit(X, y)


@pytest.mark.parametrize("Estimator", [LinearRegression, Ridge, Lasso, LogisticRegression])
def test_bad_sample_weight(Estimator, data):
    X, y = data
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(12,\)"):
        Estimator().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        Estimator().fit(X, y, sample_weight=-np.ones(12))
    with pytest.raises(ValueError, match="all sample weights are zero"):
        Estimator().fit(X, y, sample_weight=np.zeros(12))


def test_path_errors(data):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cr.linear.lasso_path(X, y[:5])
    with pytest.raises(ValueError, match="y must be 1-D"):
        cr.linear.lasso_path(X, np.ones((12, 2)))
    with pytest.raises(ValueError, match="l1_ratio must be > 0"):
        cr.linear.enet_path(X, y, l1_ratio=0.0)
