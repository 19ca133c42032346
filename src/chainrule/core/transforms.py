"""Function transforms with JAX's names: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp.

They compose (``hessian = jacobian(grad(f))``): when an argument already requires grad (we are
inside an outer transform), the inner one records its backward pass so the outer one can
differentiate it. Arguments may be Tensors, NumPy arrays or Python numbers; results are Tensors.
To differentiate through a tensor that f captures from outside, pass it as an argument.
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.engine import grad as _autograd_grad
from chainrule.core.tensor import Tensor, from_array


def _variable(x):
    """A fresh differentiation variable for x, still connected to x's graph if x has one."""
    if isinstance(x, Tensor):
        if x.requires_grad:
            return x.reshape(x.shape), True  # a distinct node, so inner grads stop here
        data = x._data
    else:
        data = np.asarray(x)
    if data.dtype.kind not in "fc":
        data = data.astype(_mode.state.default_dtype)
    t = from_array(data)
    t.requires_grad = True
    return t, False


def _prepare(fname, args, argnums):
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    for a in nums:
        if not -len(args) <= a < len(args):
            raise ValueError(f"{fname}: argnums {argnums} is out of range for {len(args)} "
                             "positional arguments")
    nums = tuple(a % len(args) for a in nums)
    args = list(args)
    nested = False
    variables = []
    for a in nums:
        v, connected = _variable(args[a])
        nested |= connected
        args[a] = v
        variables.append(v)
    return args, variables, nested, single


def _zeros_for_none(grads, variables):
    return tuple(from_array(np.zeros_like(v._data)) if g is None else g
                 for g, v in zip(grads, variables))


def _scalar_output(fname, out, has_aux):
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{fname}: with has_aux=True, f must return a pair (output, aux)")
        out, aux = out
    else:
        aux = None
    if not isinstance(out, Tensor):
        raise TypeError(f"{fname}: f must return a Tensor; got {type(out).__name__}")
    if out._data.size != 1 or out.ndim > 1:
        raise ValueError(f"{fname}: f must return a scalar, got shape {out.shape}; reduce it "
                         "with .sum() or use cr.jacobian")
    return out, aux


def value_and_grad(f, argnums=0, has_aux=False):
    """Return a function computing (f(*args), df/dargs); ((f, aux), grad) with has_aux."""

    def value_and_grad_f(*args, **kwargs):
        with _mode.enable_grad():
            args, variables, nested, single = _prepare("grad", args, argnums)
            out, aux = _scalar_output("grad", f(*args, **kwargs), has_aux)
            if out.requires_grad:
                grads = _autograd_grad(out, variables, create_graph=nested, allow_unused=True)
            else:
                grads = (None,) * len(variables)
        grads = _zeros_for_none(grads, variables)
        grads = grads[0] if single else grads
        value = out if nested else out.detach()
        return ((value, aux) if has_aux else value), grads

    return value_and_grad_f


def grad(f, argnums=0, has_aux=False):
    """Return a function computing the gradient of scalar-valued f w.r.t. args[argnums]."""
    vg = value_and_grad(f, argnums, has_aux)

    def grad_f(*args, **kwargs):
        value, grads = vg(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return grad_f


def vjp(f, *primals):
    """Return (f(*primals), vjp_fn) where vjp_fn(cotangent) = cotangent^T J, one per primal."""
    with _mode.enable_grad():
        args, variables, nested, _ = _prepare("vjp", primals, tuple(range(len(primals))))
        out = f(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"vjp: f must return a Tensor; got {type(out).__name__}")

    def vjp_fn(cotangent):
        ct = cotangent if isinstance(cotangent, Tensor) else from_array(np.asarray(cotangent,
                                                                             dtype=out.dtype))
        if ct.shape != out.shape:
            raise ValueError(f"vjp: cotangent has shape {ct.shape} but f's output has shape "
                             f"{out.shape}")
        if not out.requires_grad:
            return _zeros_for_none((None,) * len(variables), variables)
        with _mode.enable_grad():
            grads = _autograd_grad(out, variables, grad_outputs=ct, retain_graph=True,
                                   create_graph=nested or ct.requires_grad, allow_unused=True)
        return _zeros_for_none(grads, variables)

    return (out if nested else out.detach()), vjp_fn


def jvp(f, primals, tangents):
    """Forward-mode product: (f(*primals), J @ tangents), by the double-vjp trick.

    J v is the vjp of u -> J^T u (which is linear in u) applied to v, so no forward-mode
    rules are needed: every op's vjp already defines its jvp.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    with _mode.enable_grad():
        args, variables, nested, _ = _prepare("jvp", primals, tuple(range(len(primals))))
        tangents = [t if isinstance(t, Tensor) else from_array(np.asarray(t, dtype=v.dtype))
                    for t, v in zip(tangents, variables)]
        for i, (t, v) in enumerate(zip(tangents, variables)):
            if t.shape != v.shape:
                raise ValueError(f"jvp: tangent {i} has shape {t.shape} but primal {i} has "
                                 f"shape {v.shape}")
        out = f(*args)
        if not isinstance(out, Tensor):
            raise TypeError(f"jvp: f must return a Tensor; got {type(out).__name__}")
        zero = from_array(np.zeros_like(out._data))
        if not out.requires_grad:
            return (out, zero)
        u = from_array(np.zeros_like(out._data))
        u.requires_grad = True
        gx = _autograd_grad(out, variables, grad_outputs=u, create_graph=True, allow_unused=True)
        pairs = [(g, t) for g, t in zip(gx, tangents) if g is not None and g.requires_grad]
        if not pairs:
            return (out if nested else out.detach()), zero
        (tangent_out,) = _autograd_grad([g for g, _ in pairs], [u],
                                        grad_outputs=[t for _, t in pairs],
                                        create_graph=nested, allow_unused=True)
    tangent_out = zero if tangent_out is None else tangent_out
    return (out if nested else out.detach()), tangent_out


def jacobian(f, argnums=0):
    """Return a function computing the Jacobian of f, of shape out.shape + arg.shape.

    Reverse mode: one vjp per output element, with the graph retained between them.
    """

    def jacobian_f(*args, **kwargs):
        with _mode.enable_grad():
            args, variables, nested, single = _prepare("jacobian", args, argnums)
            out = f(*args, **kwargs)
            if not isinstance(out, Tensor):
                raise TypeError(f"jacobian: f must return a Tensor; got {type(out).__name__}")
            rows = [[] for _ in variables]
            if out.requires_grad:
                for k in range(out.numel()):
                    e = np.zeros(out.numel(), dtype=out.dtype)
                    e[k] = 1
                    gs = _autograd_grad(out, variables,
                                        grad_outputs=from_array(e.reshape(out.shape)),
                                        retain_graph=True, create_graph=nested,
                                        allow_unused=True)
                    for r, g in zip(rows, _zeros_for_none(gs, variables)):
                        r.append(g)
            jacs = []
            for r, v in zip(rows, variables):
                shape = out.shape + v.shape
                if not r:
                    jacs.append(from_array(np.zeros(shape, dtype=v.dtype)))
                elif nested:  # J = sum_k e_k (x) grad out_k, in differentiable ops
                    lead = (len(r),) + (1,) * v.ndim
                    rows = [g.reshape((1,) + v.shape) * from_array(_unit(len(r), k, v.dtype, lead))
                            for k, g in enumerate(r)]
                    total = rows[0]
                    for row in rows[1:]:
                        total = total + row
                    jacs.append(total.reshape(shape))
                else:
                    jacs.append(from_array(np.stack([g._data for g in r]).reshape(shape)))
        return jacs[0] if single else tuple(jacs)

    return jacobian_f


def _unit(n, k, dtype, shape):
    e = np.zeros(n, dtype=dtype)
    e[k] = 1
    return e.reshape(shape)


def hessian(f, argnums=0):
    """Return a function computing the Hessian of scalar f: jacobian(grad(f))."""
    if not isinstance(argnums, (int, np.integer)):
        raise TypeError("hessian: argnums must be a single integer")
    return jacobian(grad(f, argnums), argnums)


def hvp(f, x, v):
    """Hessian-vector product H(x) v of scalar f, by one vjp of grad f (H is never formed)."""
    with _mode.enable_grad():
        (xv,), variables, nested, _ = _prepare("hvp", (x,), (0,))
        v = v if isinstance(v, Tensor) else from_array(np.asarray(v, dtype=xv.dtype))
        if v.shape != xv.shape:
            raise ValueError(f"hvp: v has shape {v.shape} but x has shape {xv.shape}")
        out, _ = _scalar_output("hvp", f(xv), False)
        if not out.requires_grad:
            return from_array(np.zeros_like(xv._data))
        (g,) = _autograd_grad(out, variables, create_graph=True, allow_unused=True)
        if g is None or not g.requires_grad:
            return from_array(np.zeros_like(xv._data))
        (hv,) = _autograd_grad(g, variables, grad_outputs=v, create_graph=nested or
                               v.requires_grad, allow_unused=True)
    return from_array(np.zeros_like(xv._data)) if hv is None else hv
