"""Broadcasting and its adjoint: the engine sums every broadcast gradient back to its input's
shape (sum_to), and the vjp of that sum is a broadcast (broadcast_to). They live in the kernel so
that the engine needs nothing from the ops above it."""

import numpy as np

from chainrule.core.function import Function
from chainrule.core.tensor import share_version


class BroadcastTo(Function):
    """y = x repeated along broadcast axes;  vjp: g summed over them (sum_to)"""

    __slots__ = ("shape",)
    reads_values = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def vjp(self, g):
        return sum_to(g, self.inputs[0].shape)


class SumTo(Function):
    """y = x summed over the axes that broadcasting to x.shape added;  vjp: broadcast_to"""

    __slots__ = ("shape",)
    reads_values = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(self.shape) if n == 1 and x.shape[lead + i] != 1)
        y = np.sum(x, axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def vjp(self, g):
        return broadcast_to(g, self.inputs[0].shape)


def broadcast_to(x, shape):
    """x repeated along new or length-1 axes to `shape` (a read-only view of x)."""
    shape = tuple(shape)
    try:
        return share_version(BroadcastTo(shape)(x), x)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None


def sum_to(x, shape):
    """Sum x down to `shape` (the adjoint of broadcast_to); raises ValueError if impossible."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if len(shape) > x.ndim or np.broadcast_shapes(shape, x.shape) != x.shape:
        raise ValueError(f"sum_to: cannot sum shape {x.shape} to {shape}")
    return SumTo(shape)(x)
