"""The tracer: an interceptor that records one call's events, and `effect`.

It observes the kernel through its one extension point (core/mode.py's Interceptor) and writes
named records (events.py); the planner turns two such traces into a replay.
"""

import functools

import numpy as np

from chainrule.compile.events import (
    Arg,
    ArgLeaf,
    Const,
    EffectEvent,
    LeafEvent,
    Live,
    OpEvent,
    Slot,
    WriteEvent,
)
from chainrule.core import mode as _mode
from chainrule.core.backend import DEVICE_TYPES, xp_of
from chainrule.core.tensor import Tensor

_BASE_SLOTS = frozenset(("inputs", "_outputs", "_stamp", "__weakref__"))
_active = [None]  # the tracer recording now (None: none, or inside an effect)


class CompileError(RuntimeError):
    """A function cannot be traced and replayed faithfully (the message says why and where)."""


def current():
    """The tracer recording now, or None."""
    return _active[-1]


def effect(fn):
    """Mark `fn` as an effect: a compiled function calls it again, as it is, at each replay.

    While tracing, an effect runs eagerly and untraced (its own ops and in-place writes are not
    recorded), and the call is recorded. Tensor arguments are fed from the replay's values;
    other arguments are the traced call's objects. Optimizer and scheduler steps are effects.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        tracer = _active[-1]
        if tracer is None:
            return fn(*args, **kwargs)
        return tracer.effect(fn, args, kwargs)

    wrapper.__chainrule_effect__ = fn
    return wrapper


def _is_iterator(a):
    return not isinstance(a, (Tensor, np.ndarray, str, bytes)) and hasattr(a, "__next__")


def _owner(a):
    """The array that owns a's memory (a itself when it is not a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def attributes(fn):
    """(name, value) of an op's parameters: its __slots__ below Function's."""
    for cls in type(fn).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in _BASE_SLOTS and hasattr(fn, name):
                yield name, getattr(fn, name)


class Tracer(_mode.Interceptor):
    """Records one call: events in order, and where every array that ops read comes from."""

    def __init__(self, objects, arrays):
        self.events = []
        self.arg_object_of = {id(o): i for i, o in enumerate(objects)}
        self.slot_of = {}  # id(array) -> the slot of the event that produced it
        self.arg_of = {id(a): i for i, a in enumerate(arrays) if a is not None}
        self.fresh = {id(a) for a in arrays if a is not None and a.base is None}
        self.keep = list(arrays)  # arrays whose ids are keys above stay alive, ids stay unique
        self.modules = {}
        self.n_slots = 0
        self.layouts = []  # per slot: (shape, dtype, xp if a fresh C-contiguous array), buffers
        self.backprops = 0  # backward walks during the call

    # ---- recording -------------------------------------------------------------------------
    def __enter__(self):
        self._intercept = _mode.intercept(self)
        self._intercept.__enter__()
        _active.append(self)
        return self

    def __exit__(self, *exc):
        _active.pop()
        self._intercept.__exit__(*exc)
        # the arrays kept for unique ids are not needed after the call (and would hold on to
        # memory such as gradient buffers, which must look free to their owners)
        self._intercept = self.keep = self.slot_of = self.arg_of = self.fresh = None
        return False

    # ---- where an input comes from -------------------------------------------------------
    def ref(self, t, where):
        """Slot, Arg, or Live (any other tensor's data, read afresh at replay)."""
        return self._locate(t._data, where) or Live(t)

    def array_ref(self, a, where):
        """As ref, for a bare ndarray: Const when it is not traced."""
        return self._locate(a, where) or Const(a)

    def _locate(self, a, where):
        k = self.slot_of.get(id(a))
        if k is not None:
            return Slot(k)
        i = self.arg_of.get(id(a))
        if i is not None:
            return Arg(i)
        if id(_owner(a)) in self.fresh:
            raise CompileError(
                f"compile: {where} reads a NumPy view of a traced array (an argument or an "
                "op's result) made outside chainrule ops; a replay would read the traced "
                "values. Use chainrule ops (reshape, indexing, ...) on the Tensor instead")
        return None

    def _outputs(self, arrays):
        slots = []
        for y in arrays:
            k = self.n_slots
            self.n_slots += 1
            self.slot_of[id(y)] = k
            if y.base is None:
                self.fresh.add(id(y))
            self.keep.append(y)
            fresh = (type(y) is np.ndarray or type(y) in DEVICE_TYPES) and y.base is None \
                and y.flags.c_contiguous and y.dtype.kind in "biufc"
            # (shape, dtype, the namespace that makes its buffer, or None: never pooled)
            self.layouts.append((y.shape, y.dtype, xp_of(y) if fresh else None))
            slots.append(k)
        return tuple(slots)

    def _check_parameter(self, name, attr, value):
        if isinstance(value, np.ndarray):
            if id(value) in self.slot_of or id(value) in self.arg_of \
                    or id(_owner(value)) in self.fresh:
                raise CompileError(
                    f"compile: {name} keeps an array computed from the traced arguments as its "
                    f"parameter {attr!r}; a replay would reuse the traced values. Pass it to "
                    "the op as a Tensor input (or compute it outside the compiled function)")
        elif isinstance(value, (tuple, list)):
            for v in value:
                self._check_parameter(name, attr, v)
        elif isinstance(value, Tensor):
            self._check_parameter(name, attr, value._data)

    # ---- the kernel's events ---------------------------------------------------------------
    def forward(self, fn, inputs, arrays, raw, many):
        name = type(fn).__name__
        for attr, value in attributes(fn):
            self._check_parameter(name, attr, value)
        refs = tuple(self.ref(t, f"{name} (input {i})") for i, t in enumerate(inputs))
        varies = getattr(fn, "output_shape_varies", None)
        guard = tuple(a.shape for a in arrays) \
            if varies is not None and varies(*[t._data for t in inputs]) else None
        self.events.append(OpEvent(fn, refs, self._outputs(arrays), raw, many, guard))

    def leaf_grad(self, t, g, create_graph):
        grad = self.ref(g, "the gradient of a leaf")
        i = self.arg_object_of.get(id(t))
        leaf = Live(t) if i is None else ArgLeaf(i)  # a leaf passed as an argument: its place
        fits = g._data.shape == t._data.shape and g._data.dtype == t._data.dtype
        self.events.append(LeafEvent(leaf, grad, create_graph, self._outputs([t.grad._data])[0],
                                     fits))

    def write(self, op, t, kernel, value, params):
        target = self.ref(t, f"{op} (its target)")
        source = None if value is None else self.array_ref(value, f"{op} (its value)")
        self._check_parameter(op, "index", params)
        self.events.append(WriteEvent(op, t, target, kernel, source, params))

    def read(self, t, what):
        a = t._data
        if id(a) in self.slot_of or id(a) in self.arg_of or id(_owner(a)) in self.fresh:
            raise CompileError(
                f"compile: {what} reads the value of a traced tensor (shape {t.shape}) while "
                "tracing; Python would see the traced value at every replay. Return the tensor "
                "and read it outside the compiled function, or keep the computation in ops")

    def module_call(self, module):
        self.modules[id(module)] = (module, module.training)

    def intermediate_hook(self, t):
        raise CompileError("compile: a hook or retain_grad() on an intermediate tensor cannot "
                           "be traced (a replay builds no graph to run it on); register hooks "
                           "on leaves, or compute the value inside the step and return it")

    def backward(self):
        self.backprops += 1

    # ---- effects ---------------------------------------------------------------------------
    def effect(self, fn, args, kwargs):
        name = getattr(fn, "__qualname__", repr(fn))
        # an iterator argument (model.parameters()) would be spent after this call: a replay
        # passes the list it produced
        args = tuple(list(a) if _is_iterator(a) else a for a in args)
        pos = tuple((i, self.ref(a, f"effect {name}")) for i, a in enumerate(args)
                    if isinstance(a, Tensor))
        kw = tuple((k, self.ref(a, f"effect {name}")) for k, a in kwargs.items()
                   if isinstance(a, Tensor))
        _active.append(None)
        try:
            with _mode.muted():
                result = fn(*args, **kwargs)
        finally:
            _active.pop()
        slot = self._outputs([result._data])[0] if isinstance(result, Tensor) else None
        self.events.append(EffectEvent(fn, args, kwargs, pos, kw, slot))
        return result
