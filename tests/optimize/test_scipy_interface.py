"""scipy.optimize's calling conventions (issue 22): NumPy derivatives get ndarrays, args, options
by scipy's names, and bounds: projected L-BFGS and least_squares' trust-region reflective, each
against scipy on a bound-constrained Rosenbrock and a box-constrained curve fit."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optimize import least_squares, minimize
from chainrule.optimize.lbfgsb import projected_gradient

so = pytest.importorskip("scipy.optimize")


# ---- a NumPy objective: every call must get an ndarray (np.exp of a Tensor raises) ----------
class NumpyProblem:
    """f(x) = sum(exp(x) - 2 x), minimized at x = log 2; records what each callable receives."""

    def __init__(self):
        self.seen = []

    def _saw(self, *arrays):
        self.seen.extend(type(a) for a in arrays)

    def fun(self, x):
        self._saw(x)
        return float(np.sum(np.exp(x) - 2.0 * x))

    def jac(self, x):
        self._saw(x)
        return np.exp(x) - 2.0

    def fun_and_jac(self, x):
        return self.fun(x), self.jac(x)

    def hess(self, x):
        self._saw(x)
        return np.diag(np.exp(x))

    def hessp(self, x, p):
        self._saw(x, p)
        return np.exp(x) * p


@pytest.mark.parametrize("method, extra", [
    ("bfgs", {}), ("lbfgs", {}), ("cg", {}), ("newton", {"hess": "hess"}),
    ("newton-cg", {"hessp": "hessp"}), ("bfgs", {"jac": True}),
])
def test_numpy_objective_and_derivatives_are_called_with_ndarrays(method, extra):
    problem = NumpyProblem()
    kwargs = {key: getattr(problem, name) for key, name in extra.items() if name is not True}
    fun = problem.fun
    if extra.get("jac") is True:
        kwargs["jac"], fun = True, problem.fun_and_jac
    else:
        kwargs["jac"] = problem.jac
    res = minimize(fun, [0.3, 1.5, -0.4], method=method, tol=1e-10, **kwargs)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.log(2.0), atol=1e-7)
    assert problem.seen and set(problem.seen) == {np.ndarray}


def test_numpy_hess_with_autodiff_gradient_gets_ndarrays():
    # fun is differentiated (gets a Tensor), the supplied Hessian gets an ndarray, as in scipy
    seen = []

    def hess(x):
        seen.append(type(x))
        return np.diag(np.exp(x))

    res = minimize(lambda x: (cr.exp(x) - 2.0 * x).sum(), [0.3, 1.5], method="newton",
                   hess=hess)
    np.testing.assert_allclose(res.x, np.log(2.0), atol=1e-7)
    assert set(seen) == {np.ndarray}


def test_numpy_functions_match_scipy_counts():
    ours = minimize(so.rosen, [-1.2, 1.0, 0.8], method="BFGS", jac=so.rosen_der, tol=1e-8)
    ref = so.minimize(so.rosen, [-1.2, 1.0, 0.8], method="BFGS", jac=so.rosen_der, tol=1e-8)
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-6)
    assert ours.nfev <= 1.2 * ref.nfev
    ncg = minimize(so.rosen, [-1.2, 1.0], method="Newton-CG", jac=so.rosen_der,
                   hessp=so.rosen_hess_prod)
    assert ncg.success and np.allclose(ncg.x, 1.0, atol=1e-4)


def test_least_squares_numpy_residuals_and_jacobian_get_ndarrays():
    t = np.linspace(0, 3, 30)
    y = 2.0 * np.exp(-1.5 * t) + 0.5
    seen = []

    def fun(p):
        seen.append(type(p))
        return p[0] * np.exp(-p[1] * t) + p[2] - y

    def jac(p):
        seen.append(type(p))
        e = np.exp(-p[1] * t)
        return np.stack([e, -p[0] * t * e, np.ones_like(t)], axis=1)

    for method in ("lm", "trf"):
        seen.clear()
        res = least_squares(fun, [1.0, 1.0, 0.0], jac=jac, method=method)
        np.testing.assert_allclose(res.x, [2.0, 1.5, 0.5], atol=1e-8)
        assert set(seen) == {np.ndarray}


def test_tensor_style_fun_with_numpy_jac_gets_a_hint():
    with pytest.raises(AttributeError, match="fun is called with a NumPy array, as scipy"):
        minimize(lambda x: x.exp().sum(), [0.0], jac=lambda x: np.exp(x))
    with pytest.raises(AttributeError, match="leave jac=None so fun gets a Tensor"):
        least_squares(lambda p: p.exp() - 2.0, [0.0], jac=lambda p: np.diag(np.exp(p)))
    with pytest.raises(AttributeError, match="hess raised AttributeError"):
        minimize(lambda x: (cr.exp(x) - 2 * x).sum(), [0.0], method="newton",
                 hess=lambda x: x.numpy())
    assert minimize(lambda x: x.exp().sum() - 2 * x.sum(), [0.0]).success  # autodiff: a Tensor


# ---- args ---------------------------------------------------------------------------------
def test_args_not_a_tuple_is_one_argument():
    c = np.array([1.0, 2.0])
    res = minimize(lambda x, c: ((x - c) ** 2).sum(), [0.0, 0.0], args=c)
    np.testing.assert_allclose(res.x, c, atol=1e-6)
    res = minimize(lambda x, c: ((x - c) ** 2).sum(), [0.0], args=3.0)
    np.testing.assert_allclose(res.x, [3.0], atol=1e-6)
    fit = least_squares(lambda p, c: p - c, [0.0, 0.0], args=c)
    np.testing.assert_allclose(fit.x, c, atol=1e-8)
    assert minimize(lambda x, a, b: ((x - a) ** 2).sum() + b, [0.0], args=(1.0, 2.0)).success


# ---- options as scipy spells them ----------------------------------------------------------
def test_lbfgs_options_by_scipy_names():
    rosen = cr.optimize.problems.rosen
    x0 = [-1.2, 1.0]
    few = minimize(rosen, x0, method="L-BFGS-B", options={"maxcor": 2, "gtol": 1e-8})
    same = minimize(rosen, x0, method="lbfgs", options={"m": 2, "gtol": 1e-8})
    assert few.success and few.nit == same.nit
    assert few.nit != minimize(rosen, x0, method="lbfgs", options={"gtol": 1e-8}).nit
    capped = minimize(rosen, x0, method="lbfgs", options={"maxfun": 10})
    assert not capped.success and capped.nfev <= 11 and "maxfun=10" in capped.message
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method="L-BFGS-B",
                      options={"maxcor": 2, "maxls": 5, "maxiter": 200, "gtol": 1e-8})
    ours = minimize(rosen, x0, method="L-BFGS-B",
                    options={"maxcor": 2, "maxls": 5, "maxiter": 200, "gtol": 1e-8})
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-6)
    with pytest.raises(ValueError, match="options 'm' and 'maxcor' are the same option"):
        minimize(rosen, x0, method="lbfgs", options={"m": 2, "maxcor": 3})
    with pytest.raises(ValueError, match="maxls must be a positive integer; got 0"):
        minimize(rosen, x0, method="lbfgs", options={"maxls": 0})
    with pytest.raises(ValueError, match="option 'eps' sets a finite-difference step"):
        minimize(rosen, x0, method="lbfgs", options={"eps": 1e-8})


@pytest.mark.parametrize("method", ["bfgs", "lbfgs", "cg", "newton", "newton-cg", "gd"])
def test_return_all_and_disp(method, capsys):
    quad = lambda x: ((x - 1.0) ** 2).sum() + 0.5 * (x[0] * x[1])
    opts = {"return_all": True, "disp": True}
    if method == "gd":
        opts["lr"] = 0.1
    res = minimize(quad, [3.0, -2.0], method=method, options=opts)
    assert res.success
    assert len(res.allvecs) == res.nit + 1 and "path" not in res
    np.testing.assert_array_equal(res.allvecs[0], [3.0, -2.0])
    np.testing.assert_array_equal(res.allvecs[-1], res.x)
    out = capsys.readouterr().out
    assert res.message in out and f"Iterations: {res.nit}" in out
    assert f"Function evaluations: {res.nfev}" in out
    quiet = minimize(quad, [3.0, -2.0], method=method, options={"lr": 0.1} if method == "gd"
                     else None)
    assert "allvecs" not in quiet and capsys.readouterr().out == ""


def test_minimize_disp_shows_a_bar_and_scipys_summary(capsys):
    pytest.importorskip("tqdm")
    rosen = cr.optimize.problems.rosen
    res = cr.optimize.minimize(rosen, [-1.2, 1.0], method="bfgs", options={"disp": True})
    captured = capsys.readouterr()
    assert "minimize bfgs" in captured.err
    assert captured.out.startswith(res.message)
    assert "Current function value: 0.000000" in captured.out
    cr.optimize.minimize(rosen, [-1.2, 1.0], method="bfgs")
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""  # scipy's default disp=False


# ---- bounds: projected L-BFGS against scipy's L-BFGS-B -------------------------------------
def _ext_rosen(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


BOXES_2D = [
    ([-1.2, 1.0], [(-1.5, 0.8), (-1.0, 2.0)]),  # x0 <= 0.8 binds: minimum (0.8, 0.64)
    ([0.5, 0.5], [(-2.0, 2.0), (1.5, 3.0)]),  # x1 >= 1.5 binds
    ([3.0, 3.0], [(2.0, None), (None, None)]),  # one-sided: x0 >= 2 binds, minimum (2, 4)
    ([-1.2, 1.0], [(-2.0, 2.0), (-2.0, 2.0)]),  # inactive: the unconstrained minimum (1, 1)
    ([5.0, -5.0], [(-1.0, 0.5), (0.0, 0.1)]),  # x0 outside the box: projected first
]


@pytest.mark.parametrize("x0, bounds", BOXES_2D)
def test_bounded_rosenbrock_matches_scipy_lbfgsb(x0, bounds):
    seen = []
    ours = minimize(cr.optimize.problems.rosen, x0, method="L-BFGS-B", bounds=bounds,
                    callback=seen.append, options={"gtol": 1e-10, "ftol": 1e-15})
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method="L-BFGS-B", bounds=bounds,
                      options={"gtol": 1e-10, "ftol": 1e-15})
    assert ours.success, ours.message
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-6)
    np.testing.assert_allclose(ours.fun, ref.fun, rtol=1e-9, atol=1e-14)
    lb = np.array([-np.inf if lo is None else lo for lo, _ in bounds])
    ub = np.array([np.inf if hi is None else hi for _, hi in bounds])
    for x in [ours.x, *seen]:  # every iterate is feasible, not only the answer
        assert np.all(lb <= x) and np.all(x <= ub)
    assert np.abs(projected_gradient(ours.x, ours.jac, lb, ub)).max() <= 1e-6
    assert ours.nit <= 1.5 * ref.nit + 5 and ours.nfev <= 1.5 * ref.nfev + 5


@pytest.mark.parametrize("x0", [np.full(20, 0.5), np.full(20, 1.5), np.zeros(20)])
def test_bounded_extended_rosenbrock_20d_with_scipy_bounds_object(x0):
    lb, ub = np.full(20, -2.0), np.full(20, 2.0)
    ub[3], lb[10] = 0.5, 1.2  # two bounds bind at the minimum
    box = so.Bounds(lb, ub)
    ours = minimize(_ext_rosen, x0, bounds=box, options={"gtol": 1e-10, "ftol": 1e-15})
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method="L-BFGS-B", bounds=box,
                      options={"gtol": 1e-10, "ftol": 1e-15})
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-6)
    np.testing.assert_allclose(ours.fun, ref.fun, rtol=1e-10)
    assert np.all(lb <= ours.x) and np.all(ours.x <= ub)
    assert ours.x[3] == 0.5 and ours.x[10] == 1.2  # on the bound exactly, not near it


def test_inactive_bounds_give_the_unbounded_lbfgs_iterates():
    rosen = cr.optimize.problems.rosen
    free = minimize(rosen, [-1.2, 1.0], method="lbfgs", options={"record_path": True})
    boxed = minimize(rosen, [-1.2, 1.0], method="lbfgs", bounds=[(-5, 5), (-5, 5)],
                     options={"record_path": True})
    # the same steps; s = x_new - x instead of alpha p differs only by rounding
    np.testing.assert_allclose(boxed.path, free.path, rtol=1e-9, atol=1e-12)
    assert (boxed.nit, boxed.nfev) == (free.nit, free.nfev)


def test_bounds_errors_and_defaults():
    rosen = cr.optimize.problems.rosen
    res = minimize(rosen, [-1.2, 1.0], bounds=[(None, 0.8), (None, None)])  # method: lbfgs
    np.testing.assert_allclose(res.x, [0.8, 0.64], atol=1e-5)
    with pytest.raises(ValueError, match="method 'bfgs' does not handle bounds"):
        minimize(rosen, [-1.2, 1.0], method="bfgs", bounds=[(0, 1), (0, 1)])
    with pytest.raises(ValueError, match="bounds has 1 .min, max. pairs but x0 has 2"):
        minimize(rosen, [-1.2, 1.0], bounds=[(0, 1)])
    with pytest.raises(ValueError, match=r"lb\[1\] = 2.0 > ub\[1\] = 1.0"):
        minimize(rosen, [-1.2, 1.0], bounds=[(0, 1), (2, 1)])
    with pytest.raises(ValueError, match=r"bounds\[0\] must be a \(min, max\) pair"):
        minimize(rosen, [-1.2, 1.0], bounds=[(0, 1, 2), (0, 1)])


def test_minimize_module_with_bounds_keeps_parameters_in_the_box():
    # nonnegative least squares on a model's weight: the lbfgs default once bounds are given
    rng = np.random.default_rng(0)
    A, target = rng.standard_normal((20, 4)), rng.standard_normal(20)
    w = cr.tensor(np.full(4, 0.5), requires_grad=True)
    At, yt = cr.tensor(A), cr.tensor(target)
    res = cr.optimize.minimize_module([w], lambda: ((At @ w - yt) ** 2).sum(),
                                      bounds=[(0.0, None)] * 4,
                                      options={"gtol": 1e-10, "ftol": 1e-15})
    ref = so.nnls(A, target)[0]
    np.testing.assert_allclose(w.numpy(), ref, atol=1e-7)
    np.testing.assert_allclose(res.x, ref, atol=1e-7)
    assert np.all(w.numpy() >= 0) and np.any(ref == 0)  # some constraint binds


# ---- bounds: least_squares' trust-region reflective against scipy's trf --------------------
T = np.linspace(0, 3, 40)
Y = 2.0 * np.exp(-1.5 * T) + 0.5 + 0.05 * np.random.default_rng(0).standard_normal(40)
CURVE_BOXES = [
    ((-np.inf, np.inf), [1.0, 1.0, 0.0]),  # unbounded trf
    (([0.0, 0.0, 0.0], [1.5, 3.0, 0.45]), [1.0, 1.0, 0.0]),  # a and c bind at their maxima
    (([0.0, 1.6, 0.0], [5.0, 3.0, 1.0]), [1.0, 2.0, 0.5]),  # b binds at its minimum
    ((0.0, [np.inf, 1.0, np.inf]), [1.0, 0.5, 0.0]),  # scalar lb, b <= 1 binds
]


@pytest.mark.parametrize("bounds, x0", CURVE_BOXES)
def test_box_constrained_curve_fit_matches_scipy_trf(bounds, x0):
    model = lambda p: p[0] * (-p[1] * T).exp() + p[2] - Y
    tol = {"ftol": 1e-12, "xtol": 1e-12, "gtol": 1e-12}
    ours = least_squares(model, x0, bounds=bounds, method="trf", **tol)
    ref = so.least_squares(lambda p: p[0] * np.exp(-p[1] * T) + p[2] - Y, x0, bounds=bounds,
                           method="trf", **tol)
    assert ours.success, ours.message
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-7)
    np.testing.assert_allclose(ours.cost, ref.cost, rtol=1e-10)
    np.testing.assert_array_equal(ours.active_mask, ref.active_mask)
    lb, ub = (np.broadcast_to(np.asarray(b, dtype=float), (3,)) for b in bounds)
    assert np.all(lb <= ours.x) and np.all(ours.x <= ub)
    assert ours.nfev <= 1.5 * ref.nfev + 3


def test_bounded_rosenbrock_residuals_with_trf():
    bounds = ([-2.0, -2.0], [0.5, 2.0])
    ours = least_squares(lambda x: cr.stack([10 * (x[1] - x[0] ** 2), 1 - x[0]]), [-1.2, 1.0],
                         bounds=bounds)  # the method defaults to trf when bounded
    ref = so.least_squares(lambda x: np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]]),
                           [-1.2, 1.0], bounds=bounds)
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-7)
    np.testing.assert_allclose(ours.x, [0.5, 0.25], atol=1e-7)
    np.testing.assert_allclose(ours.cost, ref.cost, rtol=1e-8)


def test_least_squares_bounds_errors():
    f = lambda p: p - 1.0
    with pytest.raises(ValueError, match="method 'lm' does not handle bounds; use method='trf'"):
        least_squares(f, [0.5], bounds=(0.0, 1.0), method="lm")
    with pytest.raises(ValueError, match=r"x0 is infeasible: x0\[0\] = 2.0 is outside"):
        least_squares(f, [2.0], bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match="strictly less than its upper bound"):
        least_squares(f, [1.0], bounds=(1.0, 1.0))
    with pytest.raises(ValueError, match="ub has 3 entries but x0 has 2"):
        least_squares(f, [0.5, 0.5], bounds=(0.0, [1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="bounds must be a pair"):
        least_squares(f, [0.5], bounds=[(0.0, 1.0, 2.0)])
    np.testing.assert_allclose(least_squares(f, [0.5], bounds=so.Bounds(0.0, 0.8)).x, [0.8],
                               atol=1e-8)
