"""Op-table rows of the recurrent family (chainrule/ops/recurrent.py): one step of an LSTM, a GRU
and an Elman RNN (tanh and relu), batched and unbatched, with and without biases: forward
against NumPy written from the cell equations, gradcheck and gradgradcheck in float64, torch's
functions of the same names (torch.lstm_cell, ...) live and through tests/golden/recurrent.npz
(tools/golden/recurrent.py)."""

import numpy as np

import chainrule as cr
from tests.core.op_table import OPS, row

ROWS = []  # this family's rows (the golden file holds PyTorch's results for those with torch)
N, I, H = 2, 3, 2


def _row(id, fn, ref, shapes, torch_fn=None):
    row(id, fn, ref, shapes, torch=torch_fn)
    ROWS.append(OPS[-1])


def _sig(x):
    return 1 / (1 + np.exp(-x))


def ref_lstm(x, h, c, Wi, Wh, bi=0.0, bh=0.0):
    a = x @ Wi.T + bi + h @ Wh.T + bh
    i, f, g, o = np.split(a, 4, axis=-1)
    c2 = _sig(f) * c + _sig(i) * np.tanh(g)
    return _sig(o) * np.tanh(c2), c2


def ref_gru(x, h, Wi, Wh, bi=0.0, bh=0.0):
    ir, iz, in_ = np.split(x @ Wi.T + bi, 3, axis=-1)
    hr, hz, hn = np.split(h @ Wh.T + bh, 3, axis=-1)
    r, z = _sig(ir + hr), _sig(iz + hz)
    n = np.tanh(in_ + r * hn)
    return (1 - z) * n + z * h


def ref_rnn(act):
    return lambda x, h, Wi, Wh, bi=0.0, bh=0.0: act(x @ Wi.T + bi + h @ Wh.T + bh)


def _torch(name):
    def f(x, h, *rest):
        import torch

        fn = getattr(torch, name)
        if x.ndim == 1:  # torch's functions take a batch (its cell modules add one)
            y = f(x[None], h[None], *((rest[0][None],) + rest[1:] if name == "lstm_cell"
                                      else rest))
            return tuple(t[0] for t in y) if isinstance(y, tuple) else y[0]
        if name == "lstm_cell":
            return fn(x, (h, rest[0]), *rest[1:])
        return fn(x, h, *rest)

    return f


def _lstm(x, h, c, *w):
    return cr.lstm_cell(x, (h, c), *w)


for batch, tag in (((N,), ""), ((), "_unbatched")):
    _row(f"lstm_cell{tag}", _lstm, ref_lstm,
         (batch + (I,), batch + (H,), batch + (H,), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,)),
         _torch("lstm_cell"))
    _row(f"gru_cell{tag}", cr.gru_cell, ref_gru,
         (batch + (I,), batch + (H,), (3 * H, I), (3 * H, H), (3 * H,), (3 * H,)),
         _torch("gru_cell"))
_row("lstm_cell_nobias", _lstm, ref_lstm, ((N, I), (N, H), (N, H), (4 * H, I), (4 * H, H)),
     _torch("lstm_cell"))
_row("gru_cell_nobias", cr.gru_cell, ref_gru, ((N, I), (N, H), (3 * H, I), (3 * H, H)),
     _torch("gru_cell"))
_row("rnn_tanh_cell", cr.rnn_tanh_cell, ref_rnn(np.tanh),
     ((N, I), (N, H), (H, I), (H, H), (H,), (H,)), _torch("rnn_tanh_cell"))
_row("rnn_relu_cell", cr.rnn_relu_cell, ref_rnn(lambda a: np.maximum(a, 0)),
     ((N, I), (N, H), (H, I), (H, H), (H,), (H,)), _torch("rnn_relu_cell"))
# only the cell state used: the output gate gets no gradient (the vjp's other branch)
_row("lstm_cell_c_only", lambda *a: _lstm(*a)[1], lambda *a: ref_lstm(*a)[1],
     ((N, I), (N, H), (N, H), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,)),
     lambda *a: _torch("lstm_cell")(*a)[1])
