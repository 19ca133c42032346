"""Flat buffers: a parameter group's parameters, gradients and optimizer state, one array each.

When every parameter of a group is a view into one array, every gradient a view into another
and every state tensor (Adam's moments, ...) a view into a third, an optimizer's update is a
dozen in-place NumPy passes over the whole group instead of a dozen per parameter.

What users see does not change: ``p.data`` holds the parameter's values, ``p.grad`` its
gradient, ``opt.state[p]["exp_avg"]`` its moment; they are views. Each parameter's gradient
view is offered to the engine through its grad sink protocol (core/engine.py): a `GradSlot`
gives the engine that memory for the parameter's first gradient of a backward, but only while
nobody else can see it (a gradient handed out before `zero_grad()` and still held keeps its
values, as in PyTorch); the engine then copies into it, or a vjp computes straight into it.
Whatever breaks the layout (a parameter without a gradient, a gradient from elsewhere, state
loaded from a state_dict) sends that step down the per-parameter path, which computes the same
update with the same code; loaded state and replaced parameter data are copied back in
("adopted") so the next step is flat again.
"""

import sys

import numpy as np

from chainrule.core.backend import to_host, to_like, xp_of
from chainrule.core.engine import set_grad_sink
from chainrule.core.tensor import Tensor, from_array

# Whether a view is seen by anyone else is read from reference counts (exact on CPython with
# the GIL); elsewhere a slot never offers its memory and the engine copies every gradient.
_REFCOUNTS_EXACT = hasattr(sys, "getrefcount") and (
    not hasattr(sys, "_is_gil_enabled") or sys._is_gil_enabled())


class GradSlot:
    """One parameter's gradient memory (a view of its group's flat gradient buffer): the grad
    sink the optimizer installs on the parameter for the engine.

    The memory is free when nothing but the optimizer references it. The optimizer keeps
    exactly one reference to each view (this slot's) and the buffer is referenced by the group,
    by each view (its base) and by each slot, so with nothing else holding them the counts are
    2 for a view and 2 n + 2 for the buffer of n views (each count includes getrefcount's own
    argument). A gradient Tensor still held, its array, or any view of the buffer adds to them.
    """

    __slots__ = ("view", "flat", "flat_refs")

    def __init__(self, view, flat, n):
        self.view, self.flat, self.flat_refs = view, flat, 2 * n + 2

    def free(self):
        """Whether nothing outside the optimizer can see this memory."""
        return _REFCOUNTS_EXACT and sys.getrefcount(self.view) == 2 \
            and sys.getrefcount(self.flat) == self.flat_refs

    def memory(self, t):
        """The view, for the engine to compute t's first gradient into, if it is free (and on
        t's device: after Module.to the optimizer rebuilds its buffers at the next step)."""
        return self.view if type(t._data) is type(self.view) and self.free() else None

    def first_grad(self, t, g):
        """The Tensor to become t.grad: over the view (g's values copied in, unless a vjp wrote
        them there already), or None when the view is not free."""
        a = g._data
        if a is not self.view:
            if a.shape != self.view.shape or a.dtype != self.view.dtype \
                    or type(a) is not type(self.view) or not self.free():
                return None
            np.copyto(self.view, a)
        return from_array(self.view)


class FlatGroup:
    """The flat buffers of one parameter group (all parameters of one floating dtype)."""

    __slots__ = ("params", "shapes", "bounds", "dtype", "data", "data_views", "grad", "slots",
                 "state")

    def __init__(self, params):
        self.params = list(params)
        self.dtype = self.params[0]._data.dtype
        self.shapes = [p._data.shape for p in self.params]
        self.bounds = np.cumsum([0] + [p._data.size for p in self.params]).tolist()
        first = self.params[0]._data
        if len(self.params) == 1 and first.flags.c_contiguous and first.flags.writeable:
            # one parameter: its own array is already flat, nothing moves
            self.data, self.data_views = first.reshape(-1), [first]
        else:
            self.data = xp_of(first).empty(self.bounds[-1], self.dtype)
            self.data_views = self._views(self.data)
            for p, view in zip(self.params, self.data_views):
                np.copyto(view, p._data)
                p._data = view  # same values: graphs recorded earlier stay valid
        self.grad = xp_of(first).zeros(self.bounds[-1], self.dtype)
        n = len(self.params)
        self.slots = [GradSlot(v, self.grad, n) for v in self._views(self.grad)]
        for p, slot in zip(self.params, self.slots):
            set_grad_sink(p, slot)
        self.state = {}  # state name -> (flat array, its views, a Tensor of the flat array)

    @staticmethod
    def eligible(params):
        """Whether params can share flat buffers: at least one, all of one floating dtype, all
        on one device."""
        return bool(params) and len({p._data.dtype for p in params}) == 1 \
            and params[0]._data.dtype.kind == "f" and len({type(p._data) for p in params}) == 1

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
        get = state.get
        for p, own, data, slot in zip(params, self.params, self.data_views, self.slots):
            if p is not own or (p._data is not data and not self._adopt_data(p, data)):
                return None
            g = p.grad
            if g is None or g._data is not slot.view:
                return None
            states.append(get(p))
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
                    state[p][key] = from_array(view)
            else:
                for p in self.params:
                    state[p][key] = value

    def _own(self, key, flat):
        """Make `flat` the group's buffer for state `key`: (flat, its views, a Tensor of it)."""
        self.state[key] = (flat, self._views(flat), from_array(flat))

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
            self._own(key, xp_of(self.data).empty(self.bounds[-1], self.dtype))
        for p, v, view in zip(params, values, self.state[key][1]):
            if v._data is not view:
                a = v._data  # (state loaded on the host joins the buffers' device)
                np.copyto(view, a if type(a) is type(view) else to_like(to_host(a), view))
                state[p][key] = from_array(view)
        return True
