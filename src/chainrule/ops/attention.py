"""Scaled dot-product attention as one graph node, and the masked-safe softmax it is made of.

    s = q k^T * scale + mask,   p = softmax(s) over keys,   y = p v

with the max-shifted (stable) softmax, and a row whose keys are all masked out (every score
-inf) giving p = 0, hence y = 0 and zero gradients, as torch's scaled_dot_product_attention.
The derivatives, with gp = g v^T and gs = p * (gp - <gp, p>) (softmax's Jacobian):

    gq = gs k * scale,   gk = gs^T q * scale,   gv = p^T g,   gmask = gs

A plain backward (grad mode off) computes the four in one NumPy pass (AttentionGrad,
recomputing p: nothing is saved but the inputs); under create_graph the vjp writes the same
formulas with chainrule ops, so every derivative order is exact. Any leading batch dims.
"""

import numpy as np

from chainrule.core.backend import to_like
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.mode import state as _state
from chainrule.core.tensor import from_array
from chainrule.ops.arithmetic import const, to_tensor
from chainrule.ops.linalg import MatMul
from chainrule.ops.registry import op
from chainrule.ops.shape import Permute

_sum = np.add.reduce


def _causal(L, S):
    """torch's is_causal mask: query i sees keys j <= i (top-left aligned), True = take part."""
    return np.tril(np.ones((L, S), dtype=bool))


def _row_max(s):
    """max over the last axis, keepdims, by halving: elementwise maxima of the two halves run
    vectorized, where NumPy's maximum.reduce along a short inner axis is ~4x slower."""
    m = s
    while m.shape[-1] > 1:
        h = m.shape[-1] // 2
        top = np.maximum(m[..., :h], m[..., h:2 * h])
        m = top if m.shape[-1] == 2 * h else np.concatenate([top, m[..., 2 * h:]], -1)
    return m if m is not s else m.copy()


def _probs(s):
    """softmax(s) over the last axis in place-safe form; rows that are all -inf give 0."""
    m = _row_max(s)
    m[~np.isfinite(m)] = 0  # a fully masked row: exp(-inf - 0) = 0 instead of nan
    e = np.exp(s - m)
    den = _sum(e, -1, None, None, True)
    den[den == 0] = 1
    e /= den
    return e


def _scores(q, k, mask, scale, causal):
    s = np.matmul(q, np.swapaxes(k, -1, -2))
    s *= scale
    if mask is not None:
        s = s + mask
    if causal:
        s = np.where(to_like(_causal(s.shape[-2], s.shape[-1]), s), s, -np.inf)
    return s


class SafeSoftmax(Function):
    """p = softmax(s) over the last axis, 0 on rows with every score -inf;
    vjp = p (g - <g, p>)"""

    __slots__ = ()

    def forward(self, s):
        return _probs(s.copy()) if s.size else np.empty_like(s)

    def vjp(self, g):
        p = self.output
        return p * (g - (g * p).sum(-1, keepdim=True))


class ScaledDotProductAttention(Function):
    """y = softmax(q k^T scale + mask) v;  gq = gs k scale, gk = gs^T q scale, gv = p^T g,
    gmask = gs, with gs = p (g v^T - <g v^T, p>)

    Inputs q (..., L, E), k (..., S, E), v (..., S, Ev) and optionally an additive float
    mask broadcastable to (..., L, S); is_causal masks keys after each query.
    """

    __slots__ = ("scale", "causal")

    def __init__(self, scale, causal):
        self.scale, self.causal = scale, causal

    def forward(self, q, k, v, mask=None):
        return np.matmul(_probs(_scores(q, k, mask, self.scale, self.causal)), v)

    def vjp(self, g):
        q, k, v = self.inputs[:3]
        mask = self.inputs[3] if len(self.inputs) == 4 else None
        need_mask = mask is not None and mask.requires_grad
        if not _state.grad_enabled:  # a plain backward: one fused NumPy pass
            grads = AttentionGrad(self.scale, self.causal, need_mask)(
                *((q, k, v, g) if mask is None else (q, k, v, g, mask)))
            return grads if mask is not None else grads[:3]
        # create_graph: the same formulas in chainrule ops, differentiable in q, k, v, mask, g
        s = MatMul()(q, Permute(_swap(k.ndim))(k)) * self.scale
        if mask is not None:
            s = s + mask
        if self.causal:
            L, S = s.shape[-2], s.shape[-1]
            s = s + const(np.where(_causal(L, S), 0, -np.inf).astype(s.dtype), s)
        p = SafeSoftmax()(s)
        gp = MatMul()(g, Permute(_swap(v.ndim))(v))
        gs = p * (gp - (gp * p).sum(-1, keepdim=True))
        gq = MatMul()(gs, k) * self.scale
        gk = MatMul()(Permute(_swap(gs.ndim))(gs), q) * self.scale
        gv = MatMul()(Permute(_swap(p.ndim))(p), g)
        return (gq, gk, gv) if mask is None else (gq, gk, gv, gs if need_mask else None)


def _swap(n):
    return tuple(range(n - 2)) + (n - 1, n - 2)


class AttentionGrad(Nondifferentiable):
    """(gq, gk, gv[, gmask]) of scaled dot-product attention for cotangent g, in one NumPy pass
    (the first-order backward; the vjp's create_graph path writes the same formulas with
    chainrule ops)"""

    __slots__ = ("scale", "causal", "need_mask")

    def __init__(self, scale, causal, need_mask):
        self.scale, self.causal, self.need_mask = scale, causal, need_mask

    def forward(self, q, k, v, g, mask=None):
        p = _probs(_scores(q, k, mask, self.scale, self.causal))
        gv = np.matmul(np.swapaxes(p, -1, -2), g)
        gp = np.matmul(g, np.swapaxes(v, -1, -2))
        gs = gp - _sum(gp * p, -1, None, None, True)
        gs *= p
        gmask = gs.copy() if self.need_mask else np.zeros((), q.dtype)
        gs *= self.scale
        gq = np.matmul(gs, k)
        gk = np.matmul(np.swapaxes(gs, -1, -2), q)
        return (gq, gk, gv) if mask is None else (gq, gk, gv, gmask)


class BoolMaskBias(Nondifferentiable):
    """b = 0 where mask is True (take part), -inf where False: a bool mask as an additive one"""

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, mask):
        return np.where(mask, 0, -np.inf).astype(self.dtype)


def _shape_error(msg):
    return ValueError(f"scaled_dot_product_attention: {msg}")


@op(classes=(ScaledDotProductAttention, SafeSoftmax))
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
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else float(scale)
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
    node = ScaledDotProductAttention(scale, bool(is_causal))
    return node(q, k, v) if mask is None else node(q, k, v, mask)


def attention_probs(scores):
    """softmax over the last axis with fully masked (-inf) rows giving 0 (one graph node)."""
    return SafeSoftmax()(scores)
