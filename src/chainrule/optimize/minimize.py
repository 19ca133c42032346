"""minimize: one front door to every minimizer, with scipy.optimize.minimize's names.

    >>> import chainrule as cr
    >>> rosen = lambda x: (100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2)
    >>> res = cr.optimize.minimize(rosen, [-1.2, 1.0], method="bfgs")
    >>> res.success, res.x.round(4).tolist()
    (True, [1.0, 1.0])
"""

import inspect

import numpy as np

from chainrule.optimize.bfgs import minimize_bfgs
from chainrule.optimize.cg import minimize_cg
from chainrule.optimize.gd import minimize_gd, minimize_momentum, minimize_nesterov
from chainrule.optimize.lbfgs import minimize_lbfgs
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
    options = {} if options is None else dict(options)
    record_path = bool(options.pop("record_path", False))
    valid = [p for p in inspect.signature(solver).parameters
             if p not in ("objective", "x0", "progress")]
    for key in options:
        if key not in valid:
            raise ValueError(f"minimize: unknown option {key!r} for method {name!r}; valid "
                             f"options are {', '.join(valid + ['record_path'])}")
    if tol is not None:
        for key in METHODS[name][1]:
            options.setdefault(key, tol)
    if maxiter is not None:
        options["maxiter"] = maxiter
    if "maxiter" in options and options["maxiter"] is not None:
        m = options["maxiter"]
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0:
            raise ValueError(f"minimize: maxiter must be a non-negative integer; got {m!r}")
    return options, record_path


def minimize(fun, x0, args=(), method="bfgs", jac=None, hess=None, hessp=None, tol=None,
             callback=None, maxiter=None, options=None, compile_fun=False):
    """Minimize a scalar function f(x, *args) from x0; derivatives come from autodiff.

    fun receives a float64 Tensor shaped like x0 and returns a scalar (Tensor). method is one
    of gd, momentum, nesterov, newton, newton-cg, bfgs, lbfgs, cg (scipy's spellings such as
    'BFGS', 'L-BFGS-B', 'Newton-CG', 'CG' are accepted). jac / hess / hessp override autodiff
    as in scipy (jac=True: fun returns (f, gradient)). tol sets the method's tolerance (gtol,
    or xtol for newton-cg); options holds the rest, plus "record_path" to keep the iterates.
    callback(xk) runs after each iteration; returning True or raising StopIteration stops.
    Unlike scipy, result.x (and jac, path) keep the shape of x0. Returns an OptimizeResult.
    compile_fun=True runs f and its gradient through cr.compile: traced on the first
    evaluations, replayed after (the same numbers with less Python per evaluation; fun must be
    traceable, see docs/COMPILE.md).
    """
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
    options, record_path = _options(name, solver, options, tol, maxiter)
    if name in ("gd", "momentum", "nesterov", "bfgs", "lbfgs", "cg") and (
            hess is not None or hessp is not None):
        raise ValueError(f"minimize: method {name!r} uses no Hessian; got hess or hessp "
                         "(use 'newton' or 'newton-cg')")
    objective = Objective(fun, x0, args, jac, hess, hessp, compile_fun=compile_fun)
    progress = Progress(objective, x0.ravel(), callback, record_path)
    return solver(objective, x0.ravel().copy(), progress, **options)
