"""Linear algebra: matrix multiplication (1-D, 2-D and batched, as NumPy's matmul)."""

import numpy as np

from chainrule.core.function import Function
from chainrule.ops.arithmetic import _pair


class MatMul(Function):
    """Y = A B;  dY/dA: G B^T, dY/dB: A^T G (batch axes are summed back by the engine)"""

    __slots__ = ()

    def forward(self, a, b):
        return a @ b

    def vjp(self, g):
        a, b = self.inputs
        if a.ndim == 2 and b.ndim == 2:  # the common case: transposed views, no copies
            return (g @ b.mT if a.requires_grad else None), (a.mT @ g if b.requires_grad else None)
        # promote 1-D operands as matmul does: a (k,) -> (1, k), b (k,) -> (k, 1)
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2.unsqueeze(-2)
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        ga = gb = None
        if a.requires_grad:
            ga = g2 @ b2.mT
            if a.ndim == 1:
                ga = ga.sum(tuple(range(ga.ndim - 2))).reshape(-1) if ga.ndim > 2 else ga[0]
        if b.requires_grad:
            gb = a2.mT @ g2
            if b.ndim == 1:
                gb = gb.sum(tuple(range(gb.ndim - 2))).reshape(-1) if gb.ndim > 2 else gb[:, 0]
        return ga, gb


def matmul(a, b):
    """Matrix product a @ b (NumPy semantics for 1-D and batched operands)."""
    a, b = _pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension; got shapes "
                         f"{a.shape} and {b.shape} (use * for scalars)")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul: inner dimensions differ: a is {a.shape}, b is {b.shape}")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions cannot be broadcast: a is {a.shape}, b is "
                         f"{b.shape}") from None
    return MatMul()(a, b)
