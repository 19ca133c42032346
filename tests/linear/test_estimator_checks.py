"""scikit-learn's own estimator checks, for every estimator and each iterative solver."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule.linear import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge

ESTIMATORS = [
    LinearRegression(),
    LinearRegression(solver="qr"),
    LinearRegression(solver="normal"),
    LinearRegression(solver="gd"),
    Ridge(),
    Ridge(solver="cholesky"),
    Ridge(solver="svd"),
    Ridge(solver="gd"),
    Lasso(),
    Lasso(solver="fista"),
    ElasticNet(),
    ElasticNet(solver="fista"),
    LogisticRegression(),
    LogisticRegression(solver="newton"),
    LogisticRegression(penalty="l1"),
    LogisticRegression(penalty=None),
]


# The checks fit with the defaults (max_iter=100, tol=1e-4) on unscaled data such as iris, where
# penalty='l1' needs more proximal-gradient steps than that: it says so, as scikit-learn's saga
# does, and the checks still pass. Some checks fit fewer samples than features, where X^T X is
# singular and solver='normal' rightly warns.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::chainrule.linear.ConditioningWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
