"""Scaled dot-product attention as two graph nodes, the attention weights and a matmul, and
the masked-safe softmax they are made of.

    s = q k^T * scale + mask,   p = softmax(s) over keys,   y = p v

with the max-shifted (stable) softmax, and a row whose keys are all masked out (every score
-inf) giving p = 0, hence y = 0 and zero gradients, as torch's scaled_dot_product_attention.
The derivatives, with gp = g v^T and gs = p * (gp - <gp, p>) (softmax's Jacobian):

    gq = gs k * scale,   gk = gs^T q * scale,   gv = p^T g,   gmask = gs

p is computed once: the matmul (AttentionValues, which writes y in v's memory order so that
heads merge back without a copy) keeps it for its own backward (gp, gv) and the weights' node
reads it as its output. A plain backward (grad mode off) computes gq, gk, gmask in one NumPy
pass (AttentionWeightsGrad); under create_graph the vjp writes the same formulas with
chainrule ops, so every derivative order is exact. Any leading batch dims. With numba
installed the elementwise passes around the exp and the row sums run fused
(chainrule/_numba.py): the same bits.
"""

import math

import numpy as np

from chainrule import _numba
from chainrule.core.backend import to_like, xp_of
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.mode import state as _state
from chainrule.core.tensor import from_array
from chainrule.ops.arithmetic import const, to_tensor
from chainrule.ops.linalg import MatMul
from chainrule.ops.registry import op
from chainrule.ops.shape import Permute

_max_reduce = np.maximum.reduce


def _causal(L, S):
    """torch's is_causal mask: query i sees keys j <= i (top-left aligned), True = take part."""
    return np.tril(np.ones((L, S), dtype=bool))


def _row_max(s2):
    """max over the last axis of a 2-D (rows, S) array, as (rows,): a transposed copy, then
    elementwise maxima down its rows, where NumPy's maximum.reduce along a short inner axis
    is ~3x slower."""
    return _max_reduce(xp_of(s2).ascontiguousarray(s2.T), 0)


def _probs(s):
    """softmax(s) over the last axis (s is consumed: the result is written over it); rows
    that are all -inf give 0. The shift is the row max clamped to >= -max_float, so a fully
    masked row gives exp(-inf) = 0 rather than nan; row sums are one matrix-vector product."""
    n = s.shape[-1]
    if n == 0 or s.size == 0:
        return s
    s2 = s.reshape(-1, n)
    m = _row_max(s2)
    np.maximum(m, -np.finfo(s.dtype).max, out=m)
    np.subtract(s2, m[:, None], out=s2)
    np.exp(s2, out=s2)
    den = s2 @ xp_of(s).ones(n, s.dtype)
    np.maximum(den, 1, out=den)  # >= 1 unless the row is fully masked (then every e is 0)
    s2 /= den[:, None]
    return s


def _row_dot(a, b):
    """sum over the last axis of a * b, keepdims (one elementwise product and a matrix-vector
    product, not a reduce along a short inner axis)."""
    n = a.shape[-1]
    ab = np.multiply(a, b)
    return (ab.reshape(-1, n) @ xp_of(ab).ones(n, ab.dtype)).reshape(ab.shape[:-1] + (1,))


def _fused_probs(kernels, s, scale, mask):
    """_probs(s scale + mask) with the passes around the exp fused (numba): the same bits"""
    n = s.shape[-1]
    s2 = s.reshape(-1, n)
    c = s.dtype.type
    has_mask = mask is not None
    kernels.softmax_shift(s2, c(scale), mask if has_mask else s2, has_mask,
                          c(-np.finfo(s.dtype).max))
    np.exp(s2, out=s2)
    kernels.softmax_divide(s2, s2 @ np.ones(n, s.dtype), c(1))
    return s


def _fused_grad(kernels, p, gp, scale):
    """AttentionWeightsGrad's gs (scaled) with its elementwise passes fused: the same bits"""
    n = p.shape[-1]
    p2, gp2 = p.reshape(-1, n), gp.reshape(-1, n)
    gs = np.empty_like(p2)
    kernels.softmax_grad_products(gp2, p2, gs)
    kernels.softmax_grad(gp2, p2, gs @ np.ones(n, p.dtype), p.dtype.type(scale), gs)
    return gs.reshape(p.shape)


def _scale_mask(s, mask, scale, causal):
    """s scale + mask, keys after each query masked when causal (s = q k^T, written over)"""
    s *= scale
    if mask is not None:
        if np.broadcast_shapes(s.shape, mask.shape) == s.shape:
            s += mask
        else:
            s = s + mask
    if causal:
        s = np.where(to_like(_causal(s.shape[-2], s.shape[-1]), s), s, -np.inf)
    return s  # (a new C-contiguous array: matmul's, the sum's or where's; _probs writes over it)


class SafeSoftmax(Function):
    """p = softmax(s) over the last axis, 0 on rows with every score -inf;
    vjp = p (g - <g, p>)"""

    __slots__ = ()

    def forward(self, s):
        return _probs(s.copy()) if s.size else np.empty_like(s)

    def vjp(self, g):
        p = self.output
        return p * (g - (g * p).sum(-1, keepdim=True))


class AttentionWeights(Function):
    """p = softmax(q k^T scale + mask) over keys (0 on rows with every key masked);
    gs = p (gp - <gp, p>),  gq = gs k scale,  gk = gs^T q scale,  gmask = gs

    Inputs q (..., L, E), k (..., S, E) and optionally an additive float mask broadcastable
    to (..., L, S); is_causal masks keys after each query. Attention is this node followed by
    a matmul with v, so p is computed once and the matmul keeps it for both backwards.
    """

    __slots__ = ("scale", "causal")

    def __init__(self, scale, causal):
        self.scale, self.causal = scale, causal

    def forward(self, q, k, mask=None):
        s = np.matmul(q, np.swapaxes(k, -1, -2))
        kernels = _numba.get()
        if kernels is not None and not self.causal and s.size and _numba.fits(s):
            if mask is None:
                return _fused_probs(kernels, s, self.scale, None)
            if mask.shape[-2:] == s.shape[-2:] and mask.ndim <= s.ndim and \
                    mask.size == math.prod(s.shape[-2:]) and _numba.fits(s, mask):
                return _fused_probs(kernels, s, self.scale, mask.reshape(s.shape[-2:]))
        return _probs(_scale_mask(s, mask, self.scale, self.causal))

    def vjp(self, gp):
        q, k = self.inputs[:2]
        mask = self.inputs[2] if len(self.inputs) == 3 else None
        need_mask = mask is not None and mask.requires_grad
        p = self.output
        if not _state.grad_enabled:  # a plain backward: one fused NumPy pass
            grads = AttentionWeightsGrad(self.scale, need_mask)(q, k, p, gp)
            return grads if mask is not None else grads[:2]
        # create_graph: the same formulas in chainrule ops, differentiable in q, k, mask, gp
        gs = p * (gp - (gp * p).sum(-1, keepdim=True))
        gq = MatMul()(gs, k) * self.scale
        gk = MatMul()(Permute(_swap(gs.ndim))(gs), q) * self.scale
        return (gq, gk) if mask is None else (gq, gk, gs if need_mask else None)


def _swap(n):
    return tuple(range(n - 2)) + (n - 1, n - 2)


class AttentionWeightsGrad(Nondifferentiable):
    """(gq, gk, gmask) of the attention weights p for cotangent gp, in one NumPy pass (the
    first-order backward; the vjp's create_graph path writes the same formulas with chainrule
    ops): gs = p (gp - <gp, p>), gq = gs k scale, gk = gs^T q scale, gmask = gs"""

    __slots__ = ("scale", "need_mask")

    def __init__(self, scale, need_mask):
        self.scale, self.need_mask = scale, need_mask

    def forward(self, q, k, p, gp):
        kernels = _numba.get()
        if kernels is not None and not self.need_mask and p.size and _numba.fits(p, gp):
            gs = _fused_grad(kernels, p, gp, self.scale)
            return _product_like(gs, k, q), _product_like(np.swapaxes(gs, -1, -2), q, k), \
                np.zeros((), q.dtype)
        gs = gp - _row_dot(gp, p)
        gs *= p
        gmask = gs.copy() if self.need_mask else np.zeros((), q.dtype)
        gs *= self.scale
        return _product_like(gs, k, q), _product_like(np.swapaxes(gs, -1, -2), q, k), gmask


class AttentionValues(MatMul):
    """y = p v, laid out in v's memory order;  gp = g v^T,  gv = p^T g (gv in v's order too)

    Heads split from one projection make v a permuted view ((N, S, H, hd) memory seen as
    (N, H, S, hd)); y written in that order merges its heads back with a view, not a copy, and
    so does gv (1-2% of a small Transformer's step). Batch axes equal (no broadcasting): the
    values are MatMul's, and under create_graph so is the vjp.
    """

    __slots__ = ()
    returns_fresh = True  # forward's result is a new array, never a view of an input

    def forward(self, p, v):
        return _product_like(p, v, v)

    def vjp(self, g):
        p, v = self.inputs
        if _state.grad_enabled or not (p.requires_grad and v.requires_grad):
            return super().vjp(g)
        return AttentionValuesGrad()(p, v, g)


class AttentionValuesGrad(Nondifferentiable):
    """(gp, gv) of y = p v for cotangent g, gp = g v^T and gv = p^T g in v's memory order (the
    first-order backward of AttentionValues; its create_graph path is MatMul's)"""

    __slots__ = ()

    def forward(self, p, v, g):
        return np.matmul(g, np.swapaxes(v, -1, -2)), _product_like(np.swapaxes(p, -1, -2), g, v)


def _product_like(a, b, like):
    """a @ b written in the memory order of `like` (the input it is the gradient of) when the
    shapes agree: heads split from a projection give q, k as permuted views, and their
    gradients laid out the same way permute back to a contiguous array that reshapes without
    a copy (BLAS writes the strided rows directly)."""
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    if type(like) is not np.ndarray or like.flags.c_contiguous or shape != like.shape:
        return np.matmul(a, b)
    return np.matmul(a, b, out=np.empty_like(like))


class BoolMaskBias(Nondifferentiable):
    """b = 0 where mask is True (take part), -inf where False: a bool mask as an additive one"""

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, mask):
        return np.where(mask, 0, -np.inf).astype(self.dtype)


def _shape_error(msg):
    return ValueError(f"scaled_dot_product_attention: {msg}")


@op(classes=(AttentionWeights, AttentionValues, SafeSoftmax))
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q k^T / sqrt(E) + mask) v over (..., L, E) queries and (..., S, E) keys.

    attn_mask: bool (True = take part) or float (added to the scores), broadcastable to
    (..., L, S); is_causal: query i sees keys j <= i; scale defaults to 1/sqrt(E); dropout_p
    drops attention weights (always, as torch: pass 0 in eval); enable_gqa: key and value may
    have fewer heads (dim -3) than query, each shared by a group of query heads. A row with
    every key masked out gives zeros (as torch).

        >>> import chainrule as cr
        >>> q = k = v = cr.ones(1, 3, 4)
        >>> cr.scaled_dot_product_attention(q, k, v).shape
        (1, 3, 4)
    """
    q, k, v = to_tensor(query), to_tensor(key), to_tensor(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise _shape_error(f"query, key and value need at least 2 dims (..., L, E); got "
                           f"query {q.shape}, key {k.shape}, value {v.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise _shape_error(f"query and key must have the same last dim E; got query {q.shape}"
                           f" and key {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise _shape_error(f"key and value must have the same length S (dim -2); got key "
                           f"{k.shape} and value {v.shape}")
    if not (q.dtype == k.dtype == v.dtype) or q.dtype.kind != "f":
        raise TypeError(f"scaled_dot_product_attention: query, key and value must share one "
                        f"floating dtype; got {q.dtype}, {k.dtype}, {v.dtype}")
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        hq, hk = q.shape[-3], k.shape[-3]
        if hq % hk or v.shape[-3] != hk:
            raise _shape_error(f"enable_gqa: query heads {hq} must be a multiple of key/value "
                               f"heads; got key {k.shape}, value {v.shape}")
        k = k.repeat_interleave(hq // hk, dim=-3)
        v = v.repeat_interleave(hq // hk, dim=-3)
    L, S = q.shape[-2], k.shape[-2]
    if is_causal and attn_mask is not None:
        raise _shape_error("give either attn_mask or is_causal=True, not both (as torch)")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    mask = None
    if attn_mask is not None:
        mask = to_tensor(attn_mask) if not isinstance(attn_mask, np.ndarray) else \
            from_array(attn_mask)
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
        try:
            np.broadcast_shapes(mask.shape, batch + (L, S))
        except ValueError:
            raise _shape_error(f"attn_mask of shape {mask.shape} does not broadcast to the "
                               f"scores' shape {batch + (L, S)} (..., L, S)") from None
        if mask.dtype == np.bool_:
            mask = BoolMaskBias(q.dtype)(mask)
        elif mask.dtype != q.dtype:
            raise TypeError(f"scaled_dot_product_attention: a float attn_mask must have the "
                            f"query's dtype {q.dtype}; got {mask.dtype}")
    if dropout_p > 0:  # dropout on the weights: composed, with dropout's random mask
        from chainrule.ops.compare import DropoutMask

        s = (q @ k.mT) * scale
        if mask is not None:
            s = s + mask
        if is_causal:
            s = s + const(np.where(_causal(L, S), 0, -np.inf).astype(q.dtype), q)
        p = SafeSoftmax()(s)
        return (p * DropoutMask(dropout_p)(p)) @ v
    weights = AttentionWeights(scale, bool(is_causal))
    p = weights(q, k) if mask is None else weights(q, k, mask)
    return (AttentionValues() if p.shape[:-2] == v.shape[:-2] else MatMul())(p, v)


def attention_probs(scores):
    """softmax over the last axis with fully masked (-inf) rows giving 0 (one graph node)."""
    return SafeSoftmax()(scores)
