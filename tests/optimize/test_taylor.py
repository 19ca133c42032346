"""taylor: the order-1/2 Taylor models of seed 002, and their link to Newton's step."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optimize.problems import rosen


def test_cubic_in_one_variable():
    f = lambda x: (x ** 3).sum()  # f(1) = 1, f' = 3, f'' = 6
    q1 = cr.optimize.taylor(f, [1.0], order=1)
    q2 = cr.optimize.taylor(f, [1.0], order=2)
    assert q1([1.5]).item() == pytest.approx(1 + 3 * 0.5)
    assert q2([1.5]).item() == pytest.approx(1 + 3 * 0.5 + 0.5 * 6 * 0.25)
    assert q2.hess.tolist() == [[6.0]] and q1.hess is None


def test_error_shrinks_with_order():
    x0 = np.array([-1.2, 1.0])
    q1, q2 = (cr.optimize.taylor(rosen, x0, order=k) for k in (1, 2))
    d = np.array([0.3, -0.2])
    for h in (1e-1, 1e-2):
        exact = rosen(x0 + h * d)
        e1 = abs(q1(x0 + h * d).item() - exact)
        e2 = abs(q2(x0 + h * d).item() - exact)
        assert e2 < e1
    # order-k error is O(h^(k+1)): shrinking h by 10 shrinks the order-2 error ~1000x
    e = [abs(q2(x0 + h * d).item() - rosen(x0 + h * d)) for h in (1e-1, 1e-2)]
    assert 500 < e[0] / e[1] < 2000


def test_newton_step_is_the_model_minimizer():
    x0 = np.array([1.2, 1.2])  # Hessian PD here
    q = cr.optimize.taylor(rosen, x0, order=2)
    step = q.newton_step()
    g = cr.grad(q)(x0 + step).numpy()  # the model is differentiable: its gradient is 0 there
    np.testing.assert_allclose(g, 0.0, atol=1e-8)
    res = cr.optimize.minimize(rosen, x0, method="newton", maxiter=1,
                               options={"modification": "none", "linesearch": False})
    np.testing.assert_allclose(res.x, x0 + step, rtol=1e-12)


def test_batched_evaluation_and_errors():
    q = cr.optimize.taylor(rosen, [0.0, 0.0], order=2)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-1, 1, 3)), axis=-1)
    assert q(grid).shape == (3, 4)
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        cr.optimize.taylor(rosen, [0.0, 0.0], order=3)
    with pytest.raises(ValueError, match=r"x must have shape \(2,\)"):
        q(np.zeros(3))
    with pytest.raises(ValueError, match="needs the order-2 model"):
        cr.optimize.taylor(rosen, [0.0, 0.0], order=1).newton_step()
