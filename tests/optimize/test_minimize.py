"""The minimize front door: result object, shapes, Tensors, supplied derivatives, callbacks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optimize import OptimizeResult
from chainrule.optimize.problems import rosen

minimize = cr.optimize.minimize
ALL = ["gd", "momentum", "nesterov", "newton", "newton-cg", "bfgs", "lbfgs", "cg"]


def test_result_is_dict_and_attributes():
    res = minimize(rosen, [-1.2, 1.0], method="bfgs")
    assert isinstance(res, OptimizeResult) and isinstance(res, dict)
    for key in ("x", "fun", "jac", "nit", "nfev", "njev", "success", "status", "message",
                "hess_inv"):
        assert key in res and res[key] is getattr(res, key)
    assert res.success and res.status == 0
    assert res.fun == pytest.approx(0.0, abs=1e-9)
    text = repr(res)
    assert text.splitlines()[0].strip().startswith("message: Optimization terminated")
    assert "nfev:" in text and "x: array([" in text
    with pytest.raises(AttributeError):
        res.nope  # noqa: B018
    res.extra = 3
    assert res["extra"] == 3
    assert "hess_inv" in dir(res)


def test_repr_of_empty_and_large_results():
    assert repr(OptimizeResult()) == "OptimizeResult()"
    assert "..." in repr(OptimizeResult(x=np.zeros(1000)))


@pytest.mark.parametrize("method", ALL)
def test_every_method_minimizes_a_quadratic(method):
    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    b = np.array([1.0, -2.0])
    res = minimize(lambda x: 0.5 * (x @ (A @ x)) - b @ x, np.zeros(2), method=method,
                   tol=1e-9, options={"lr": 0.3} if method in ALL[:3] else None)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), atol=1e-7)
    np.testing.assert_allclose(res.jac, A @ res.x - b, atol=1e-12)


def test_x0_shape_is_kept_and_tensor_x0_works():
    target = np.arange(6.0).reshape(2, 3)
    x0 = cr.tensor(np.zeros((2, 3)), requires_grad=True)
    res = minimize(lambda X: ((X - target) ** 2).sum(), x0, method="lbfgs")
    assert res.x.shape == (2, 3) and res.jac.shape == (2, 3)
    np.testing.assert_allclose(res.x, target, atol=1e-6)
    assert x0.grad is None  # x0 is only read


def test_float32_x0_is_minimized_in_float64():
    res = minimize(rosen, np.array([-1.2, 1.0], dtype=np.float32), tol=1e-10)
    assert res.x.dtype == np.float64
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-8)


def test_args_are_passed():
    res = minimize(lambda x, c: ((x - c) ** 2).sum(), [0.0, 0.0], args=(np.array([1.0, 2.0]),))
    np.testing.assert_allclose(res.x, [1.0, 2.0], atol=1e-6)


def test_supplied_jac_hess_hessp():
    # supplied derivatives get ndarrays, and so does fun once jac is given (scipy's convention)
    def jac(x):
        return np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]),
                         200 * (x[1] - x[0] ** 2)])

    def hess(x):
        return np.array([[1200 * x[0] ** 2 - 400 * x[1] + 2, -400 * x[0]],
                         [-400 * x[0], 200.0]])

    auto = minimize(rosen, [-1.2, 1.0], method="bfgs")
    given = minimize(lambda x: float(rosen(x)), [-1.2, 1.0], method="bfgs", jac=jac)
    np.testing.assert_allclose(given.x, auto.x, atol=1e-10)
    assert given.nfev == auto.nfev
    both = minimize(lambda x: (rosen(x), jac(x)), [-1.2, 1.0], method="bfgs", jac=True)
    assert both.nfev == auto.nfev
    newton = minimize(rosen, [-1.2, 1.0], method="newton", hess=hess)
    newton_auto = minimize(rosen, [-1.2, 1.0], method="newton")
    assert newton.nit == newton_auto.nit
    ncg = minimize(rosen, [-1.2, 1.0], method="newton-cg",
                   hessp=lambda x, p: hess(x) @ p.ravel())
    assert ncg.success and np.allclose(ncg.x, 1.0, atol=1e-4)


def test_record_path_and_callback():
    seen = []
    res = minimize(rosen, [-1.2, 1.0], method="bfgs", callback=seen.append,
                   options={"record_path": True})
    assert res.path.shape == (res.nit + 1, 2)
    np.testing.assert_array_equal(res.path[0], [-1.2, 1.0])
    np.testing.assert_array_equal(res.path[-1], res.x)
    assert len(seen) == res.nit
    np.testing.assert_array_equal(np.stack(seen), res.path[1:])


def test_callback_can_stop():
    res = minimize(rosen, [-1.2, 1.0], method="lbfgs", callback=lambda xk: True)
    assert res.nit == 1 and res.status == 99 and not res.success

    def stop(intermediate_result):
        assert isinstance(intermediate_result, OptimizeResult)
        if intermediate_result.nit == 4:
            raise StopIteration

    res = minimize(rosen, [-1.2, 1.0], method="cg", callback=stop)
    assert res.nit == 4 and res.status == 99


def test_scipy_spellings_and_tol():
    a = minimize(rosen, [-1.2, 1.0], method="L-BFGS-B", tol=1e-10)
    b = minimize(rosen, [-1.2, 1.0], method="lbfgs", options={"gtol": 1e-10, "ftol": 1e-10})
    assert a.nit == b.nit and np.array_equal(a.x, b.x)
    c = minimize(rosen, [-1.2, 1.0], method="Newton-CG", tol=1e-3)
    d = minimize(rosen, [-1.2, 1.0], method="newton-cg", tol=1e-9)
    assert c.nit < d.nit


def test_cg_fletcher_reeves():
    res = minimize(rosen, [-1.2, 1.0], method="cg", tol=1e-8, options={"beta": "FR"})
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)


def test_lbfgs_history_size():
    from chainrule.optimize.problems import quadratic

    p = quadratic(30, 1e3, seed=2)
    short = minimize(p.fun, p.x0, method="lbfgs", tol=1e-10, options={"m": 2})
    long = minimize(p.fun, p.x0, method="lbfgs", tol=1e-10, options={"m": 30})
    assert short.success and long.success
    assert long.nit < short.nit


def test_newton_damping_handles_indefinite_hessian():
    # at (0, 0) Himmelblau's Hessian is negative definite; the raw step would climb
    from chainrule.optimize.problems import himmelblau

    res = minimize(himmelblau, [0.0, 0.0], method="newton")
    assert res.success and res.fun < 1e-12
    assert "saddle" not in res.message


def test_gradient_free_constant_objective():
    res = minimize(lambda x: (x * 0.0).sum() + 1.0, [1.0, 2.0])
    assert res.success and res.nit == 0
    np.testing.assert_array_equal(res.x, [1.0, 2.0])


def test_line_search_satisfies_strong_wolfe():
    from chainrule.optimize.linesearch import scalar_search_wolfe

    def phi(a):  # f(x + a p) for f = Rosenbrock, x = (-1.2, 1), p = -grad
        x = np.array([-1.2, 1.0]) + a * p
        f, g = cr.value_and_grad(rosen)(x)
        return f.item(), float(g.numpy() @ p), None

    p = -cr.grad(rosen)(np.array([-1.2, 1.0])).numpy()
    f0, d0, _ = phi(0.0)
    for c2 in (0.9, 0.1):
        a, fa, _ = scalar_search_wolfe(phi, f0, d0, alpha0=1.0, c1=1e-4, c2=c2)
        _, da, _ = phi(a)
        assert fa <= f0 + 1e-4 * a * d0
        assert abs(da) <= c2 * abs(d0)
    assert scalar_search_wolfe(phi, f0, -d0) is None  # an ascent direction is refused
    with pytest.raises(ValueError, match="need 0 < c1 < c2 < 1"):
        scalar_search_wolfe(phi, f0, d0, c1=0.5, c2=0.1)


def test_public_line_search():
    x = np.array([-1.2, 1.0])
    g = cr.grad(rosen)(x).numpy()
    alpha, f_new, g_new = cr.optimize.line_search(rosen, x, -g, c2=0.5)
    assert f_new <= rosen(x) - 1e-4 * alpha * (g @ g)
    assert abs(g_new @ g) <= 0.5 * (g @ g)
    np.testing.assert_allclose(g_new, cr.grad(rosen)(x - alpha * g).numpy())
    assert cr.optimize.line_search(rosen, x, g) is None  # uphill
    with pytest.raises(ValueError, match=r"p has shape \(3,\) but x has shape \(2,\)"):
        cr.optimize.line_search(rosen, x, np.zeros(3))


@pytest.mark.parametrize("method", ["bfgs", "lbfgs", "cg", "newton-cg"])
def test_compiled_objective_gives_the_same_run_exactly(method):
    from chainrule.optimize.problems import standard_set

    for problem in standard_set():
        kw = dict(method=method, maxiter=300)
        eager = minimize(problem.fun, problem.x0, **kw)
        compiled = minimize(problem.fun, problem.x0, compile_fun=True, **kw)
        np.testing.assert_array_equal(compiled.x, eager.x)
        assert (compiled.fun, compiled.nit, compiled.nfev, compiled.status) == \
            (eager.fun, eager.nit, eager.nfev, eager.status)
