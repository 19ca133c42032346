"""Attention layers: MultiheadAttention (torch's parameter layout), RMSNorm and the sinusoidal
positional encoding as a module.

MultiheadAttention computes, per head h,  head_h = softmax(Q_h K_h^T / sqrt(d) + mask) V_h
with Q = query W_q^T + b_q (likewise K, V), then y = concat(heads) W_o^T + b_o.
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.nn import functional_attention as FA
from chainrule.nn import init
from chainrule.nn.layers.linear import Linear
from chainrule.nn.module import Module, Parameter
from chainrule.ops.arithmetic import to_tensor


def _empty(*shape):
    return np.empty(shape, dtype=_mode.state.default_dtype)


class NonDynamicallyQuantizableLinear(Linear):
    """Linear under torch's name for MultiheadAttention.out_proj (the same layer)."""


class MultiheadAttention(Module):
    """Multi-head attention with torch's parameters: in_proj_weight (3E, E) packed when
    kdim == vdim == embed_dim (else q_proj_weight, k_proj_weight, v_proj_weight), in_proj_bias
    (3E,), out_proj (a Linear), optional bias_k/bias_v (add_bias_kv) and a zero key
    (add_zero_attn). Initialised as torch: xavier_uniform_ projections, zero biases.

    forward(query, key, value) takes (L, N, E) sequences ((N, L, E) with batch_first, or
    unbatched (L, E)) and returns (output, attention weights averaged over heads, or per head
    with average_attn_weights=False; None with need_weights=False). Bool masks: True = not
    allowed to attend; float masks are added to the scores.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if not isinstance(embed_dim, int) or embed_dim <= 0 or not isinstance(num_heads, int) \
                or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive "
                             f"integers; got {embed_dim!r}, {num_heads!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads; "
                             f"got embed_dim={embed_dim}, num_heads={num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(_empty(3 * E, E))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(_empty(E, E))
            self.k_proj_weight = Parameter(_empty(E, self.kdim))
            self.v_proj_weight = Parameter(_empty(E, self.vdim))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(_empty(3 * E))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias)
        if add_bias_kv:
            self.bias_k = Parameter(_empty(1, 1, E))
            self.bias_v = Parameter(_empty(1, 1, E))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        same = query is key and key is value
        query = to_tensor(query)
        key, value = (query, query) if same else (to_tensor(key), to_tensor(value))
        name = "MultiheadAttention"
        if query.ndim not in (2, 3):
            layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
            raise ValueError(f"{name}: query must be 3-D {layout} (batch_first="
                             f"{self.batch_first}) or 2-D (L, E) unbatched; got shape "
                             f"{query.shape}")
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: query, key and value must have the same rank; got "
                             f"{query.shape}, {key.shape}, {value.shape}")
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = to_tensor(key_padding_mask).unsqueeze(0)
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if same:
            key = value = query
        for t, n, what in ((query, self.embed_dim, "query"), (key, self.kdim, "key"),
                           (value, self.vdim, "value")):
            if t.shape[-1] != n:
                raise ValueError(f"{name}: {what}'s last dim must be {n}; got shape "
                                 f"{t.shape}")
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError(f"{name}: key and value must have the same batch and length, and "
                             f"the query's batch; got query {query.shape}, key {key.shape}, "
                             f"value {value.shape} (batch first)")
        y, w = FA.multi_head_attention_forward(
            query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight,
            self.out_proj.bias, self.training, key_padding_mask, need_weights, attn_mask,
            self.q_proj_weight, self.k_proj_weight, self.v_proj_weight, average_attn_weights,
            is_causal and attn_mask is None)
        if unbatched:
            return y[0], (None if w is None else w[0])
        return (y if self.batch_first else y.transpose(0, 1)), w

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight over the trailing normalized_shape axes
    (weight = 1; eps=None: the dtype's machine epsilon, as torch)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype=dtype or _mode.state.default_dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        """weight = 1."""
        if self.weight is not None:
            self.weight._data[...] = 1

    def forward(self, input):
        return FA.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class SinusoidalPositionalEncoding(Module):
    """y = x + PE[:T] for x (..., T, dim): the fixed sinusoidal table
    PE(pos, 2i) = sin(pos / 10000^(2i/dim)), PE(pos, 2i+1) = cos(...), kept as buffer `pe`
    (max_len, dim); with batch_first=False, x is (T, N, dim) as torch's sequence layout."""

    def __init__(self, dim, max_len=5000, batch_first=True):
        super().__init__()
        self.dim, self.max_len, self.batch_first = dim, max_len, batch_first
        self.register_buffer("pe", FA.sinusoidal_positional_encoding(max_len, dim)._data)

    def forward(self, x):
        x = to_tensor(x)
        T = x.shape[-2] if self.batch_first else x.shape[0]
        if T > self.max_len or x.shape[-1] != self.dim:
            raise ValueError(f"SinusoidalPositionalEncoding: expected (..., T, {self.dim}) with "
                             f"T <= max_len={self.max_len}; got shape {x.shape}")
        pe = self.pe[:T].detach()
        if pe.dtype != x.dtype:
            pe = pe.astype(x.dtype)
        return x + (pe if self.batch_first else pe.unsqueeze(1))

    def extra_repr(self):
        return f"dim={self.dim}, max_len={self.max_len}"

