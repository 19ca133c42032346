"""The objective seen by every minimizer: f, its gradient, Hessian and Hessian-vector products.

Derivatives come from chainrule's autodiff unless the caller supplies them (scipy's ``jac``,
``hess``, ``hessp``). Minimizers work on flat float64 vectors; ``fun`` receives a float64 Tensor
shaped like ``x0`` (so autodiff can differentiate it), or, when the caller supplies the gradient
(jac=True or a callable), a float64 ndarray, as scipy calls it. Supplied derivatives are always
called with ndarrays. Every evaluation is counted (``nfev``, ``njev``, ``nhev``).
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.engine import grad as _autograd_grad
from chainrule.core.tensor import Tensor, from_array


def as_float_array(x, name, op):
    """x (array, Tensor, list or number) as a float64 ndarray; TypeError if not numeric."""
    data = x._data if isinstance(x, Tensor) else x
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: {name} must be an array of numbers; got {type(x).__name__}") from e
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} must be an array of real numbers; got dtype {arr.dtype}")
    return np.array(arr, dtype=np.float64)


def call_with_array(fn, x, args, op, name):
    """fn(x, *args) for an ndarray x; an AttributeError / TypeError (typically a Tensor method
    such as x.exp() on the array) gets a hint that supplied derivatives mean NumPy arrays."""
    try:
        return fn(x, *args)
    except (AttributeError, TypeError) as e:
        cls = AttributeError if isinstance(e, AttributeError) else TypeError
        raise cls(f"{op}: {name} raised {type(e).__name__}: {e}; {name} is called with a "
                  "NumPy array, as scipy calls it (fun too, once jac is supplied); write it "
                  "with NumPy, or leave jac=None so fun gets a Tensor and autodiff") from e


def _to_array(value, op, what):
    if isinstance(value, Tensor):
        return np.asarray(value._data, dtype=np.float64)
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: {what} must be an array or a Tensor; got "
                        f"{type(value).__name__}") from e


class Objective:
    """Scalar objective f(x) on flat float64 vectors, with derivatives by autodiff by default.

    jac: None (autodiff), True (fun returns (f, gradient)) or a callable jac(x, *args).
    hess / hessp: None (autodiff) or callables hess(x, *args), hessp(x, p, *args).
    Supplied derivatives get ndarrays shaped like x0; so does fun when jac is supplied (it is
    then never differentiated), else fun gets a Tensor. args: a tuple, or one extra argument.
    """

    def __init__(self, fun, x0, args=(), jac=None, hess=None, hessp=None, op="minimize",
                 compile_fun=False):
        if not callable(fun):
            raise TypeError(f"{op}: fun must be callable; got {type(fun).__name__}")
        jac = None if jac is False else jac  # scipy's jac=False: no gradient supplied
        for name, value in (("jac", jac), ("hess", hess), ("hessp", hessp)):
            if isinstance(value, str):  # scipy's "2-point", "3-point", "cs"
                raise ValueError(f"{op}: {name}={value!r} asks for finite differences; "
                                 f"chainrule differentiates exactly by autodiff, so leave "
                                 f"{name}=None")
        for name, value in (("hess", hess), ("hessp", hessp)):
            if value is not None and not callable(value):
                raise TypeError(f"{op}: {name} must be None or callable; got "
                                f"{type(value).__name__}")
        if not (jac is None or jac is True or callable(jac)):
            raise TypeError(f"{op}: jac must be None, True or callable; got {jac!r}")
        self.fun, self.jac, self.hess_fn, self.hessp_fn = fun, jac, hess, hessp
        self.args = args if isinstance(args, tuple) else (args,)  # scipy wraps a non-tuple
        self._numpy_fun = jac is not None  # scipy's convention once the gradient is supplied
        self.op = op
        self.shape = np.shape(x0)
        self.n = int(np.prod(self.shape, dtype=np.int64))
        self.nfev = self.njev = self.nhev = 0
        self._checked = False
        self._autodiff = self._autodiff_value_and_grad
        if compile_fun:  # traced once, replayed at every evaluation (the same numbers)
            from chainrule.compile import compile as _compile

            self._autodiff = _compile(self._autodiff_value_and_grad)

    # ---- shapes --------------------------------------------------------------------------
    def unflatten(self, x):
        """A copy of flat x in the shape of x0."""
        return np.array(x, dtype=np.float64).reshape(self.shape)

    _array = unflatten  # what supplied derivatives (and fun, once jac is given) receive

    def _call_fun(self, x):
        if self._numpy_fun:
            return call_with_array(self.fun, self._array(x), self.args, self.op, "fun")
        return self.fun(self._tensor(x), *self.args)

    def _tensor(self, x, requires_grad=False):
        t = from_array(np.array(x, dtype=np.float64).reshape(self.shape))
        t.requires_grad = requires_grad
        return t

    def _scalar(self, out):
        if isinstance(out, Tensor):
            value = out._data
        else:
            try:
                value = np.asarray(out, dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise TypeError(f"{self.op}: fun must return a scalar; got "
                                f"{type(out).__name__}") from e
        if np.size(value) != 1:
            raise ValueError(f"{self.op}: fun must return a scalar; got shape "
                             f"{np.shape(value)}; reduce it with .sum()")
        return float(np.reshape(value, ()))

    def _flat_grad(self, g, what):
        g = _to_array(g, self.op, what)
        if g.shape != self.shape and g.shape != (self.n,):
            raise ValueError(f"{self.op}: {what} has shape {g.shape} but x0 has shape "
                             f"{self.shape}")
        return g.reshape(-1).copy()

    def _check_start(self, f, g=None):
        """The first evaluation is at x0: a non-finite start is the caller's error."""
        self._checked = True
        if not np.isfinite(f):
            raise ValueError(f"{self.op}: the objective is not finite at x0; got f(x0) = {f}")
        if g is not None and not np.all(np.isfinite(g)):
            bad = np.flatnonzero(~np.isfinite(g))
            raise ValueError(f"{self.op}: the gradient is not finite at x0; got "
                             f"{g[bad[:5]].tolist()} at flat indices {bad[:5].tolist()}")

    # ---- evaluations ---------------------------------------------------------------------
    def value(self, x):
        """f(x) as a float."""
        self.nfev += 1
        with _mode.no_grad():
            out = self._call_fun(x)
        if self.jac is True:
            out = self._pair(out)[0]
        f = self._scalar(out)
        if not self._checked:
            self._check_start(f)
        return f

    def value_and_grad(self, x):
        """(f(x), gradient at x as a flat float64 vector)."""
        f, g = self._value_and_grad(x)
        if not self._checked:
            self._check_start(f, g)
        return f, g

    def _pair(self, out):
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{self.op}: with jac=True, fun must return a pair (f, gradient); "
                            f"got {type(out).__name__}")
        return out

    def _value_and_grad(self, x):
        self.nfev += 1
        self.njev += 1
        if self.jac is True:
            with _mode.no_grad():
                f, g = self._pair(self._call_fun(x))
            return self._scalar(f), self._flat_grad(g, "the gradient returned by fun")
        if callable(self.jac):
            with _mode.no_grad():
                f = self._scalar(self._call_fun(x))
                g = call_with_array(self.jac, self._array(x), self.args, self.op, "jac")
            return f, self._flat_grad(g, "jac(x)")
        with _mode.enable_grad():
            out, g = self._autodiff(np.array(x, dtype=np.float64).reshape(self.shape))
        f = self._scalar(out)
        if g is None:  # f does not depend on x
            return f, np.zeros(self.n)
        return f, self._flat_grad(g, "the gradient")

    def _autodiff_value_and_grad(self, x):
        """(fun(x) as a Tensor, its gradient Tensor or None): x is a float64 array shaped like
        x0 (what cr.compile feeds a replay)."""
        t = from_array(x)
        t.requires_grad = True
        out = self.fun(t, *self.args)
        if not isinstance(out, Tensor):
            self._scalar(out)  # a non-scalar gets that error first
            raise TypeError(f"{self.op}: fun returned a {type(out).__name__}, so autodiff "
                            "cannot differentiate it; build it from the Tensor it receives "
                            "with chainrule ops, or pass jac=")
        if out.size != 1:
            self._scalar(out)
        g = None
        if out.requires_grad:
            (g,) = _autograd_grad(out, [t], allow_unused=True)
        return out, g

    def hess(self, x):
        """The Hessian at x as an (n, n) float64 matrix."""
        self.nhev += 1
        if self.hess_fn is not None:
            with _mode.no_grad():
                H = _to_array(call_with_array(self.hess_fn, self._array(x), self.args, self.op,
                                              "hess"), self.op, "hess(x)")
            if H.size != self.n * self.n:
                raise ValueError(f"{self.op}: hess(x) has shape {H.shape} but x0 has shape "
                                 f"{self.shape}; expected ({self.n}, {self.n})")
            return H.reshape(self.n, self.n)
        if self.hessp_fn is not None:  # column by column (counted as one Hessian)
            apply = self.hessp(x)
            H = np.stack([apply(e) for e in np.eye(self.n)], axis=1)
            self.nhev -= self.n
            return 0.5 * (H + H.T)
        self._need_autodiff("the Hessian")
        with _mode.enable_grad():
            t = self._tensor(x, requires_grad=True)
            g = self._grad_graph(t)
            if g is None:
                return np.zeros((self.n, self.n))
            rows = []
            for e in np.eye(self.n):
                (h,) = _autograd_grad(g, [t], grad_outputs=from_array(e.reshape(self.shape)),
                                      retain_graph=True, allow_unused=True)
                rows.append(np.zeros(self.n) if h is None else
                            np.asarray(h._data, dtype=np.float64).reshape(-1))
        H = np.stack(rows)
        return 0.5 * (H + H.T)  # symmetric up to rounding; make it exactly so

    def hessp(self, x):
        """A function v -> H(x) v; with autodiff the graph of grad f is built once per x."""
        if self.hessp_fn is not None:
            def apply(v):
                self.nhev += 1
                with _mode.no_grad():
                    hv = call_with_array(self.hessp_fn, self._array(x),
                                         (self._array(v), *self.args), self.op, "hessp")
                return self._flat_grad(hv, "hessp(x, p)")
            return apply
        if self.hess_fn is not None:
            H = self.hess(x)
            return lambda v: H @ v
        self._need_autodiff("Hessian-vector products")
        with _mode.enable_grad():
            t = self._tensor(x, requires_grad=True)
            g = self._grad_graph(t)

        def apply(v):
            self.nhev += 1
            if g is None:
                return np.zeros(self.n)
            with _mode.enable_grad():
                (hv,) = _autograd_grad(g, [t], grad_outputs=from_array(np.reshape(v, self.shape)),
                                       retain_graph=True, allow_unused=True)
            return np.zeros(self.n) if hv is None else np.asarray(hv._data, np.float64).ravel()
        return apply

    def _need_autodiff(self, what):
        if self.jac is not None:
            raise ValueError(f"{self.op}: {what} need autodiff through fun, but jac was given; "
                             "pass hess= or hessp= too, or leave jac=None")

    def _grad_graph(self, t):
        """grad f at t, recorded (create_graph) so it can be differentiated again."""
        out = self.fun(t, *self.args)
        self._scalar(out)
        if not isinstance(out, Tensor) or not out.requires_grad:
            return None
        (g,) = _autograd_grad(out, [t], create_graph=True, allow_unused=True)
        if g is None or not g.requires_grad:
            return None
        return g
