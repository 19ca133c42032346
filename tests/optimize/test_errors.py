"""Acceptance 5: bad input gets a clear error; running out of iterations is reported."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optimize.problems import rosen

minimize = cr.optimize.minimize
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy on log(-1) etc.


@pytest.mark.parametrize("method", ["bfgs", "newton", "gd"])
def test_non_finite_objective_at_x0(method):
    with pytest.raises(ValueError, match=r"not finite at x0; got f\(x0\) = nan"):
        minimize(lambda x: (x * 0.0).sum() + np.nan, [1.0, 2.0], method=method)
    with pytest.raises(ValueError, match="not finite at x0"):
        minimize(lambda x: cr.log(x).sum(), [-1.0, 2.0], method=method)


def test_non_finite_gradient_at_x0():
    with pytest.raises(ValueError, match="gradient is not finite at x0"):
        minimize(lambda x: cr.sqrt(x).sum(), [0.0, 1.0])


def test_non_finite_x0():
    with pytest.raises(ValueError, match="x0 must be finite"):
        minimize(rosen, [np.inf, 1.0])


def test_gradient_shape_mismatch():
    def jac(x):
        return np.zeros(3)

    with pytest.raises(ValueError, match=r"jac\(x\) has shape \(3,\) but x0 has shape \(2,\)"):
        minimize(rosen, [-1.2, 1.0], jac=jac)
    with pytest.raises(ValueError, match=r"has shape \(1,\) but x0 has shape \(2,\)"):
        minimize(lambda x: (rosen(x), np.zeros(1)), [-1.2, 1.0], jac=True)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method 'adam'; choose one of bfgs, cg, gd"):
        minimize(rosen, [-1.2, 1.0], method="adam")
    with pytest.raises(TypeError, match="method must be a string"):
        minimize(rosen, [-1.2, 1.0], method=3)


def test_unknown_option():
    with pytest.raises(ValueError, match="unknown option 'lr' for method 'bfgs'"):
        minimize(rosen, [-1.2, 1.0], method="bfgs", options={"lr": 0.1})


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "newton", "newton-cg", "bfgs",
                                    "lbfgs", "cg"])
def test_maxiter_reports_failure(method):
    res = minimize(rosen, [-1.2, 1.0], method=method, maxiter=3,
                   options={"lr": 1e-4} if method in ("gd", "momentum", "nesterov") else None)
    assert res.nit == 3
    assert not res.success and res.status == 1
    assert "Maximum number of iterations" in res.message and "maxiter=3" in res.message


def test_fun_must_return_a_scalar():
    with pytest.raises(ValueError, match=r"fun must return a scalar; got shape \(2,\)"):
        minimize(lambda x: x * 2.0, [1.0, 2.0])


def test_fun_must_return_a_tensor_for_autodiff():
    with pytest.raises(TypeError, match="autodiff cannot differentiate it"):
        minimize(lambda x: float(x.numpy().sum()), [1.0, 2.0])


def test_types():
    with pytest.raises(TypeError, match="fun must be callable"):
        minimize("rosen", [1.0])
    with pytest.raises(TypeError, match="x0 must be an array of real numbers"):
        minimize(rosen, ["a", "b"])
    with pytest.raises(ValueError, match="x0 is empty"):
        minimize(rosen, [])
    with pytest.raises(ValueError, match="uses no Hessian"):
        minimize(rosen, [1.0, 2.0], method="bfgs", hess=lambda x: np.eye(2))


def test_finite_difference_requests_are_refused():
    with pytest.raises(ValueError, match="jac='2-point' asks for finite differences"):
        minimize(rosen, [1.0, 2.0], jac="2-point")
    with pytest.raises(ValueError, match="hess='3-point' asks for finite differences"):
        minimize(rosen, [1.0, 2.0], method="newton", hess="3-point")
    assert minimize(rosen, [-1.2, 1.0], jac=False).success  # scipy's "no jac": autodiff


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="lr must be positive; got -1"):
        minimize(rosen, [1.0, 2.0], method="gd", options={"lr": -1})
    with pytest.raises(ValueError, match="momentum must be in"):
        minimize(rosen, [1.0, 2.0], method="momentum", options={"momentum": 1.5})
    with pytest.raises(ValueError, match="modification must be one of"):
        minimize(rosen, [1.0, 2.0], method="newton", options={"modification": "abs"})
    with pytest.raises(ValueError, match="cg beta must be one of"):
        minimize(rosen, [1.0, 2.0], method="cg", options={"beta": "hs"})
    with pytest.raises(ValueError, match="maxiter must be a non-negative integer"):
        minimize(rosen, [1.0, 2.0], maxiter=2.5)


def test_divergence_is_reported_not_raised():
    res = minimize(lambda x: (x ** 2).sum(), [1.0, 1.0], method="gd", maxiter=5000,
                   options={"lr": 1.5})
    assert not res.success and res.status == 3
    assert "lr=1.5 is probably too large" in res.message


def test_least_squares_errors():
    ls = cr.optimize.least_squares
    with pytest.raises(ValueError, match="unknown method 'dogbox'"):
        ls(lambda p: p - 1.0, [0.0], method="dogbox")
    with pytest.raises(ValueError, match="residuals are not finite at x0"):
        ls(lambda p: cr.log(p), [-1.0])
    with pytest.raises(ValueError, match=r"jac\(x\) has shape"):
        ls(lambda p: p - 1.0, [0.0, 0.0], jac=lambda p: np.zeros((3, 2)))
