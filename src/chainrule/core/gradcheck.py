"""Gradient checks: autodiff Jacobians vs float64 central differences, first and second order."""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.backend import to_host, to_like
from chainrule.core.engine import grad as _autograd_grad
from chainrule.core.tensor import Tensor, from_array


class GradcheckError(AssertionError):
    """Raised when an analytical derivative disagrees with finite differences."""


def _as_inputs(inputs):
    if isinstance(inputs, (Tensor, np.ndarray, float, int)):
        inputs = (inputs,)
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            out.append(x)
        else:
            out.append(from_array(np.asarray(x, dtype=np.float64)))
    return out


def _checked_inputs(inputs):
    """Tensors for `inputs`, and the indices to check (all floats if none requires grad)."""
    inputs = _as_inputs(inputs)
    if not any(x.requires_grad for x in inputs):
        for x in inputs:
            if x._data.dtype.kind == "f":
                x.requires_grad = True
    return inputs, [i for i, x in enumerate(inputs) if x.requires_grad]


def _outputs(f, inputs):
    out = f(*inputs)
    outs = (out,) if isinstance(out, Tensor) or out is None else tuple(out)
    return outs


def _flat_outputs(f, inputs):
    with _mode.enable_grad():  # f may differentiate inside (gradgradcheck checks a vjp)
        outs = _outputs(f, inputs)
    return np.concatenate([np.ravel(to_host(o._data)).astype(np.float64) for o in outs
                           if o is not None]) \
        if any(o is not None for o in outs) else np.zeros(0)


def _numerical_jacobian(f, inputs, i, eps):
    x = inputs[i]
    flat = x._data.reshape(-1)  # a view: perturb in place, then restore
    cols = []
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        plus = _flat_outputs(f, inputs)
        flat[k] = old - eps
        minus = _flat_outputs(f, inputs)
        flat[k] = old
        cols.append((plus - minus) / (2 * eps))
    n_out = _flat_outputs(f, inputs).size
    return np.stack(cols, axis=1) if cols else np.zeros((n_out, 0))


def _analytical_jacobians(f, inputs, diff):
    with _mode.enable_grad():
        outs = [o for o in _outputs(f, inputs) if o is not None]
        sizes = [o.numel() for o in outs]
        jac = [np.zeros((sum(sizes), inputs[i].numel())) for i in diff]
        row = 0
        for o in outs:
            for k in range(o.numel()):
                if o.requires_grad:
                    e = np.zeros(o.numel(), dtype=o.dtype)
                    e[k] = 1
                    gs = _autograd_grad(o, [inputs[i] for i in diff],
                                        grad_outputs=from_array(to_like(e.reshape(o.shape),
                                                                        o._data)),
                                        retain_graph=True, allow_unused=True)
                    for j, g in enumerate(gs):
                        if g is not None:
                            jac[j][row] = to_host(g._data).reshape(-1)
                row += 1
    return jac


def _graph_position(f, inputs):
    with _mode.enable_grad():
        outs = [o for o in _outputs(f, inputs) if o is not None]
    names = [type(o.grad_fn).__name__ if o.grad_fn is not None else "leaf" for o in outs]
    return ", ".join(names)


def gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check autodiff's Jacobian of f against central differences (f(x+eps) - f(x-eps)) / 2eps.

    `inputs` are float64 Tensors (those with requires_grad=True are checked; arrays and numbers
    are made into float64 tensors and all checked). f may return a Tensor or a tuple of them.
    Raises GradcheckError naming the worst element and both values; returns True otherwise.
    """
    inputs, diff = _checked_inputs(inputs)
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite "
                            "differences need float64 inputs")
    analytical = _analytical_jacobians(f, inputs, diff)
    for j, i in enumerate(diff):
        numerical = _numerical_jacobian(f, inputs, i, eps)
        a = analytical[j]
        err = np.abs(a - numerical) - (atol + rtol * np.abs(numerical))
        bad = ~(err <= 0)  # NaN in either counts as a failure
        if bad.any():
            worst = np.unravel_index(np.nanargmax(np.where(np.isnan(err), np.inf, err)), a.shape)
            at_input = tuple(int(k) for k in np.unravel_index(worst[1], inputs[i].shape))
            msg = (f"gradcheck: Jacobian mismatch for input {i} (shape {inputs[i].shape}) of "
                   f"{_graph_position(f, inputs)}: worst at output element {int(worst[0])}, "
                   f"input element {at_input}: analytical {float(a[worst]):.10g}, numerical "
                   f"{float(numerical[worst]):.10g} ({int(bad.sum())} of {bad.size} elements "
                   f"differ beyond atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(f, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0):
    """Check second derivatives: gradcheck of (x, u) -> u^T J_f(x), the vjp of f.

    The vjp is checked w.r.t. the inputs (the Hessian-like term) and w.r.t. the cotangent u
    (which must stay differentiable for jvp by double vjp). u is random unless given.
    """
    inputs, diff = _checked_inputs(inputs)
    with _mode.enable_grad():
        outs = [o for o in _outputs(f, inputs) if o is not None]
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        grad_outputs = [rng.standard_normal(o.shape) for o in outs]
    us = [from_array(to_like(np.array(to_host(u._data) if isinstance(u, Tensor) else u,
                                      dtype=np.float64), o._data))
          for u, o in zip(grad_outputs, outs)]
    for u in us:
        u.requires_grad = True
    n = len(inputs)

    def vjp_of_f(*xs_and_us):
        xs, u_list = xs_and_us[:n], xs_and_us[n:]
        o = [o for o in _outputs(f, xs) if o is not None]
        live = [(oi, ui) for oi, ui in zip(o, u_list) if oi.requires_grad]
        if not live:
            return tuple(from_array(np.zeros_like(xs[i]._data)) for i in diff)
        gs = _autograd_grad([oi for oi, _ in live], [xs[i] for i in diff],
                            grad_outputs=[ui for _, ui in live], create_graph=True,
                            allow_unused=True)
        return tuple(from_array(np.zeros_like(xs[i]._data)) if g is None else g
                     for g, i in zip(gs, diff))

    return gradcheck(vjp_of_f, list(inputs) + us, eps, atol, rtol, raise_exception)
