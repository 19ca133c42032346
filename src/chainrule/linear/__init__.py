"""Linear models as scikit-learn estimators: closed forms, coordinate descent, autodiff solvers.

LinearRegression (solver normal | qr | svd | gd), Ridge (closed | cholesky | svd | gd),
Lasso and ElasticNet (coordinate descent or FISTA), lasso_path / enet_path, LogisticRegression
(penalty l2 | l1 | None; solver lbfgs | newton), and ConditioningWarning. They follow
scikit-learn's estimator contract and drop into Pipeline, GridSearchCV and cross_val_score.
SciPy and scikit-learn are imported here, on first use of cr.linear, never by `import chainrule`.
"""

from chainrule.linear._base import ConditioningWarning
from chainrule.linear.lasso import ElasticNet, Lasso, enet_path, lasso_path
from chainrule.linear.logistic import LogisticRegression
from chainrule.linear.ordinary import LinearRegression
from chainrule.linear.ridge import Ridge

__all__ = ["ConditioningWarning", "ElasticNet", "Lasso", "LinearRegression",
           "LogisticRegression", "Ridge", "enet_path", "lasso_path"]
