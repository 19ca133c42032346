"""Layer normalization as one graph node:

    x_hat = (x - mean) / sqrt(var + eps)  over the trailing k axes (biased variance),
    y = x_hat w + b;   with gy = g w:
    gx = rstd (gy - mean(gy) - x_hat mean(gy x_hat)),  gw = sum g x_hat,  gb = sum g

A plain backward (grad mode off) computes the three in one NumPy pass (LayerNormGrad); under
create_graph the vjp writes the same formulas with chainrule ops, so every order is exact.
"""

import numpy as np

from chainrule.core.backend import xp_of
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.mode import state as _state
from chainrule.ops.registry import op


def _mean(x, k):
    """mean over the last k axes, keepdims: one matrix-vector product (BLAS) instead of a
    reduce along a short inner axis"""
    n = int(np.prod(x.shape[x.ndim - k:]))
    rows = (x if x.flags.c_contiguous else xp_of(x).ascontiguousarray(x)).reshape(-1, n)
    return (rows @ xp_of(x).full(n, 1.0 / n, x.dtype)).reshape(x.shape[:x.ndim - k] + (1,) * k)


def _stats(x, k, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    d = x - _mean(x, k)
    var = _mean(d * d, k)
    var += eps
    rstd = 1.0 / np.sqrt(var)
    d *= rstd
    return axes, d, rstd


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) w + b over the last k axes;
    gx = rstd (gy - mean(gy) - x_hat mean(gy x_hat)), gy = g w;  gw = sum g x_hat;  gb = sum g"""

    __slots__ = ("k", "eps", "has_w", "has_b")

    def __init__(self, k, eps, has_w, has_b):
        self.k, self.eps, self.has_w, self.has_b = k, eps, has_w, has_b

    def forward(self, x, *wb):
        _, y, _ = _stats(x, self.k, self.eps)
        if self.has_w:
            y *= wb[0]
        if self.has_b:
            y += wb[-1]
        return y

    def vjp(self, g):
        x = self.inputs[0]
        w = self.inputs[1] if self.has_w else None
        if not _state.grad_enabled:  # a plain backward: one fused NumPy pass
            return LayerNormGrad(self.k, self.eps, self.has_w, self.has_b)(*self.inputs, g)
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
    backward; the vjp's create_graph path writes the same formulas with chainrule ops)"""

    __slots__ = ("k", "eps", "has_w", "has_b")

    def __init__(self, k, eps, has_w, has_b):
        self.k, self.eps, self.has_w, self.has_b = k, eps, has_w, has_b

    def forward(self, x, *rest):
        g = rest[-1]
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
        -1, int(np.prod(tail)))
    return (xp_of(x).ones(rows.shape[0], x.dtype) @ rows).reshape(tail)


@op(classes=(LayerNorm,), export=False)
def layer_norm_op(input, k, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last k axes, one graph node
    (shapes checked by F.layer_norm)."""
    wb = tuple(t for t in (weight, bias) if t is not None)
    return LayerNorm(k, eps, weight is not None, bias is not None)(input, *wb)
