"""Minimize a model's loss over its parameters, seen as one flat vector theta.

The parameters stay the model's own tensors: each evaluation writes theta into them, runs the
user's closure (as PyTorch's LBFGS does) and differentiates with respect to them, so any
cr.nn.Module (or a plain list of tensors that require grad) works unchanged. Hessian-vector
products for newton / newton-cg come from double backward through the closure.

    >>> import numpy as np, chainrule as cr
    >>> w = cr.tensor(np.array([3.0, -1.0]), requires_grad=True)
    >>> res = cr.optimize.minimize_module([w], lambda: ((w - 1.0) ** 2).sum(), method="bfgs")
    >>> w.data.round(6).tolist()
    [1.0, 1.0]
"""

import numpy as np

from chainrule._device import require_host as _require_host
from chainrule.core import mode as _mode
from chainrule.core.engine import grad as _autograd_grad
from chainrule.core.tensor import Tensor, bump_version, from_array
from chainrule.optimize.least_squares import least_squares
from chainrule.optimize.minimize import minimize


class ParameterVector:
    """The parameters of a model as one flat float64 vector theta (read, write, gradients)."""

    def __init__(self, params, op):
        params = list(params.parameters()) if hasattr(params, "parameters") else (
            [params] if isinstance(params, Tensor) else list(params))
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor")
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError(f"{op}: the model has no parameters that require grad")
        self.op = op
        self.sizes = [p.size for p in self.params]

    def get(self):
        """theta: every parameter flattened and concatenated, as float64."""
        return np.concatenate([np.ravel(p._data).astype(np.float64) for p in self.params])

    def set(self, theta):
        """Write flat theta into the parameters, in place (cast to each one's dtype)."""
        theta = np.ravel(np.asarray(theta._data if isinstance(theta, Tensor) else theta))
        start = 0
        for p, k in zip(self.params, self.sizes):
            np.copyto(p._data, theta[start:start + k].reshape(p.shape), casting="unsafe")
            bump_version(p)
            start += k

    def flat(self, grads):
        """Gradients (one per parameter, None for unused) as one flat float64 vector."""
        return np.concatenate([np.zeros(k) if g is None else np.ravel(g._data).astype(np.float64)
                               for g, k in zip(grads, self.sizes)])

    def split(self, v):
        """Flat v as a list of Tensors shaped like the parameters."""
        out, start = [], 0
        for p, k in zip(self.params, self.sizes):
            out.append(from_array(np.asarray(v[start:start + k], dtype=p.dtype).reshape(p.shape)))
            start += k
        return out

    def loss(self, closure):
        """Run the closure with grad enabled and check that it returned a scalar Tensor."""
        out = closure()
        if not isinstance(out, Tensor):
            raise TypeError(f"{self.op}: the closure must return a Tensor computed from the "
                            f"model; got {type(out).__name__}")
        if out.size != 1:
            raise ValueError(f"{self.op}: the closure must return a scalar loss; got shape "
                             f"{out.shape}")
        return out


def minimize_module(model, closure, method=None, **kwargs):
    """Minimize closure() (a scalar loss of the model) over the model's parameters.

    model: a cr.nn.Module or an iterable of tensors that require grad. The keyword arguments
    are those of `minimize` (tol, maxiter, callback, options). The parameters are left at the
    best point found; the result's x is the flat parameter vector.
    """
    _require_host("minimize_module", model)
    theta = ParameterVector(model, "minimize_module")

    def fun_and_grad(x):
        theta.set(x)
        with _mode.enable_grad():
            loss = theta.loss(closure)
            grads = _autograd_grad(loss, theta.params, allow_unused=True) \
                if loss.requires_grad else [None] * len(theta.params)
        return float(loss.item()), theta.flat(grads)

    cache = {}  # the recorded gradient graph at the last x, reused by every H v there

    def hessp(x, v):
        key = np.asarray(x._data if isinstance(x, Tensor) else x).tobytes()
        if cache.get("key") != key:
            theta.set(x)
            with _mode.enable_grad():
                loss = theta.loss(closure)
                grads = _autograd_grad(loss, theta.params, create_graph=True,
                                       allow_unused=True) if loss.requires_grad else []
            cache.update(key=key, live=[i for i, g in enumerate(grads)
                                        if g is not None and g.requires_grad], grads=grads)
        live = cache["live"]
        if not live:
            return np.zeros(v.size)
        us = theta.split(np.ravel(v))
        with _mode.enable_grad():
            hv = _autograd_grad([cache["grads"][i] for i in live], theta.params,
                                grad_outputs=[us[i] for i in live], retain_graph=True,
                                allow_unused=True)
        return theta.flat(hv)

    second_order = isinstance(method, str) and method.lower() in ("newton", "newton-cg",
                                                                   "newtoncg", "newton_cg")
    res = minimize(fun_and_grad, theta.get(), method=method, jac=True,
                   hessp=hessp if second_order else None, **kwargs)
    theta.set(res.x)
    return res


def least_squares_module(model, residuals, method="lm", **kwargs):
    """Minimize 1/2 |residuals()|^2 over the model's parameters by LM or Gauss-Newton.

    residuals: a closure returning the residual Tensor computed from the model. The Jacobian
    comes from one backward pass per residual. Keyword arguments are those of least_squares.
    """
    _require_host("least_squares_module", model)
    theta = ParameterVector(model, "least_squares_module")

    def value(x):
        theta.set(x)
        with _mode.no_grad():
            return np.asarray(residuals()._data, dtype=np.float64)

    def jac(x):
        theta.set(x)
        with _mode.enable_grad():
            out = residuals()
            if not isinstance(out, Tensor):
                raise TypeError(f"least_squares_module: residuals() must return a Tensor; got "
                                f"{type(out).__name__}")
            rows = []
            for e in np.eye(out.size, dtype=out.dtype):
                gs = _autograd_grad(out, theta.params,
                                    grad_outputs=from_array(e.reshape(out.shape)),
                                    retain_graph=True, allow_unused=True) \
                    if out.requires_grad else [None] * len(theta.params)
                rows.append(theta.flat(gs))
        return np.array(rows)

    res = least_squares(value, theta.get(), jac=jac, method=method, **kwargs)
    theta.set(res.x)
    return res
