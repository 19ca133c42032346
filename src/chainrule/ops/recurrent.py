"""Recurrent cells as fused pointwise ops, with torch's gate order and torch's cell functions.

A recurrent layer's step is two matrix products, the input projection gi = x W_ih^T + b_ih
(done for every step at once by the layer, as one GEMM) and the hidden projection
gh = h W_hh^T + b_hh, followed by a pointwise cell. The pointwise part of an LSTM or GRU cell is
one graph node here (instead of about a dozen), its vjp written with chainrule ops, so every
derivative of every order works:

    LSTM (gates i, f, g, o)   i, f, o = sigmoid(.), g = tanh(.) of the chunks of gi + gh
                              c' = f c + i g,   h' = o tanh(c')
    GRU (gates r, z, n)       r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z)
                              n = tanh(gi_n + r gh_n),  h' = (1 - z) n + z h

`lstm_cell`, `gru_cell`, `rnn_tanh_cell` and `rnn_relu_cell` are torch's functions of the same
names (torch.lstm_cell, ...): one step from (input, hidden, weights).
"""

import numpy as np

from chainrule.core.backend import xp_of
from chainrule.core.function import Function
from chainrule.core.tensor import from_array
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.elementwise import relu, tanh
from chainrule.ops.nn_ops import linear
from chainrule.ops.registry import op
from chainrule.ops.shape import concatenate, split
from chainrule.ops.special import sigmoid


def _sigmoid(x):
    """1 / (1 + e^-x) as 0.5 (1 + tanh(x / 2)): the same function, and no overflow."""
    y = np.multiply(x, 0.5)
    np.tanh(y, out=y)
    y += 1
    y *= 0.5
    return y


class LSTMPointwise(Function):
    """(h', c') = (o tanh c', f c + i g), [i f g o] = [σ σ tanh σ](gi + gh);
    dc = g_c + g_h o (1 - tanh² c'),  d[i f g o] = [dc g i(1-i), dc c f(1-f), dc i (1-g²),
    g_h tanh(c') o(1-o)] for both gi and gh,  dc_prev = dc f"""

    __slots__ = ()

    def forward(self, gi, gh, c):
        a = gi + gh
        H = c.shape[-1]
        s = _sigmoid(a)
        i, f, o = s[..., :H], s[..., H:2 * H], s[..., 3 * H:]
        g = np.tanh(a[..., 2 * H:3 * H])
        c2 = f * c
        c2 += i * g
        h2 = np.tanh(c2)
        h2 *= o
        return h2, c2

    def vjp(self, gs):
        g_h, g_c = gs
        gi, gh, c = self.inputs
        H = c.shape[-1]
        ai, af, ag, ao = split(gi + gh, H, -1)
        i, f, g, o = sigmoid(ai), sigmoid(af), tanh(ag), sigmoid(ao)
        c2 = self.outputs[1]
        if c2 is None:  # (not kept alive by the graph above: recompute it)
            c2 = f * c + i * g
        tc = tanh(c2)
        if g_h is None:  # only c' is used: the output gate gets no gradient
            dc, do = g_c, from_array(xp_of(c).zeros(c.shape, c.dtype))
        else:
            dc = g_h * o * (1 - tc * tc)
            dc = dc if g_c is None else dc + g_c
            do = g_h * tc * o * (1 - o)
        da = concatenate([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g), do],
                         -1)
        return da, da, dc * f


class GRUPointwise(Function):
    """h' = n + z (h - n), r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r gh_n);
    dn = g (1 - z)(1 - n²), dz = g (h - n) z(1-z), dr = dn gh_n r(1-r):
    dgi = [dr dz dn], dgh = [dr dz dn r], dh = g z"""

    __slots__ = ()

    def forward(self, gi, gh, h):
        H = h.shape[-1]
        rz = _sigmoid(gi[..., :2 * H] + gh[..., :2 * H])
        r, z = rz[..., :H], rz[..., H:]
        n = r * gh[..., 2 * H:]
        n += gi[..., 2 * H:]
        np.tanh(n, out=n)
        out = h - n
        out *= z
        out += n
        return out

    def vjp(self, g):
        gi, gh, h = self.inputs
        H = h.shape[-1]
        ir, iz, in_ = split(gi, H, -1)
        hr, hz, hn = split(gh, H, -1)
        r, z = sigmoid(ir + hr), sigmoid(iz + hz)
        n = tanh(in_ + r * hn)
        dn = g * (1 - z) * (1 - n * n)
        dz = g * (h - n) * z * (1 - z)
        dr = dn * hn * r * (1 - r)
        return concatenate([dr, dz, dn], -1), concatenate([dr, dz, dn * r], -1), g * z


def lstm_pointwise(gi, gh, c):
    """(h', c') of an LSTM step from its two projections gi, gh (N, 4H) and its cell c (N, H)."""
    return LSTMPointwise()(gi, gh, c)


def gru_pointwise(gi, gh, h):
    """h' of a GRU step from its two projections gi, gh (N, 3H) and its state h (N, H)."""
    return GRUPointwise()(gi, gh, h)


def _step_args(name, input, hx, w_ih, w_hh, gates):
    x, h = to_tensor(input), to_tensor(hx)
    H = w_hh.shape[-1]
    if w_ih.ndim != 2 or w_hh.ndim != 2 or w_ih.shape[0] != gates * H or \
            w_hh.shape != (gates * H, H):
        raise ValueError(f"{name}: weights must be w_ih ({gates} hidden_size, input_size) and "
                         f"w_hh ({gates} hidden_size, hidden_size); got {w_ih.shape} and "
                         f"{w_hh.shape}")
    if x.ndim not in (1, 2) or x.shape[-1] != w_ih.shape[1]:
        raise ValueError(f"{name}: input must be (N, input_size={w_ih.shape[1]}) or "
                         f"({w_ih.shape[1]},); got {x.shape}")
    want = x.shape[:-1] + (H,)
    if h.shape != want:
        raise ValueError(f"{name}: hidden state must have shape {want}; got {h.shape}")
    return x, h


@op(returns="tuple", classes=(LSTMPointwise,))
def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step (torch.lstm_cell): hx = (h, c) -> (h', c'), gates i, f, g, o."""
    h, c = hx
    x, h = _step_args("lstm_cell", input, h, w_ih, w_hh, 4)
    c = to_tensor(c)
    if c.shape != h.shape:
        raise ValueError(f"lstm_cell: cell state must have shape {h.shape}; got {c.shape}")
    return lstm_pointwise(linear(x, w_ih, b_ih), linear(h, w_hh, b_hh), c)


@op(classes=(GRUPointwise,))
def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step (torch.gru_cell): h' = (1 - z) n + z h, gates r, z, n."""
    x, h = _step_args("gru_cell", input, hx, w_ih, w_hh, 3)
    return gru_pointwise(linear(x, w_ih, b_ih), linear(h, w_hh, b_hh), h)


@op()
def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step (torch.rnn_tanh_cell): h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    x, h = _step_args("rnn_tanh_cell", input, hx, w_ih, w_hh, 1)
    return tanh(linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh))


@op()
def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One ReLU RNN step (torch.rnn_relu_cell): h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    x, h = _step_args("rnn_relu_cell", input, hx, w_ih, w_hh, 1)
    return relu(linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh))
