"""Recurrent layers: RNN (tanh/relu), LSTM, GRU and their cells, with torch's constructors,
parameter names (weight_ih_l{k}[_reverse], ...), gate order (LSTM i, f, g, o; GRU r, z, n),
initialisation U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) and shapes, so torch state_dicts
load by name.

One layer and direction runs as: the input projection of every step, x W_ih^T + b_ih, as one
GEMM; then a Python loop over the steps of h W_hh^T + b_hh and the fused pointwise cell
(chainrule/ops/recurrent.py). A PackedSequence is run as torch runs it: at step t only the
first batch_sizes[t] sequences (sorted by length) are running, so a finished sequence's state
stays at its last valid step and a reverse direction starts at each sequence's own last step.
"""

import math
import warnings

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.backend import xp_of
from chainrule.core.tensor import from_array
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter
from chainrule.nn.utils.rnn import PackedSequence
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.elementwise import relu, tanh
from chainrule.ops.nn_ops import linear
from chainrule.ops.recurrent import gru_pointwise, lstm_pointwise
from chainrule.ops.shape import concatenate, split, stack

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _dtype(name, device, dtype):
    from chainrule._device import check_device

    check_device(name, device)
    return np.dtype(_mode.state.default_dtype if dtype is None else dtype)


def _positive(name, what, n):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name}: {what} must be a positive integer; got {n!r}")


def _step(mode, gi, h, c, w_hh, b_hh):
    """One step of one direction: (h', c') from the input projection gi and the state."""
    gh = linear(h, w_hh, b_hh)
    if mode == "LSTM":
        return lstm_pointwise(gi, gh, c)
    if mode == "GRU":
        return gru_pointwise(gi, gh, h), None
    return (tanh(gi + gh) if mode == "RNN_TANH" else relu(gi + gh)), None


def _run_direction(mode, pieces, sizes, h, c, w_hh, b_hh, reverse):
    """Run the steps (pieces[t]: the input projections of the sizes[t] running sequences);
    returns the per-step outputs (in time order) and the final (h, c)."""
    outs = [None] * len(pieces)
    batch = h.shape[0]
    for t in (reversed(range(len(pieces))) if reverse else range(len(pieces))):
        n = sizes[t]
        if n == batch:
            h, c = _step(mode, pieces[t], h, c, w_hh, b_hh)
            outs[t] = h
            continue
        # only the first n sequences (sorted by length) are running: the others keep their state
        hn, cn = _step(mode, pieces[t], h[:n], None if c is None else c[:n], w_hh, b_hh)
        outs[t] = hn
        h = concatenate([hn, h[n:]], 0)
        if c is not None:
            c = concatenate([cn, c[n:]], 0)
    return outs, h, c


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None,
                 dtype=None):
        super().__init__()
        name = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"{name}: unknown mode {mode!r}; expected one of {list(_GATES)}")
        for what, n in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            _positive(name, what, n)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1]; got {dropout!r}")
        if dropout and num_layers == 1:  # torch warns the same way
            warnings.warn(f"{name}: dropout={dropout} adds dropout between layers, so with "
                          "num_layers=1 it does nothing", UserWarning, stacklevel=3)
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size={proj_size} (LSTM with projections) "
                                      "is not implemented in chainrule; use proj_size=0")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, 0
        dtype = _dtype(name, device, dtype)
        gates = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            for d in range(directions):
                width = input_size if layer == 0 else hidden_size * directions
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (gates, width)), ("weight_hh", (gates, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                for what, shape in shapes:
                    setattr(self, what + suffix, Parameter(np.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(what + suffix)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (as torch)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self):
        """Does nothing (torch compacts its cuDNN weight buffer here; there is none)."""

    def _weights(self, layer, d):
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        get = self._parameters.get
        return (get("weight_ih" + suffix), get("weight_hh" + suffix), get("bias_ih" + suffix),
                get("bias_hh" + suffix))

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim not in (2, 3):
            layout = "(N, L, input_size)" if self.batch_first else "(L, N, input_size)"
            raise ValueError(f"{name}: expected input of 2 dimensions (unbatched: (L, "
                             f"input_size)) or 3 (batched: {layout} with batch_first="
                             f"{self.batch_first}); got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must equal input_size="
                             f"{self.input_size}; got input of shape {x.shape} "
                             f"({x.shape[-1]} features)")
        w = self.weight_ih_l0
        if x.dtype != w.dtype:  # torch refuses mixed dtypes too
            raise TypeError(f"{name}: input dtype {x.dtype} differs from the weights' dtype "
                            f"{w.dtype}; convert the input (x.to({w.dtype})) or the module "
                            f"(module.to({x.dtype}))")

    def _check_state(self, what, state, batch, batched, input_shape):
        name = type(self).__name__
        directions = 2 if self.bidirectional else 1
        want = (self.num_layers * directions, batch, self.hidden_size)
        state = to_tensor(state)
        if not batched:
            want = (want[0], want[2])
        if tuple(state.shape) != want:
            where = ("dim 0 with batch_first=True" if self.batch_first else
                     "dim 1 with batch_first=False") if batched else "unbatched: no batch dim"
            if input_shape is None:
                input_shape, where = "PackedSequence", "batch_sizes[0]"
            raise ValueError(f"{name}: expected {what} of shape {want} (num_layers * "
                             f"num_directions, batch, hidden_size); got {state.shape} (the "
                             f"batch size {batch} is read from the input {input_shape}, "
                             f"{where})")
        if state.dtype != self.weight_ih_l0.dtype:
            raise TypeError(f"{name}: {what} dtype {state.dtype} differs from the weights' dtype "
                            f"{self.weight_ih_l0.dtype}")
        return state if batched else state.unsqueeze(1)

    def forward(self, input, hx=None):
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            sizes = [int(n) for n in batch_sizes.numpy()]
            batch, batched, shape = sizes[0], True, None
            self._check_input(data.unsqueeze(0))
            x = data
        else:
            x = to_tensor(input)
            self._check_input(x)
            batched, shape = x.ndim == 3, x.shape
            if not batched:
                x = x.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
            steps, batch = x.shape[0], x.shape[1]
            if steps == 0:
                raise ValueError(f"{name}: the sequence length must be positive; got input of "
                                 f"shape {shape}")
            sizes = [batch] * steps
            x = x.reshape(steps * batch, self.input_size)
            sorted_indices = unsorted_indices = None
        directions = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        if hx is None:
            zeros = from_array(xp_of(x).zeros((self.num_layers * directions, batch,
                                               self.hidden_size), dtype=x.dtype))
            h0, c0 = zeros, (zeros if lstm else None)
        elif lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0); got "
                                f"{type(hx).__name__}")
            h0 = self._check_state("h_0", hx[0], batch, batched, shape)
            c0 = self._check_state("c_0", hx[1], batch, batched, shape)
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"{name}: hx must be a Tensor h_0 (only LSTM takes (h_0, c_0))")
            h0, c0 = self._check_state("h_0", hx, batch, batched, shape), None
        if sorted_indices is not None and hx is not None:  # into the packed (sorted) order
            h0 = h0[:, sorted_indices]
            c0 = None if c0 is None else c0[:, sorted_indices]
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for d in range(directions):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                pieces = split(linear(x, w_ih, b_ih), sizes, 0)  # every step's x W_ih^T, one GEMM
                k = layer * directions + d
                outs, h, c = _run_direction(self.mode, pieces, sizes, h0[k],
                                            None if c0 is None else c0[k], w_hh, b_hh, d == 1)
                outputs.append(concatenate(outs, 0) if len(outs) > 1 else outs[0])
                h_n.append(h)
                c_n.append(c)
            x = outputs[0] if directions == 1 else concatenate(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if lstm else None
        if packed:
            if unsorted_indices is not None:
                h_n = h_n[:, unsorted_indices]
                c_n = None if c_n is None else c_n[:, unsorted_indices]
            output = PackedSequence(x, batch_sizes, sorted_indices, unsorted_indices)
        else:
            output = x.reshape(len(sizes), batch, x.shape[-1])
            if not batched:
                output, h_n = output.squeeze(1), h_n.squeeze(1)
                c_n = None if c_n is None else c_n.squeeze(1)
            elif self.batch_first:
                output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), per layer
    and direction; returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu'; got "
                             f"{nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o = σ, σ, tanh, σ of x W_ih^T + b_ih + h W_hh^T
    + b_hh; c_t = f c_{t-1} + i g, h_t = o tanh(c_t); returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = σ(.), n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h_t = (1 - z) n + z h_{t-1}; returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)


class RNNCellBase(Module):
    """One step of a recurrence: parameters weight_ih, weight_hh, bias_ih, bias_hh."""

    gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        _positive(name, "input_size", input_size)
        _positive(name, "hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = _dtype(name, device, dtype)
        G = self.gates * hidden_size
        self.weight_ih = Parameter(np.empty((G, input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((G, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(G, dtype=dtype))
            self.bias_hh = Parameter(np.empty(G, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def _check(self, input, hx, what="hx"):
        name = type(self).__name__
        x = to_tensor(input)
        if x.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input of 1 dimension (input_size,) or 2 "
                             f"(batch, input_size); got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must equal input_size="
                             f"{self.input_size}; got input of shape {x.shape}")
        if x.dtype != self.weight_ih.dtype:
            raise TypeError(f"{name}: input dtype {x.dtype} differs from the weights' dtype "
                            f"{self.weight_ih.dtype}")
        want = x.shape[:-1] + (self.hidden_size,)
        if hx is None:
            return x, from_array(xp_of(x).zeros(want, dtype=x.dtype))
        hx = to_tensor(hx)
        if tuple(hx.shape) != want:
            raise ValueError(f"{name}: expected {what} of shape {want} (batch, hidden_size) "
                             f"for input of shape {x.shape}; got {hx.shape}")
        return x, hx

    def _projections(self, x, h):
        return linear(x, self.weight_ih, self.bias_ih), linear(h, self.weight_hh, self.bias_hh)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu); h defaults to zeros."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu'; got "
                             f"{nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        x, h = self._check(input, hx)
        gi, gh = self._projections(x, h)
        return tanh(gi + gh) if self.nonlinearity == "tanh" else relu(gi + gh)


class LSTMCell(RNNCellBase):
    """(h', c') = (o tanh c', f c + i g), gates i, f, g, o; (h, c) default to zeros."""

    gates = 4

    def forward(self, input, hx=None):
        if hx is None:
            x, h = self._check(input, None)
            c = h
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("LSTMCell: hx must be a tuple (h, c)")
            x, h = self._check(input, hx[0], "h")
            _, c = self._check(input, hx[1], "c")
        return lstm_pointwise(*self._projections(x, h), c)


class GRUCell(RNNCellBase):
    """h' = (1 - z) n + z h, gates r, z, n (n = tanh(W_in x + b_in + r (W_hn h + b_hn)))."""

    gates = 3

    def forward(self, input, hx=None):
        x, h = self._check(input, hx)
        return gru_pointwise(*self._projections(x, h), h)


__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]
