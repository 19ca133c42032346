"""minimize_module / least_squares_module: a model's parameters as one flat vector."""

import numpy as np
import pytest

import chainrule as cr

nn = pytest.importorskip("chainrule.nn")


def _linear_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    w = np.array([[1.0], [-2.0], [0.5]])
    y = X @ w + 0.3
    return X, y, w


@pytest.mark.parametrize("method", ["bfgs", "lbfgs", "cg", "newton", "newton-cg"])
def test_linear_regression_reaches_normal_equations(method):
    X, y, w = _linear_problem()
    layer = nn.Linear(3, 1).double()
    Xt, yt = cr.tensor(X), cr.tensor(y)
    res = cr.optimize.minimize_module(layer, lambda: ((layer(Xt) - yt) ** 2).mean(),
                                      method=method, tol=1e-10)
    assert res.success, res.message
    A = np.hstack([X, np.ones((30, 1))])
    coef = np.linalg.lstsq(A, y, rcond=None)[0].ravel()
    np.testing.assert_allclose(layer.weight.data.ravel(), coef[:3], atol=1e-6)
    np.testing.assert_allclose(layer.bias.data.ravel(), coef[3:], atol=1e-6)
    assert res.x.shape == (4,)


def test_float32_module_and_parameter_list():
    X, y, _ = _linear_problem()
    layer = nn.Linear(3, 1)  # float32 parameters stay float32
    Xt, yt = cr.tensor(X.astype(np.float32)), cr.tensor(y.astype(np.float32))
    res = cr.optimize.minimize_module(list(layer.parameters()),
                                      lambda: ((layer(Xt) - yt) ** 2).mean(), method="lbfgs")
    assert layer.weight.dtype == np.float32
    assert res.fun < 1e-8


def test_least_squares_module_fits_and_errors():
    X, y, _ = _linear_problem()
    layer = nn.Linear(3, 1).double()
    Xt, yt = cr.tensor(X), cr.tensor(y)
    res = cr.optimize.least_squares_module(layer, lambda: (layer(Xt) - yt).reshape(-1))
    assert res.success and res.cost < 1e-16
    with pytest.raises(ValueError, match="no parameters that require grad"):
        cr.optimize.minimize_module([], lambda: cr.tensor(0.0))
    with pytest.raises(ValueError, match="closure must return a scalar loss"):
        cr.optimize.minimize_module(layer, lambda: layer(Xt))
    with pytest.raises(TypeError, match="parameter 0 is a ndarray"):
        cr.optimize.minimize_module([np.zeros(2)], lambda: cr.tensor(0.0))
