"""Layer normalization as one graph node:

    x_hat = (x - mean) / sqrt(var + eps)  over the trailing k axes (biased variance),
    y = x_hat w + b;   with gy = g w:
    gx = rstd (gy - mean(gy) - x_hat mean(gy x_hat)),  gw = sum g x_hat,  gb = sum g

A plain backward (grad mode off) computes the three in one NumPy pass (LayerNormGrad); under
create_graph the vjp writes the same formulas with chainrule ops, so every order is exact.
With numba installed the elementwise passes of both run fused (chainrule/_numba.py), the
row means and batch sums still by BLAS: the same bits.
"""

import math

import numpy as np

from chainrule import _numba
from chainrule.core.backend import xp_of
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.mode import state as _state
from chainrule.ops.reduction import ones_for_rows
from chainrule.ops.registry import op


def _mean(x, k):
    """mean over the last k axes, keepdims: one matrix-vector product (BLAS) instead of a
    reduce along a short inner axis"""
    n = math.prod(x.shape[x.ndim - k:])  # (np.prod of a tuple: 5 us, this 0.2)
    rows = (x if x.flags.c_contiguous else xp_of(x).ascontiguousarray(x)).reshape(-1, n)
    return (rows @ xp_of(x).full(n, 1.0 / n, x.dtype)).reshape(x.shape[:x.ndim - k] + (1,) * k)


def _stats(x, k, eps):
    """(mean, x_hat, rstd) over the last k axes, mean and rstd keepdims"""
    mean = _mean(x, k)
    d = x - mean
    var = _mean(d * d, k)
    var += eps
    rstd = 1.0 / np.sqrt(var)
    d *= rstd
    return mean, d, rstd


def _fused_stats(kernels, rows, eps, scratch):
    """(mean, rstd) of each row, as _stats computes them, with (x - mean)² fused into scratch"""
    mean = _mean(rows, 1).reshape(-1)
    kernels.ln_centered_squares(rows, mean, scratch)
    var = _mean(scratch, 1).reshape(-1)
    var += eps
    return mean, 1.0 / np.sqrt(var)


def _fused_forward(kernels, x, wb, k, eps, has_w, has_b):
    """LayerNorm.forward with its elementwise passes fused (numba): the same bits"""
    n = math.prod(x.shape[x.ndim - k:])
    rows = x.reshape(-1, n)
    y = np.empty_like(rows)
    mean, rstd = _fused_stats(kernels, rows, eps, y)
    none = rows[0]  # (a stand-in for a missing weight or bias: never read)
    w = wb[0].reshape(-1) if has_w else none
    b = wb[-1].reshape(-1) if has_b else none
    kernels.ln_affine(rows, mean, rstd, w, b, has_w, has_b, y)
    keep = x.shape[:x.ndim - k] + (1,) * k
    return y.reshape(x.shape), mean.reshape(keep), rstd.reshape(keep)


def _fused_backward(kernels, x, mean, rstd, w, g, k, eps):
    """LayerNormGrad.forward with its elementwise passes fused (numba): the same bits"""
    n = math.prod(x.shape[x.ndim - k:])
    rows, grows = x.reshape(-1, n), g.reshape(-1, n)
    gy_xhat = np.empty_like(rows)
    if mean is None:
        mean, rstd = _fused_stats(kernels, rows, eps, gy_xhat)
    else:
        mean, rstd = mean.reshape(-1), rstd.reshape(-1)
    has_w = w is not None
    gy = np.empty_like(rows) if has_w else grows
    g_xhat = np.empty_like(rows) if has_w else gy_xhat
    kernels.ln_grad_products(rows, mean, rstd, grows, w.reshape(-1) if has_w else rows[0],
                             has_w, gy, gy_xhat, g_xhat)
    mean_gy, mean_gy_xhat = _mean(gy, 1).reshape(-1), _mean(gy_xhat, 1).reshape(-1)
    gx = gy_xhat  # (its row means are taken: the buffer is free)
    kernels.ln_grad_input(rows, mean, rstd, gy, mean_gy, mean_gy_xhat, gx)
    return gx.reshape(x.shape), (g_xhat if has_w else None)


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) w + b over the last k axes;
    gx = rstd (gy - mean(gy) - x_hat mean(gy x_hat)), gy = g w;  gw = sum g x_hat;  gb = sum g

    Outputs y and the statistics mean and rstd (keepdims; layer_norm_op keeps them alive with
    y, as PyTorch saves them), so a plain backward does not compute them again. They are not
    differentiated: only LayerNormGrad reads them, with grad mode off.
    """

    __slots__ = ("k", "eps", "has_w", "has_b")

    def __init__(self, k, eps, has_w, has_b):
        self.k, self.eps, self.has_w, self.has_b = k, eps, has_w, has_b

    def forward(self, x, *wb):
        kernels = _numba.get()
        if kernels is not None and x.size and _numba.fits(x, *wb):
            return _fused_forward(kernels, x, wb, self.k, self.eps, self.has_w, self.has_b)
        mean, y, rstd = _stats(x, self.k, self.eps)
        if self.has_w:
            y *= wb[0]
        if self.has_b:
            y += wb[-1]
        return y, mean, rstd

    def vjp(self, gs):
        g = gs[0]
        if gs[1] is not None or gs[2] is not None:
            raise RuntimeError("layer_norm: its saved statistics (mean, rstd) are not "
                               "differentiable; compute them with mean() and var() instead")
        if g is None:
            return (None,) * len(self.inputs)
        x = self.inputs[0]
        w = self.inputs[1] if self.has_w else None
        if not _state.grad_enabled:  # a plain backward: one fused NumPy pass
            _, mean, rstd = self.outputs
            if mean is None or rstd is None:  # (nothing kept them: computed again)
                return LayerNormGrad(self.k, self.eps, self.has_w, self.has_b, False)(
                    *self.inputs, g)
            return LayerNormGrad(self.k, self.eps, self.has_w, self.has_b, True)(
                x, mean, rstd, *self.inputs[1:], g)
        axes = tuple(range(x.ndim - self.k, x.ndim))
        mean = x.mean(axes, keepdim=True)
        d = x - mean
        rstd = ((d * d).mean(axes, keepdim=True) + self.eps).rsqrt()
        xhat = d * rstd
        gy = g * w if w is not None else g
        gx = rstd * (gy - gy.mean(axes, keepdim=True) - xhat * (gy * xhat).mean(axes,
                                                                                 keepdim=True))
        out = (gx,)
        if self.has_w:
            out += (g * xhat,)  # the engine sums it over the batch axes down to w's shape
        if self.has_b:
            out += (g,)
        return out


class LayerNormGrad(Nondifferentiable):
    """(gx[, gw][, gb]) of layer_norm for cotangent g, in one NumPy pass (the first-order
    backward; the vjp's create_graph path writes the same formulas with chainrule ops). With
    `saved`, the inputs are (x, mean, rstd, [w, b,] g): the forward's statistics, from which
    x_hat = (x - mean) rstd is the forward's own; else (x, [w, b,] g), computed again."""

    __slots__ = ("k", "eps", "has_w", "has_b", "saved")

    def __init__(self, k, eps, has_w, has_b, saved):
        self.k, self.eps, self.has_w, self.has_b, self.saved = k, eps, has_w, has_b, saved

    def forward(self, x, *rest):
        g = rest[-1]
        kernels = _numba.get()
        if kernels is not None and x.size and _numba.fits(x, *rest):
            mean, rstd, *wb = rest[:-1] if self.saved else (None, None) + rest[:-1]
            gx, g_xhat = _fused_backward(kernels, x, mean, rstd, wb[0] if self.has_w else None,
                                         g, self.k, self.eps)
            out = (gx,)
            if self.has_w:
                out += (_batch_sum(g_xhat.reshape(x.shape), self.k),)
            if self.has_b:
                out += (_batch_sum(g, self.k),)
            return out
        if self.saved:
            mean, rstd, *rest = rest
            xhat = x - mean
            xhat *= rstd
        else:
            _, xhat, rstd = _stats(x, self.k, self.eps)
        gy = g * rest[0] if self.has_w else g
        gx = gy - _mean(gy, self.k)
        gx -= xhat * _mean(gy * xhat, self.k)
        gx *= rstd
        out = (gx,)
        if self.has_w:
            out += (_batch_sum(g * xhat, self.k),)
        if self.has_b:
            out += (_batch_sum(g, self.k),)
        return out


def _batch_sum(x, k):
    """sum over all but the last k axes: one vector-matrix product (BLAS)"""
    tail = x.shape[x.ndim - k:]
    rows = (x if x.flags.c_contiguous else xp_of(x).ascontiguousarray(x)).reshape(
        -1, math.prod(tail))
    return (ones_for_rows(rows) @ rows).reshape(tail)


@op(classes=(LayerNorm,), export=False)
def layer_norm_op(input, k, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last k axes, one graph node
    (shapes checked by F.layer_norm)."""
    wb = tuple(t for t in (weight, bias) if t is not None)
    y, mean, rstd = LayerNorm(k, eps, weight is not None, bias is not None)(input, *wb)
    if y.grad_fn is not None:  # the statistics live as long as y: its backward reads them
        y._extra = {"keep": (mean, rstd)}
    return y
