"""Flat buffers: a parameter group's parameters, gradients and optimizer state, one array each.

When every parameter of a group is a view into one array, every gradient a view into another
and every state tensor (Adam's moments, ...) a view into a third, an optimizer's update is a
dozen in-place NumPy passes over the whole group instead of a dozen per parameter.

What users see does not change: ``p.data`` holds the parameter's values, ``p.grad`` its
gradient, ``opt.state[p]["exp_avg"]`` its moment; they are views. The engine writes a first
gradient into its view through a `GradBuffer` (only while nobody holds the previous gradient).
Whatever breaks the layout (a parameter without a gradient, a gradient from elsewhere, state
loaded from a state_dict) sends that step down the per-parameter path, which computes the same
update with the same code; loaded state and replaced parameter data are copied back in
("adopted") so the next step is flat again.
"""

import numpy as np

from chainrule.core.engine import GradBuffer
from chainrule.core.tensor import Tensor, _extra, make


class FlatGroup:
    """The flat buffers of one parameter group (all parameters of one floating dtype)."""

    __slots__ = ("params", "shapes", "bounds", "dtype", "data", "data_views", "grad",
                 "grad_views", "buffers", "state")

    def __init__(self, params):
        self.params = list(params)
        self.dtype = self.params[0]._data.dtype
        self.shapes = [p._data.shape for p in self.params]
        self.bounds = np.cumsum([0] + [p._data.size for p in self.params]).tolist()
        first = self.params[0]._data
        if len(self.params) == 1 and first.flags.c_contiguous:
            # one parameter: its own array is already flat, nothing moves
            self.data, self.data_views = first.reshape(-1), [first]
        else:
            self.data = np.empty(self.bounds[-1], self.dtype)
            self.data_views = self._views(self.data)
            for p, view in zip(self.params, self.data_views):
                np.copyto(view, p._data)
                p._data = view  # same values: graphs recorded earlier stay valid
        self.grad = np.zeros(self.bounds[-1], self.dtype)
        self.grad_views = self._views(self.grad)
        self.buffers = [GradBuffer(v) for v in self.grad_views]
        for p, buf in zip(self.params, self.buffers):
            _extra(p)["grad_buffer"] = buf
        for buf in self.buffers:
            buf.calibrate()
        self.state = {}  # state name -> (flat array, its views, a Tensor of the flat array)

    @staticmethod
    def eligible(params):
        """Whether params can share flat buffers: at least one, all of one floating dtype."""
        return bool(params) and len({p._data.dtype for p in params}) == 1 \
            and params[0]._data.dtype.kind == "f"

    def _views(self, flat):
        b = self.bounds
        return [flat[b[i]:b[i + 1]].reshape(s) for i, s in enumerate(self.shapes)]

    # ---- one update of the whole group -------------------------------------------------
    def target(self, params, state):
        """(data, grad, state) to update the whole group at once, or None if the layout broke.

        The state dict holds the entries every parameter's state shares: each state tensor as
        one Tensor over its flat buffer, and the scalars (``step``), which must agree.
        """
        if len(params) != len(self.params):
            return None
        states = []
        for p, own, data, grad in zip(params, self.params, self.data_views, self.grad_views):
            if p is not own:
                return None
            if p._data is not data and not self._adopt_data(p, data):
                return None
            g = p.grad
            if g is None or g._data is not grad:
                return None
            states.append(state.get(p))
        first = states[0]
        if not first:  # no state yet: the update creates it for the whole group
            return None if any(states) else (self.data, self.grad, {})
        shared = {}
        try:
            for key, value in first.items():
                if isinstance(value, Tensor):
                    own = self.state.get(key)
                    if own is None or any(st[key]._data is not v
                                          for st, v in zip(states, own[1])):
                        if not self._adopt_state(key, params, states, state):
                            return None
                        own = self.state[key]
                    shared[key] = own[2]
                elif all(st[key] == value for st in states):
                    shared[key] = value
                else:
                    return None
        except (KeyError, AttributeError):  # a parameter lacks a key, or holds a non-Tensor
            return None
        if any(len(st) != len(first) for st in states):
            return None
        return self.data, self.grad, shared

    def commit(self, shared, state):
        """Write the group update's state back: scalars to every parameter, new state tensors
        (created during the update, over the whole group) split into per-parameter views."""
        for key, value in shared.items():
            if isinstance(value, Tensor):
                own = self.state.get(key)
                if own is not None and value is own[2]:
                    continue  # updated in place; target() checked every view
                self._own(key, value._data)  # created over the whole group: 1-D, contiguous
                for p, view in zip(self.params, self.state[key][1]):
                    state[p][key] = make(view)
            else:
                for p in self.params:
                    state[p][key] = value

    def _own(self, key, flat):
        """Make `flat` the group's buffer for state `key`: (flat, its views, a Tensor of it)."""
        self.state[key] = (flat, self._views(flat), make(flat))

    # ---- adopting arrays that were replaced --------------------------------------------
    def _adopt_data(self, p, view):
        """Copy a parameter's replaced data back into its view (same shape and dtype only)."""
        if p._data.shape != view.shape or p._data.dtype != view.dtype:
            return False
        np.copyto(view, p._data)
        p._data = view
        return True

    def _adopt_state(self, key, params, states, state):
        """Copy each parameter's state tensor `key` into the group's flat buffer for it and
        replace the tensor by a view (state loaded from a state_dict, or made per parameter)."""
        values = [st[key] for st in states]
        if any(not isinstance(v, Tensor) or v._data.shape != s or v._data.dtype != self.dtype
               for v, s in zip(values, self.shapes)):
            return False
        if key not in self.state:
            self._own(key, np.empty(self.bounds[-1], self.dtype))
        for p, v, view in zip(params, values, self.state[key][1]):
            if v._data is not view:
                np.copyto(view, v._data)
                state[p][key] = make(view)
        return True
