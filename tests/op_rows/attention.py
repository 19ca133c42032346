"""Op-table rows of the attention family (chainrule/ops/attention.py and its companions):
scaled dot-product attention (plain, causal, bool mask with a fully masked row, float mask
with its gradient, a given scale, grouped-query heads), the masked-safe softmax, rms_norm and
the rotary embedding. Each row gets forward vs NumPy (float32/float64), gradcheck,
gradgradcheck, a cr.compile replay and, with torch, PyTorch's values and gradients.

The references are plain NumPy from the definitions.
"""

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from tests.core.op_table import row

_BOOL = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0], [1, 0, 1, 1, 1], [0, 1, 0, 0, 1]], bool)


def ref_sdpa(q, k, v, mask=None, causal=False, scale=None):
    """softmax(q k^T scale + mask) v; rows with every key masked give 0 (torch's rule)."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = np.einsum("...le,...se->...ls", q, k) * scale
    L, S = s.shape[-2:]
    if causal:
        mask = np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf)
    if mask is not None:
        s = s + (np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask)
    out = np.zeros(s.shape[:-1] + (v.shape[-1],))
    for idx in np.ndindex(*s.shape[:-1]):
        r = s[idx]
        if np.all(np.isneginf(r)):
            continue
        p = np.exp(r - r.max())
        p /= p.sum()
        out[idx] = p @ v[idx[:-1]]
    return out


def _tsdpa(**kw):
    def f(*xs):
        import torch

        kw2 = dict(kw)
        if "attn_mask" in kw2 and isinstance(kw2["attn_mask"], np.ndarray):
            kw2["attn_mask"] = torch.tensor(kw2["attn_mask"])
        if len(xs) == 4:
            kw2["attn_mask"] = xs[3]
        return torch.nn.functional.scaled_dot_product_attention(*xs[:3], **kw2)

    return f


sdpa = F.scaled_dot_product_attention
row("sdpa", lambda q, k, v: sdpa(q, k, v), ref_sdpa, ((2, 3, 4), (2, 5, 4), (2, 5, 3)),
    torch=_tsdpa())
row("sdpa_causal", lambda q, k, v: sdpa(q, k, v, is_causal=True),
    lambda q, k, v: ref_sdpa(q, k, v, causal=True), ((1, 2, 4, 3), (1, 2, 4, 3), (1, 2, 4, 3)),
    torch=_tsdpa(is_causal=True))
row("sdpa_bool_mask_fully_masked_row", lambda q, k, v: sdpa(q, k, v, cr.tensor(_BOOL)),
    lambda q, k, v: ref_sdpa(q, k, v, _BOOL), ((2, 4, 3), (2, 5, 3), (2, 5, 2)),
    torch=_tsdpa(attn_mask=_BOOL))
row("sdpa_float_mask", lambda q, k, v, m: sdpa(q, k, v, m), ref_sdpa,
    ((2, 4, 3), (2, 5, 3), (2, 5, 2), (4, 5)), torch=_tsdpa())
row("sdpa_scale", lambda q, k, v: sdpa(q, k, v, scale=0.7),
    lambda q, k, v: ref_sdpa(q, k, v, scale=0.7), ((3, 2), (4, 2), (4, 3)),
    torch=_tsdpa(scale=0.7))
row("sdpa_gqa", lambda q, k, v: sdpa(q, k, v, enable_gqa=True),
    lambda q, k, v: ref_sdpa(q, np.repeat(k, 2, -3), np.repeat(v, 2, -3)),
    ((1, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)), torch=_tsdpa(enable_gqa=True))


def _ref_softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


row("attention_probs", cr.ops.attention.attention_probs, _ref_softmax, ((3, 5),),
    torch=lambda s: s.softmax(-1))


def _ref_rms(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w


row("rms_norm", lambda x, w: F.rms_norm(x, (4,), w, 1e-6), _ref_rms, ((3, 4), (4,)),
    torch=lambda x, w: __import__("torch").nn.functional.rms_norm(x, (4,), w, 1e-6))


def _ref_rope(x):
    T, D = x.shape[-2:]
    theta = 10000.0 ** (-np.arange(0, D, 2) / D)
    ang = np.arange(T)[:, None] * theta  # (T, D/2)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    c, s = np.cos(ang), np.sin(ang)
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1)


row("rotary_embedding", F.rotary_embedding, _ref_rope, ((2, 5, 6),))


def _ref_ln(x, w=None, b=None, k=1):
    axes = tuple(range(x.ndim - k, x.ndim))
    y = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    return y * (1 if w is None else w) + (0 if b is None else b)


def _tln(shape):
    def f(x, w=None, b=None):
        import torch

        return torch.nn.functional.layer_norm(x, shape, w, b, 1e-5)

    return f


row("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), _ref_ln,
    ((2, 3, 4), (4,), (4,)), torch=_tln((4,)))
row("layer_norm_2d_no_affine", lambda x: F.layer_norm(x, (3, 4)),
    lambda x: _ref_ln(x, k=2), ((2, 3, 4),), torch=_tln((3, 4)))
row("layer_norm_weight_only", lambda x, w: F.layer_norm(x, (5,), w), _ref_ln,
    ((3, 5), (5,)), torch=_tln((5,)))
