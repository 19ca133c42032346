"""Primitives for neural-network layers and losses, where composing existing ops is slower or
unstable: linear (one fused node for x W^T + b), take/put along an axis (the class pick of
cross-entropy), binary cross-entropy on probabilities (PyTorch's clamped logs)."""

import numpy as np

from chainrule.core.function import Function
from chainrule.ops.elementwise import log, log1p, maximum


class Linear(Function):
    """y = x W^T + b;  dy/dx: g W,  dy/dW: g^T x (summed over batch axes),  dy/db: sum g"""

    __slots__ = ()

    def forward(self, x, W, b=None):
        y = np.matmul(x, W.T)  # W.T is a view: BLAS reads it transposed, no copy
        if b is not None:
            y += b
        return y

    def vjp(self, g):
        x, W = self.inputs[0], self.inputs[1]
        gx = g @ W if x.requires_grad else None
        gW = gb = None
        if W.requires_grad:
            if x.ndim == 1:
                gW = g.reshape(-1, 1) @ x.reshape(1, -1)
            elif x.ndim == 2:
                gW = g.mT @ x
            else:
                gW = g.reshape(-1, g.shape[-1]).mT @ x.reshape(-1, x.shape[-1])
        if len(self.inputs) == 3 and self.inputs[2].requires_grad:
            gb = g if g.ndim == 1 else g.sum(tuple(range(g.ndim - 1)))
        return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gb)


class TakeAlongAxis(Function):
    """y = x picked at one index per slot along axis (np.take_along_axis);  vjp: g put back"""

    __slots__ = ("index", "axis")
    reads_values = False

    def __init__(self, index, axis):
        self.index, self.axis = index, axis

    def forward(self, x):
        return np.take_along_axis(x, self.index, self.axis)

    def vjp(self, g):
        return PutAlongAxis(self.index, self.axis, self.inputs[0].shape)(g)


class PutAlongAxis(Function):
    """y = zeros(shape) with g written at index along axis;  vjp: take_along_axis of g"""

    __slots__ = ("index", "axis", "shape")
    reads_values = False

    def __init__(self, index, axis, shape):
        self.index, self.axis, self.shape = index, axis, shape

    def forward(self, g):
        y = np.zeros(self.shape, dtype=g.dtype)
        np.put_along_axis(y, self.index, g, self.axis)  # one index per slot: no collisions
        return y

    def vjp(self, g):
        return TakeAlongAxis(self.index, self.axis)(g)


class BinaryCrossEntropy(Function):
    """l = -(y max(log x, -100) + (1 - y) max(log(1 - x), -100));
    dl/dx = (x - y) / max(x (1 - x), 1e-12),  dl/dy = log(1 - x) - log x  (as PyTorch)"""

    __slots__ = ()

    def forward(self, x, y):
        # the clamp keeps the loss finite at x = 0 or 1, where sigmoid saturates in float32
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        return (y - 1) * log_1mx - y * log_x

    def vjp(self, g):
        x, y = self.inputs
        gx = gy = None
        if x.requires_grad:
            gx = g * (x - y) / maximum(x * (1 - x), 1e-12)
        if y.requires_grad:
            gy = g * (log1p(-x) - log(x))
        return gx, gy


def take_along_axis(x, index, axis):
    """x picked at `index` (an int ndarray with length 1 along `axis`), differentiable."""
    return TakeAlongAxis(index, axis)(x)


def linear(x, W, b=None):
    """x W^T + b as one graph node (shapes are checked by the caller)."""
    return Linear()(x, W) if b is None else Linear()(x, W, b)


def binary_cross_entropy(x, y):
    """Elementwise -(y log x + (1 - y) log(1 - x)) with logs clamped at -100."""
    return BinaryCrossEntropy()(x, y)
