"""Deterministic minimizers with scipy.optimize's interface; derivatives come from autodiff.

minimize (gd, momentum, nesterov, newton, newton-cg, bfgs, lbfgs, cg; bounds for lbfgs),
least_squares (lm, gauss-newton, trf with bounds), minimize_module / least_squares_module (over
a cr.nn.Module's parameters),
taylor (the local polynomial model behind Newton's method), line_search (strong Wolfe),
OptimizeResult, and `problems` (standard test functions).
"""

from chainrule.optimize import problems
from chainrule.optimize.least_squares import least_squares
from chainrule.optimize.linesearch import line_search, scalar_search_wolfe
from chainrule.optimize.minimize import METHODS, minimize
from chainrule.optimize.module import least_squares_module, minimize_module
from chainrule.optimize.result import OptimizeResult
from chainrule.optimize.taylor import TaylorModel, taylor

__all__ = ["METHODS", "OptimizeResult", "TaylorModel", "least_squares", "least_squares_module",
           "line_search", "minimize", "minimize_module", "problems", "scalar_search_wolfe",
           "taylor"]
