"""OptimizeResult (scipy's result object) and the bookkeeping every minimizer shares."""

import inspect

import numpy as np

# status codes and messages follow scipy.optimize
SUCCESS, MAXITER, LINESEARCH, NONFINITE, CALLBACK = 0, 1, 2, 3, 99
MESSAGES = {
    SUCCESS: "Optimization terminated successfully.",
    LINESEARCH: "Desired error not necessarily achieved due to precision loss: the line search "
                "could not find a step satisfying the strong Wolfe conditions.",
    NONFINITE: "NaN or Inf encountered: the objective or its gradient is not finite.",
    CALLBACK: "`callback` raised `StopIteration` or returned True.",
}


class OptimizeResult(dict):
    """The result of a minimizer: a dict whose keys are also attributes (as scipy's).

    Common keys: ``x, fun, jac, nit, nfev, njev, nhev, success, status, message``; ``hess_inv``
    (BFGS) and ``path`` (the iterates, with ``options={"record_path": True}``) when present.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __dir__(self):
        return list(self.keys())

    def __repr__(self):
        if not self:
            return f"{type(self).__name__}()"
        order = ["message", "success", "status", "fun", "x", "nit", "nfev", "njev", "nhev"]
        keys = [k for k in order if k in self] + sorted(k for k in self if k not in order)
        width = max(map(len, keys)) + 1
        lines = []
        for k in keys:
            text = _short(self[k]).replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{k.rjust(width)}: {text}")
        return "\n".join(lines)


def _short(value):
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.size > 20:
        with np.printoptions(threshold=20, edgeitems=3, precision=6):
            return repr(value)
    return repr(value)


def _callback_style(callback):
    """True when callback takes scipy's keyword `intermediate_result` (else it takes xk)."""
    try:
        return "intermediate_result" in inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return False


class Progress:
    """Counts iterations, records the path and runs the callback; builds the result."""

    def __init__(self, objective, x0, callback=None, record_path=False, bar=None):
        self.objective = objective
        self.bar = bar  # a progress bar (minimize's disp), advanced once per iteration
        self.nit = 0
        self.callback = callback
        self._rich = callback is not None and _callback_style(callback)
        self.path = [objective.unflatten(x0)] if record_path else None

    def step(self, x, f):
        """Record iterate x (flat) with value f; return True when the callback asks to stop."""
        self.nit += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"f {float(f):.6g}", refresh=False)
        if self.path is not None:
            self.path.append(self.objective.unflatten(x))
        if self.callback is None:
            return False
        try:
            if self._rich:
                stop = self.callback(intermediate_result=OptimizeResult(
                    x=self.objective.unflatten(x), fun=float(f), nit=self.nit))
            else:
                stop = self.callback(self.objective.unflatten(x))
        except StopIteration:
            return True
        return bool(stop)

    def advance(self, x, f, g=None):
        """Record iterate x; the status to stop with (CALLBACK, NONFINITE) or None to go on."""
        if self.step(x, f):
            return CALLBACK
        if not np.isfinite(f) or (g is not None and not np.all(np.isfinite(g))):
            return NONFINITE
        return None

    def result(self, x, f, g, status, message=None, **extra):
        """The OptimizeResult at flat x with value f and gradient g (None if not computed)."""
        obj = self.objective
        if message is None:
            message = MESSAGES[status] if status != MAXITER else (
                f"Maximum number of iterations has been exceeded (maxiter={self.nit}) without "
                "convergence.")
        res = OptimizeResult(x=obj.unflatten(x), fun=float(f),
                             jac=None if g is None else obj.unflatten(g), nit=self.nit,
                             nfev=obj.nfev, njev=obj.njev, status=status,
                             success=status == SUCCESS, message=message)
        if obj.nhev:
            res["nhev"] = obj.nhev
        res.update(extra)
        if self.path is not None:
            res["path"] = np.stack(self.path)
        return res
