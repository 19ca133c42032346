"""The stateless forms of attention and its companions (re-exported by cr.nn.functional):
multi-head attention's forward, RMS normalization, sinusoidal and rotary positional encodings.
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.backend import xp_of
from chainrule.core.tensor import from_array
from chainrule.ops.arithmetic import const, to_tensor
from chainrule.ops.attention import scaled_dot_product_attention


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing normalized_shape axes
    (eps=None: the dtype's machine epsilon, as torch)."""
    input = to_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.shape[input.ndim - k:] != shape:
        raise ValueError(f"rms_norm: the input's trailing dimensions must be normalized_shape "
                         f"{shape}; got input shape {input.shape}")
    eps = float(np.finfo(input.dtype).eps) if eps is None else eps
    axes = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(axes, keepdims=True) + eps).rsqrt()
    return y if weight is None else y * weight


def sinusoidal_positional_encoding(num_positions, dim, dtype=None):
    """(num_positions, dim) table PE(pos, 2i) = sin(pos / 10000^(2i/dim)),
    PE(pos, 2i+1) = cos(pos / 10000^(2i/dim)) (Vaswani et al. 2017; an odd dim drops the
    last cosine). A constant: no gradient."""
    if not isinstance(num_positions, int) or not isinstance(dim, int) or num_positions < 0 \
            or dim < 1:
        raise ValueError(f"sinusoidal_positional_encoding: num_positions must be >= 0 and dim "
                         f">= 1 integers; got {num_positions!r}, {dim!r}")
    pos = np.arange(num_positions, dtype=np.float64)[:, None]
    freq = 10000.0 ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)  # 1 / 10000^(2i/d)
    pe = np.zeros((num_positions, dim))
    pe[:, 0::2] = np.sin(pos * freq)
    pe[:, 1::2] = np.cos(pos * freq)[:, : dim // 2]
    return from_array(pe.astype(dtype or _mode.state.default_dtype))


def rotary_embedding(x, positions=None, base=10000.0):
    """RoPE, half-split convention (GPT-NeoX / Llama's rotate_half): for x (..., T, D), D even,
    pair x[..., i] with x[..., i + D/2] and rotate the pair at position m by the angle
    m theta_i, theta_i = base^(-2i/D):  y = x cos + rotate_half(x) sin,
    rotate_half(x) = (-x2, x1). So <R(m) q, R(n) k> depends only on m - n.

    positions: (T,) integer positions (default 0..T-1).
    """
    x = to_tensor(x)
    if x.ndim < 2 or x.shape[-1] % 2:
        raise ValueError(f"rotary_embedding: x must be (..., T, D) with D even; got shape "
                         f"{x.shape}")
    T, D = x.shape[-2], x.shape[-1]
    pos = np.arange(T, dtype=np.float64) if positions is None else \
        np.asarray(getattr(positions, "_data", positions), dtype=np.float64)
    if pos.shape != (T,):
        raise ValueError(f"rotary_embedding: positions must have shape ({T},); got {pos.shape}")
    theta = base ** (-np.arange(0, D, 2, dtype=np.float64) / D)
    angle = np.concatenate([pos[:, None] * theta] * 2, axis=1)  # (T, D)
    cos, sin = const(np.cos(angle).astype(x.dtype), x), const(np.sin(angle).astype(x.dtype), x)
    return apply_rotary_pos_emb(x, cos, sin)


def apply_rotary_pos_emb(x, cos, sin):
    """x cos + rotate_half(x) sin with rotate_half(x) = cat(-x[..., D/2:], x[..., :D/2]) (the
    half-split RoPE of Llama; cos and sin (T, D) broadcast over x's leading dims)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    from chainrule.ops.shape import concatenate

    return x * cos + concatenate([-x2, x1], dim=-1) * sin


# ---- multi-head attention --------------------------------------------------------------------


def _mask_bias(name, mask, dtype):
    """A bool (True = masked out, torch's MultiheadAttention convention) or float mask as an
    additive float one."""
    mask = to_tensor(mask) if not isinstance(mask, np.ndarray) else from_array(mask)
    if mask.dtype == np.bool_:
        from chainrule.ops.attention import BoolMaskBias

        return BoolMaskBias(dtype)(~mask)
    if mask.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {name} must be bool or float; got {mask.dtype}")
    return mask.astype(dtype) if mask.dtype != dtype else mask


def multi_head_attention_forward(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight,
                                 out_proj_bias, training=True, key_padding_mask=None,
                                 need_weights=True, attn_mask=None, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None,
                                 average_attn_weights=True, is_causal=False, batch_first=False):
    """Multi-head attention on batch-first (N, L, E) query and (N, S, kdim/vdim) key/value:
    project, split into heads, scaled dot-product attention, merge, project out. Returns
    (output (N, L, E), weights or None). Masks: key_padding_mask (N, S), attn_mask (L, S) or
    (N num_heads, L, S); bool True = not allowed (torch's MultiheadAttention convention),
    float = added to the scores."""
    from chainrule.nn.functional import linear
    from chainrule.ops.shape import concatenate, split

    N, L, E = query.shape
    S = key.shape[1]
    H = num_heads
    hd = E // H
    if in_proj_weight is not None:
        if query is key and key is value:  # self-attention: one GEMM for q, k and v
            qkv = linear(query, in_proj_weight, in_proj_bias)
            q, k, v = split(qkv, E, dim=-1)  # views; their gradients join in one pass
        else:
            b = (None, None, None) if in_proj_bias is None else \
                (in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:])
            q = linear(query, in_proj_weight[:E], b[0])
            k = linear(key, in_proj_weight[E:2 * E], b[1])
            v = linear(value, in_proj_weight[2 * E:], b[2])
    else:
        b = (None, None, None) if in_proj_bias is None else \
            (in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:])
        q = linear(query, q_proj_weight, b[0])
        k = linear(key, k_proj_weight, b[1])
        v = linear(value, v_proj_weight, b[2])
    dtype = q.dtype
    bias_add = None  # the additive (N, H or 1, L, S') mask
    if attn_mask is not None:
        am = _mask_bias("attn_mask", attn_mask, dtype)
        if am.ndim == 2:
            if tuple(am.shape) != (L, S):
                raise ValueError(f"MultiheadAttention: the 2-D attn_mask must have shape "
                                 f"(L, S) = {(L, S)}; got {tuple(am.shape)}")
            am = am.reshape(1, 1, L, S)
        elif am.ndim == 3:
            if tuple(am.shape) != (N * H, L, S):
                raise ValueError(f"MultiheadAttention: the 3-D attn_mask must have shape "
                                 f"(N * num_heads, L, S) = {(N * H, L, S)}; got "
                                 f"{tuple(am.shape)}")
            am = am.reshape(N, H, L, S)
        else:
            raise ValueError(f"MultiheadAttention: attn_mask must be 2-D (L, S) or 3-D "
                             f"(N * num_heads, L, S); got shape {tuple(am.shape)}")
        bias_add = am
    elif is_causal:
        bias_add = const(np.where(np.tril(np.ones((L, S), bool)), 0, -np.inf)
                         .astype(dtype).reshape(1, 1, L, S), q)
    if bias_k is not None:  # one extra key/value position, learned
        k = concatenate([k, bias_k.reshape(1, 1, E).expand(N, 1, E)], dim=1)
        v = concatenate([v, bias_v.reshape(1, 1, E).expand(N, 1, E)], dim=1)
        if bias_add is not None:
            bias_add = _pad_last(bias_add)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(to_tensor(key_padding_mask))
    kp = None
    if key_padding_mask is not None:
        kp = _mask_bias("key_padding_mask", key_padding_mask, dtype)
        if tuple(kp.shape) != (N, k.shape[1]):
            raise ValueError(f"MultiheadAttention: key_padding_mask must have shape (N, S) = "
                             f"{(N, k.shape[1])}; got {tuple(kp.shape)}")
        kp = kp.reshape(N, 1, 1, k.shape[1])
    # heads: (N, T, E) -> (N, H, T, hd)
    q = q.reshape(N, L, H, hd).permute(0, 2, 1, 3)
    k = k.reshape(N, k.shape[1], H, hd).permute(0, 2, 1, 3)
    v = v.reshape(N, v.shape[1], H, hd).permute(0, 2, 1, 3)
    if add_zero_attn:  # one extra all-zero key/value position
        z = from_array(xp_of(q).zeros((N, H, 1, hd), dtype))
        k, v = concatenate([k, z], dim=2), concatenate([v, z], dim=2)
        if bias_add is not None:
            bias_add = _pad_last(bias_add)
        if kp is not None:
            kp = _pad_last(kp)
    mask = bias_add if kp is None else (kp if bias_add is None else bias_add + kp)
    p_drop = dropout_p if training else 0.0
    weights = None
    if need_weights:  # the weights are wanted: the composed form (torch's explicit softmax)
        from chainrule.nn.functional import dropout
        from chainrule.ops.special import softmax

        s = (q @ k.mT) * (1.0 / np.sqrt(hd))
        if mask is not None:
            s = s + mask
        p = softmax(s, -1)  # a fully masked row gives nan here, as torch's need_weights path
        p = dropout(p, p_drop, training)  # torch returns the weights after dropout
        y = p @ v
        weights = p.mean(1) if average_attn_weights else p
    else:
        y = scaled_dot_product_attention(q, k, v, mask, p_drop)
    y = y.permute(0, 2, 1, 3).reshape(N, L, E)
    return linear(y, out_proj_weight, out_proj_bias), weights


def _pad_last(m):
    """m with one more position on its last axis (0: allowed, in either mask convention)."""
    from chainrule.ops.shape import concatenate

    zero = from_array(xp_of(m).zeros(tuple(m.shape[:-1]) + (1,), dtype=m.dtype))
    return concatenate([m, zero], dim=-1)
