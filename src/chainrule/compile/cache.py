"""cr.compile's front: the traces and programs kept per argument layout, and their guards."""

import functools
import itertools
import warnings

import numpy as np

from chainrule.compile.planner import RETRACE, Mismatch, Planner, Trace, output_spec
from chainrule.compile.tracer import Tracer, _active
from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, from_array

_state = _mode.state


def compile(fn=None, *, max_traces=16):
    """A traced-and-replayed version of `fn` (usable as ``@cr.compile`` or ``cr.compile(fn)``).

    Arguments may be Tensors, NumPy arrays or hashable Python values; Tensors and arrays are
    the data a replay feeds in, the others are fixed by the trace (a new value traces again).
    Tensors that `fn` reads from outside (model parameters, optimizer state) are read afresh at
    every replay. At most `max_traces` argument layouts are kept (the oldest is dropped).
    """
    if isinstance(max_traces, bool) or not isinstance(max_traces, int) or max_traces < 1:
        raise ValueError(f"compile: max_traces must be a positive integer; got {max_traces!r}")
    if fn is None:
        return functools.partial(compile, max_traces=max_traces)
    if not callable(fn):
        raise TypeError(f"compile: expected a callable; got {type(fn).__name__}")
    return Compiled(fn, max_traces)


class _Entry:
    """What is known of one argument layout: traces awaiting a matching one, and programs."""

    __slots__ = ("pending", "programs")

    def __init__(self):
        self.pending, self.programs = [], []


class Compiled:
    """A function that is traced on its first two calls per argument layout, then replayed."""

    def __init__(self, fn, max_traces):
        self.fn, self.max_traces = fn, max_traces
        self._entries = {}  # guard key -> _Entry
        self._warned = False
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if _active[-1] is not None:  # inside another compiled function: traced by it
            return self.fn(*args, **kwargs)
        key, objects, arrays = self._key(args, kwargs)
        entry = self._entries.get(key)
        if entry is not None:
            for prog in entry.programs:
                if prog.guards_hold():  # (rebinds as it checks)
                    out = prog.run(objects, *arrays)
                    if out is not RETRACE:
                        return out
        else:
            if len(self._entries) >= self.max_traces:
                self._entries.pop(next(iter(self._entries)))
            entry = self._entries[key] = _Entry()
        return self._trace(entry, args, kwargs, objects, arrays)

    @property
    def source(self):
        """The Python of each replay built so far (one per traced argument layout and mode)."""
        return "\n".join(p.source for e in self._entries.values() for p in e.programs)

    def _key(self, args, kwargs):
        key, objects, arrays = [_state.grad_enabled, _state.default_dtype], [], []
        for v in itertools.chain(args, kwargs.values()):
            if isinstance(v, Tensor):
                a = v._data
                key.append(("T", a.shape, a.dtype, v.requires_grad, a.strides))
                objects.append(v)
                arrays.append(a)
            elif isinstance(v, np.ndarray):
                key.append(("N", v.shape, v.dtype, v.strides))
                objects.append(v)
                arrays.append(v)
            else:
                try:
                    hash(v)
                except TypeError:
                    raise TypeError(f"compile: argument of type {type(v).__name__} is neither "
                                    "a Tensor, an array nor hashable") from None
                key.append(("V", type(v), v))
        key.extend(kwargs)
        return tuple(key), objects, arrays

    def _trace(self, entry, args, kwargs, objects, arrays):
        with Tracer(objects, arrays) as tracer:
            out = self.fn(*args, **kwargs)
            spec = output_spec(out, tracer)
        if tracer.backprops == 0 and not self._warned and _needs_grad(out):
            self._warned = True
            warnings.warn(
                f"compile: {getattr(self.fn, '__name__', 'fn')} returned a tensor that requires "
                "grad without differentiating anything itself; a compiled function's results "
                "carry no graph (they are detached), so gradients taken from them outside are "
                "missing. Run backward() or autograd.grad inside the compiled function, or call "
                "it under cr.no_grad() for inference", UserWarning, stacklevel=3)
        trace = Trace(tracer, spec)
        names = [f"a{i}" for i in range(len(arrays))]
        for i, pending in enumerate(entry.pending):  # a first trace in the same module modes
            if pending.modules.keys() != trace.modules.keys() or any(
                    pending.modules[k][1] is not tr for k, (_, tr) in trace.modules.items()):
                continue
            try:
                program = Planner(pending, trace, names).plan()
            except Mismatch:  # shapes that values decide differ: not the same call
                continue
            del entry.pending[i]
            entry.programs.append(program)
            break
        else:
            entry.pending = entry.pending[-3:] + [trace]
        return _detached(out)


def _needs_grad(value):
    if isinstance(value, Tensor):
        return value.requires_grad
    if isinstance(value, (tuple, list)):
        return any(_needs_grad(v) for v in value)
    if isinstance(value, dict):
        return any(_needs_grad(v) for v in value.values())
    return False


def _detached(value):
    """fn's result as a replay returns it: Tensors without their graph."""
    if isinstance(value, Tensor):
        return value if value.grad_fn is None else from_array(value._data)
    if isinstance(value, (tuple, list)):
        return type(value)(_detached(v) for v in value)
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    return value
