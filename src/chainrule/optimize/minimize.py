"""minimize: one front door to every minimizer, with scipy.optimize.minimize's names.

    >>> import chainrule as cr
    >>> rosen = lambda x: (100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2)
    >>> res = cr.optimize.minimize(rosen, [-1.2, 1.0], method="bfgs")
    >>> res.success, res.x.round(4).tolist()
    (True, [1.0, 1.0])
"""

import inspect

import numpy as np

from chainrule._device import require_host as _require_host
from chainrule.optimize._progress import progress_bar
from chainrule.optimize.bfgs import minimize_bfgs
from chainrule.optimize.bounds import minimize_bounds
from chainrule.optimize.cg import minimize_cg
from chainrule.optimize.gd import minimize_gd, minimize_momentum, minimize_nesterov
from chainrule.optimize.lbfgs import minimize_lbfgs
from chainrule.optimize.lbfgsb import minimize_lbfgsb
from chainrule.optimize.newton import minimize_newton, minimize_newton_cg
from chainrule.optimize.objective import Objective, as_float_array
from chainrule.optimize.result import Progress

# name -> (solver, the option that `tol` sets); the solvers' keyword arguments are the options
METHODS = {
    "gd": (minimize_gd, ("gtol",)),
    "momentum": (minimize_momentum, ("gtol",)),
    "nesterov": (minimize_nesterov, ("gtol",)),
    "newton": (minimize_newton, ("gtol",)),
    "newton-cg": (minimize_newton_cg, ("xtol",)),
    "bfgs": (minimize_bfgs, ("gtol",)),
    "lbfgs": (minimize_lbfgs, ("gtol", "ftol")),
    "cg": (minimize_cg, ("gtol",)),
}
# scipy's spellings of the same methods
ALIASES = {"l-bfgs": "lbfgs", "l-bfgs-b": "lbfgs", "newtoncg": "newton-cg",
           "newton_cg": "newton-cg", "steepest": "gd", "gradient-descent": "gd"}
# options every method takes (handled here, not by the solver), as scipy spells them
COMMON_OPTIONS = ("disp", "return_all", "record_path")
# other spellings of a method's options -> the solver's name
OPTION_ALIASES = {"lbfgs": {"m": "maxcor"}}
# scipy options that only tune finite differences, which chainrule never takes
_FINITE_DIFFERENCE_OPTIONS = ("eps", "finite_diff_rel_step")


def _resolve(method):
    if not isinstance(method, str):
        raise TypeError(f"minimize: method must be a string; got {type(method).__name__}")
    name = method.lower()
    name = ALIASES.get(name, name)
    if name not in METHODS:
        raise ValueError(f"minimize: unknown method {method!r}; choose one of "
                         f"{', '.join(sorted(METHODS))}")
    return name


def _options(name, solver, options, tol, maxiter):
    """(the solver's keyword arguments, the common options disp / return_all / record_path)."""
    options = {} if options is None else dict(options)
    common = {key: options.pop(key, False) for key in COMMON_OPTIONS}
    for alias, key in OPTION_ALIASES.get(name, {}).items():
        if alias in options:
            if key in options:
                raise ValueError(f"minimize: options {alias!r} and {key!r} are the same "
                                 "option; give one")
            options[key] = options.pop(alias)
    valid = [p for p in inspect.signature(solver).parameters
             if p not in ("objective", "x0", "progress", "lb", "ub")]
    for key in options:
        if key in _FINITE_DIFFERENCE_OPTIONS:
            raise ValueError(f"minimize: option {key!r} sets a finite-difference step; "
                             "chainrule's derivatives are exact (autodiff), so drop it")
        if key not in valid:
            raise ValueError(f"minimize: unknown option {key!r} for method {name!r}; valid "
                             f"options are {', '.join(valid + list(COMMON_OPTIONS))}")
    if tol is not None:
        for key in METHODS[name][1]:
            options.setdefault(key, tol)
    if maxiter is not None:
        options["maxiter"] = maxiter
    if "maxiter" in options and options["maxiter"] is not None:
        m = options["maxiter"]
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0:
            raise ValueError(f"minimize: maxiter must be a non-negative integer; got {m!r}")
    return options, common


def _summary(res):
    """scipy's disp=True report."""
    lines = [res.message, f"         Current function value: {res.fun:f}",
             f"         Iterations: {res.nit}", f"         Function evaluations: {res.nfev}",
             f"         Gradient evaluations: {res.njev}"]
    if "nhev" in res:
        lines.append(f"         Hessian evaluations: {res.nhev}")
    print("\n".join(lines))


def minimize(fun, x0, args=(), method=None, jac=None, hess=None, hessp=None, bounds=None,
             tol=None, callback=None, maxiter=None, options=None, compile_fun=False):
    """Minimize a scalar function f(x, *args) from x0; derivatives come from autodiff.

    fun receives a float64 Tensor shaped like x0 and returns a scalar (Tensor). method is one
    of gd, momentum, nesterov, newton, newton-cg, bfgs, lbfgs, cg (scipy's spellings such as
    'BFGS', 'L-BFGS-B', 'Newton-CG', 'CG' are accepted); default bfgs, or lbfgs with bounds.
    jac / hess / hessp override autodiff as in scipy (jac=True: fun returns (f, gradient));
    they are called with ndarrays, and so is fun once jac is given. args: a tuple, or one
    extra argument. bounds (lbfgs only): a (min, max) pair per element of x, None for no
    bound, or a scipy.optimize.Bounds; projected L-BFGS keeps lb <= x <= ub. tol sets the
    method's tolerance (gtol, or xtol for newton-cg); options holds the rest with scipy's
    names (maxiter, gtol, ftol, maxcor, maxls, maxfun, ...), plus disp (a progress bar and
    scipy's summary), return_all (result.allvecs, the iterates) and record_path (result.path).
    callback(xk) runs after each iteration; returning True or raising StopIteration stops.
    Unlike scipy, result.x (and jac, path) keep the shape of x0. Returns an OptimizeResult.
    compile_fun=True runs f and its gradient through cr.compile: traced on the first
    evaluations, replayed after (the same numbers with less Python per evaluation; fun must be
    traceable, see docs/COMPILE.md).
    """
    _require_host("minimize", x0)
    if method is None:
        method = "bfgs" if bounds is None else "lbfgs"
    name = _resolve(method)
    solver = METHODS[name][0]
    x0 = as_float_array(x0, "x0", "minimize")
    if x0.size == 0:
        raise ValueError(f"minimize: x0 is empty; got shape {x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise ValueError(f"minimize: x0 must be finite; got {x0.ravel()[:6].tolist()}")
    if tol is not None and not tol >= 0:
        raise ValueError(f"minimize: tol must be non-negative; got {tol}")
    if callback is not None and not callable(callback):
        raise TypeError(f"minimize: callback must be callable; got {type(callback).__name__}")
    options, common = _options(name, solver, options, tol, maxiter)
    if name in ("gd", "momentum", "nesterov", "bfgs", "lbfgs", "cg") and (
            hess is not None or hessp is not None):
        raise ValueError(f"minimize: method {name!r} uses no Hessian; got hess or hessp "
                         "(use 'newton' or 'newton-cg')")
    box = minimize_bounds(bounds, x0.size)
    if box is not None:
        if name != "lbfgs":
            raise ValueError(f"minimize: method {name!r} does not handle bounds; use "
                             "method='L-BFGS-B' (lbfgs)")
        options.update(lb=box[0], ub=box[1])
        solver = minimize_lbfgsb
    objective = Objective(fun, x0, args, jac, hess, hessp, compile_fun=compile_fun)
    keep = bool(common["record_path"] or common["return_all"])
    bar = progress_bar(None, f"minimize {name}", progress=True if common["disp"] else False,
                       unit="iter")
    progress = Progress(objective, x0.ravel(), callback, keep, bar=bar)
    try:
        res = solver(objective, x0.ravel().copy(), progress, **options)
    finally:
        bar.close()
    if common["return_all"]:
        res["allvecs"] = list(res["path"])
    if not common["record_path"]:
        res.pop("path", None)
    if common["disp"]:
        _summary(res)
    return res
