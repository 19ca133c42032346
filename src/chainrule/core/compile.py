"""Trace and replay: record the primitive calls of one call of a function, then replay them.

``step = cr.compile(step_fn)`` runs ``step_fn`` eagerly on its first two calls while a tracer
records, in order, everything it did to data:

  * every ``Function.forward`` (the ops of the forward pass and of every vjp in backward),
  * every gradient handed to a leaf's ``.grad`` by the engine,
  * every in-place write (``add_``, ``copy_``, ``x[i] = v``, ...),
  * every *effect*: a call the replay makes again as it is, such as ``optimizer.step()``,
    ``optimizer.zero_grad()`` or ``scheduler.step()`` (see :func:`effect`).

From the third call with arguments of the same shapes and dtypes on, ``step_fn``'s Python does
not run: the recorded forward methods are called straight through on the new arguments, as one
generated Python function, with no graph building, no engine walk and no per-op checks. The
result is the same float for float as the eager call's (the same NumPy calls in the same
order).

What the trace fixes, like ``jax.jit``: Python control flow, shapes, dtypes, op parameters, the
modules' train/eval modes, and constants. Arguments with other shapes or dtypes, another grad
mode or other module modes get a trace of their own. Values that step_fn computes with NumPy
outside chainrule ops are constants of the trace: the two traced calls are compared, and a
constant that differs between them, an op parameter that holds an argument's array, or
reading a traced value (``.item()``, ``float()``, ``bool()``, ``.numpy()``) while tracing
raise :class:`CompileError` naming the op, instead of replaying a stale value.

Outputs are plain Tensors without a graph (as after ``.detach()``): compile whole steps, with
their ``backward()`` inside.
"""

import functools
import itertools
import types
import warnings

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, _bump_version, make

_state = _mode.state
_BASE_SLOTS = frozenset(("inputs", "_outputs", "_stamp", "__weakref__"))


class CompileError(RuntimeError):
    """A function cannot be traced and replayed faithfully (the message says why and where)."""


def effect(fn):
    """Mark `fn` as an effect: a compiled function calls it again, as it is, at each replay.

    While tracing, an effect runs eagerly and untraced (its own ops and in-place writes are not
    recorded), and the call is recorded. Tensor arguments are fed from the replay's values;
    other arguments are the traced call's objects. Optimizer and scheduler steps are effects.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        tracer = _state.tracer
        if tracer is None:
            return fn(*args, **kwargs)
        return tracer.effect(fn, args, kwargs)

    wrapper.__chainrule_effect__ = fn
    return wrapper


def compile(fn=None, *, max_traces=16):
    """A traced-and-replayed version of `fn` (usable as ``@cr.compile`` or ``cr.compile(fn)``).

    Arguments may be Tensors, NumPy arrays or hashable Python values; Tensors and arrays are
    the data a replay feeds in, the others are fixed by the trace (a new value traces again).
    Tensors that `fn` reads from outside (model parameters, optimizer state) are read afresh at
    every replay. At most `max_traces` traces are kept (the oldest is dropped).
    """
    if isinstance(max_traces, bool) or not isinstance(max_traces, int) or max_traces < 1:
        raise ValueError(f"compile: max_traces must be a positive integer; got {max_traces!r}")
    if fn is None:
        return functools.partial(compile, max_traces=max_traces)
    if not callable(fn):
        raise TypeError(f"compile: expected a callable; got {type(fn).__name__}")
    return Compiled(fn, max_traces)


def _is_iterator(a):
    return not isinstance(a, (Tensor, np.ndarray, str, bytes)) and hasattr(a, "__next__")


def _owner(a):
    """The array that owns a's memory (a itself when it is not a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


class _Tracer:
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
        self.backprops = 0  # backward walks during the call (counted by the engine)

    # ---- where an input comes from -------------------------------------------------------
    def ref(self, t, where):
        """('s', k) an event's output, ('a', i) an argument, ('t', T) any other tensor's data."""
        return self._locate(t._data, where) or ("t", t)

    def array_ref(self, a, where):
        """As ref, for a bare ndarray: ('r', array) when it is not traced."""
        return self._locate(a, where) or ("r", a)

    def _locate(self, a, where):
        k = self.slot_of.get(id(a))
        if k is not None:
            return ("s", k)
        i = self.arg_of.get(id(a))
        if i is not None:
            return ("a", i)
        self._check_foreign(a, where)
        return None

    def _check_foreign(self, a, where):
        if id(_owner(a)) in self.fresh:
            raise CompileError(
                f"compile: {where} reads a NumPy view of a traced array (an argument or an "
                "op's result) made outside chainrule ops; a replay would read the traced "
                "values. Use chainrule ops (reshape, indexing, ...) on the Tensor instead")

    def _outputs(self, arrays):
        slots = []
        for y in arrays:
            k = self.n_slots
            self.n_slots += 1
            self.slot_of[id(y)] = k
            if y.base is None:
                self.fresh.add(id(y))
            self.keep.append(y)
            slots.append(k)
        return slots

    # ---- what the hooks in Function, the engine, Tensor and Module call -----------------
    def op(self, fn, inputs, ys, wrap, many=False):
        name = type(fn).__name__
        for attr, value in _attributes(fn):
            self._check_parameter(name, attr, value)
        refs = tuple(self.ref(t, f"{name} (input {i})") for i, t in enumerate(inputs))
        self.events.append(("op", fn, refs, self._outputs(ys), wrap, many))

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

    def leaf(self, t, g, create_graph):
        from chainrule.core.engine import _accumulate_leaf

        ref = self.ref(g, "the gradient of a leaf")
        i = self.arg_object_of.get(id(t))
        target = ("L", t) if i is None else ("A", i)  # a leaf passed as an argument: its place
        with _paused():
            _accumulate_leaf(t, g, create_graph)
        self.events.append(("leaf", target, ref, create_graph,
                            self._outputs([t.grad._data])[0]))

    def write(self, op, t, kernel, value, params):
        target = self.ref(t, f"{op} (its target)")
        source = None if value is None else self.array_ref(value, f"{op} (its value)")
        self._check_parameter(op, "index", params)
        self.events.append(("write", t, target, kernel, source, params))

    def effect(self, fn, args, kwargs):
        name = getattr(fn, "__qualname__", repr(fn))
        # an iterator argument (model.parameters()) would be spent after this call: a replay
        # passes the list it produced
        args = tuple(list(a) if _is_iterator(a) else a for a in args)
        pos = [(i, self.ref(a, f"effect {name}")) for i, a in enumerate(args)
               if isinstance(a, Tensor)]
        kw = [(k, self.ref(a, f"effect {name}")) for k, a in kwargs.items()
              if isinstance(a, Tensor)]
        with _paused():
            result = fn(*args, **kwargs)
        slot = self._outputs([result._data])[0] if isinstance(result, Tensor) else None
        self.events.append(("effect", fn, args, kwargs, pos, kw, slot))
        return result

    def read(self, t, what):
        """A Tensor's value is read as a Python value (item, bool, numpy...) while tracing."""
        a = t._data
        if id(a) in self.slot_of or id(a) in self.arg_of or id(_owner(a)) in self.fresh:
            raise CompileError(
                f"compile: {what} reads the value of a traced tensor (shape {t.shape}) while "
                "tracing; Python would see the traced value at every replay. Return the tensor "
                "and read it outside the compiled function, or keep the computation in ops")

    def module(self, m):
        self.modules[id(m)] = (m, m.training)

    def refuse(self, what):
        raise CompileError(f"compile: {what} cannot be traced")


class _paused:
    """Stop recording inside: effects and leaf accumulation run as they are."""

    __slots__ = ("tracer",)

    def __enter__(self):
        self.tracer, _state.tracer = _state.tracer, None

    def __exit__(self, *exc):
        _state.tracer = self.tracer


def _attributes(fn):
    """(name, value) of an op's parameters: its __slots__ below Function's."""
    for cls in type(fn).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in _BASE_SLOTS and hasattr(fn, name):
                yield name, getattr(fn, name)


def _describe(fn):
    """An op and its parameters, for the comment on its line of a replay's source."""
    params = ", ".join(f"{k}={v!r}" for k, v in _attributes(fn)
                       if not isinstance(v, np.ndarray) and len(repr(v)) <= 40)
    return f"{type(fn).__name__}({params})"


def _same(a, b):
    """Equal values, recursively; arrays by shape, dtype and every element."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.shape == b.shape and a.dtype == b.dtype
                and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and _same(a._data, b._data)
    if isinstance(a, (tuple, list)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(_same(a[k], b[k]) for k in a))
    if type(a) is not type(b):
        return False
    if isinstance(a, types.FunctionType):  # a lambda made afresh per call: same code, cells
        return a.__code__ is b.__code__ and _same(
            [c.cell_contents for c in a.__closure__ or ()],
            [c.cell_contents for c in b.__closure__ or ()])
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 (objects whose == is not a truth value)
        return False


class _Trace:
    """One traced call: its events, output structure and the modules it ran."""

    __slots__ = ("events", "output", "modules")

    def __init__(self, tracer, output_spec):
        self.events, self.output = tracer.events, output_spec
        self.modules = tracer.modules


def _spec(value, tracer):
    """The structure of fn's result, with each Tensor replaced by where its data comes from."""
    if isinstance(value, Tensor):
        return ("T", tracer.ref(value, "the returned value"))
    if isinstance(value, (tuple, list)):
        return (type(value), [_spec(v, tracer) for v in value])
    if isinstance(value, dict):
        return (dict, {k: _spec(v, tracer) for k, v in value.items()})
    if isinstance(value, np.ndarray):
        return ("N", tracer.array_ref(value, "the returned array"))
    return ("V", value)


class _Program:
    """A replay: the generated function, and the guards it needs (modules, leaf arrays)."""

    __slots__ = ("run", "modules", "leaves", "source")

    def guards_hold(self):
        for m, training in self.modules:
            if m.training is not training:
                return False
        for t, a in self.leaves:
            if t._data is not a:
                if t._data.shape != a.shape or t._data.dtype != a.dtype:
                    return False
                self.leaves = [(u, u._data) for u, _ in self.leaves]  # rebound: same layout
                break
        return True


class _Planner:
    """Compares two traces of one call and writes the replay of the second as Python source."""

    def __init__(self, a, b, args):
        self.a, self.b, self.args = a, b, args
        self.ns = {"make": make, "asarray": np.asarray, "bump": _bump_version}
        self.names = {}  # id(object) -> its name in the namespace
        self.counter = itertools.count()
        self.lines = []
        self.leaves = {}

    def error(self, i, what):
        kind = self.b.events[i][0] if i < len(self.b.events) else "end"
        label = type(self.b.events[i][1]).__name__ if kind == "op" else kind
        raise CompileError(
            f"compile: the first two calls did different things at step {i} ({label}): {what}. "
            "The replay would repeat the traced call, so its Python must not depend on values "
            "that change between calls: pass such values as Tensor arguments, or keep them in "
            "chainrule ops")

    def name(self, obj, prefix):
        key = id(obj)
        if key not in self.names:
            self.names[key] = f"{prefix}{next(self.counter)}"
            self.ns[self.names[key]] = obj
        return self.names[key]

    def source(self, i, ra, rb):
        """The expression for an input, from where it came from in each of the two traces."""
        if rb[0] in "sa":  # an op's output or an argument: the same one both times
            if ra != rb:
                self.error(i, "an input came from a different place")
            return f"{rb[0]}{rb[1]}"
        if ra[0] not in "tr":
            self.error(i, "an input came from a different place")
        xa, xb = ra[1], rb[1]
        if rb[0] == "t" and xa is xb:  # the same tensor both times: a parameter or state
            self.leaves[id(xb)] = xb
            return self.name(xb, "T") + "._data"  # read live: the replay sees its updates
        xa = xa._data if isinstance(xa, Tensor) else xa
        xb = xb._data if isinstance(xb, Tensor) else xb
        if xa is xb or _same(xa, xb):  # the same array both times, or an equal constant
            return self.name(xb, "C")
        self.error(i, f"an input of shape {xb.shape} was computed outside chainrule ops and "
                      "its value changed between the calls (a replay would freeze it)")

    def plan(self):
        a, b = self.a, self.b
        if len(a.events) != len(b.events):
            self.error(min(len(a.events), len(b.events)),
                       f"{len(a.events)} against {len(b.events)} recorded steps")
        last = self._last_uses(b)
        keep = self._returned_slots(b.output)
        self.used = keep | {r[1] for e in b.events for r in self._uses(e) if r[0] == "s"}
        for i, (ea, eb) in enumerate(zip(a.events, b.events)):
            getattr(self, "_" + eb[0])(i, ea, eb)
            dead = [f"s{k}" for k in last.get(i, ()) if k not in keep]
            if dead:
                self.lines.append("del " + ", ".join(dead))
        self.lines.append("return " + self._output(len(b.events), a.output, b.output))
        body = "\n    ".join(self.lines)
        src = f"def replay({', '.join(['A'] + self.args)}):\n    {body}\n"
        exec(src, self.ns)  # noqa: S102 (generated from the trace, no user text)
        for e in b.events:  # drop the traced graph the ops still point to
            if e[0] == "op" and getattr(e[1], "inputs", None) is not None:
                e[1].inputs = None
        prog = _Program()
        prog.run, prog.source = self.ns["replay"], src
        prog.modules = [(m, tr) for m, tr in b.modules.values()]
        prog.leaves = [(t, t._data) for t in self.leaves.values()]
        return prog

    @staticmethod
    def _uses(e):
        if e[0] == "op":
            return [r for r in e[2]]
        if e[0] == "leaf":
            return [e[2]]
        if e[0] == "write":
            return [e[2]] + ([e[4]] if e[4] is not None else [])
        return [r for _, r in e[4]] + [r for _, r in e[5]]

    def _last_uses(self, trace):
        last = {}
        for i, e in enumerate(trace.events):
            for r in self._uses(e):
                if r[0] == "s":
                    last[r[1]] = i
        by_event = {}
        for k, i in last.items():
            by_event.setdefault(i, []).append(k)
        return by_event

    def _returned_slots(self, spec):
        kind = spec[0]
        if kind in ("T", "N"):
            return {spec[1][1]} if spec[1][0] == "s" else set()
        if kind in (tuple, list):
            return set().union(set(), *(self._returned_slots(s) for s in spec[1]))
        if kind is dict:
            return set().union(set(), *(self._returned_slots(s) for s in spec[1].values()))
        return set()

    def _op(self, i, ea, eb):
        _, fa, ra, _, _, _ = ea
        _, fb, rb, outs, wrap, many = eb
        if type(fa) is not type(fb):
            self.error(i, f"{type(fa).__name__} against {type(fb).__name__}")
        for (name, va), (_, vb) in zip(_attributes(fa), _attributes(fb)):
            if not _same(va, vb):
                self.error(i, f"its parameter {name!r} changed")
        args = ", ".join(self.source(i, x, y) for x, y in zip(ra, rb))
        f = self.name(fb.forward, "F")
        targets = ", ".join(f"s{k}" for k in outs) + ("," if many and len(outs) == 1 else "")
        self.lines.append(f"{targets} = {f}({args})  # {_describe(fb)}")
        if wrap:
            for k in outs:
                self.lines.append(f"s{k} = asarray(s{k})")

    def _leaf(self, i, ea, eb):
        _, ta, ga, cga, _ = ea
        _, tb, gb, cgb, slot = eb
        if ta[0] != tb[0] or (ta[1] is not tb[1] if tb[0] == "L" else ta[1] != tb[1]) \
                or cga != cgb:
            self.error(i, "a gradient went to a different leaf (make it an argument, or "
                          "create it outside the compiled function)")
        from chainrule.core.engine import _accumulate_leaf, deliver

        t = self.name(tb[1], "T") if tb[0] == "L" else f"A[{tb[1]}]"
        shape = tb[1].shape if tb[0] == "L" else "of the argument"
        if cgb:
            acc = self.name(_accumulate_leaf, "ACC")
            call = f"{acc}({t}, make({self.source(i, ga, gb)}), True)"
            after = f"{t}.grad._data"
        else:
            call = f"{self.name(deliver, 'DELIVER')}({t}, {self.source(i, ga, gb)})" \
                f"  # .grad of a leaf {shape}"
            after = None
        if slot in self.used:
            self.lines.append(f"s{slot} = {call}" if after is None else call)
            if after is not None:
                self.lines.append(f"s{slot} = {after}")
        else:
            self.lines.append(call)

    def _write(self, i, ea, eb):
        _, _, ta, ka, va, pa = ea
        _, tensor, tb, kb, vb, pb = eb
        if ka is not kb or not _same(pa, pb) or (va is None) != (vb is None):
            self.error(i, "a different in-place write")
        target = self.source(i, ta, tb)
        value = "None" if vb is None else self.source(i, va, vb)
        params = self.name(pb, "P")
        self.lines.append(f"{self.name(kb, 'K')}({target}, {value}, *{params})")
        if tb[0] == "t":
            self.lines.append(f"bump({self.name(tb[1], 'T')})")

    def _effect(self, i, ea, eb):
        _, fa, args_a, kw_a, pos_a, kwr_a, _ = ea
        _, fb, args_b, kw_b, pos_b, kwr_b, slot = eb
        if fa != fb or len(args_a) != len(args_b) or kw_a.keys() != kw_b.keys():
            self.error(i, "a different effect")
        tensors = {p for p, _ in pos_b}
        for j, (x, y) in enumerate(zip(args_a, args_b)):
            if j not in tensors and not _same(x, y):
                self.error(i, f"argument {j} of the effect changed")
        for k in kw_b:
            if k not in dict(kwr_b) and not _same(kw_a[k], kw_b[k]):
                self.error(i, f"argument {k!r} of the effect changed")
        parts = []
        fed = dict(pos_b)
        fed_a = dict(pos_a)
        for j, v in enumerate(args_b):
            if j in fed:
                parts.append(f"make({self.source(i, fed_a[j], fed[j])})")
            else:
                parts.append(self.name(v, "V"))
        kfed, kfed_a = dict(kwr_b), dict(kwr_a)
        for k, v in kw_b.items():
            if k in kfed:
                parts.append(f"{k}=make({self.source(i, kfed_a[k], kfed[k])})")
            else:
                parts.append(f"{k}={self.name(v, 'V')}")
        call = f"{self.name(fb, 'E')}({', '.join(parts)})  # {getattr(fb, '__qualname__', fb)}"
        self.lines.append(f"s{slot} = {call}._data" if slot is not None else call)

    def _output(self, i, sa, sb):
        if sa[0] != sb[0]:
            self.error(i, "the returned values have different structures")
        kind = sb[0]
        if kind == "T":
            ref = sb[1]
            if ref[0] == "t" and sa[1][0] == "t" and sa[1][1] is ref[1]:
                return self.name(ref[1], "T")  # a tensor from outside, returned as it is
            return f"make({self.source(i, sa[1], ref)})"
        if kind == "N":
            return self.source(i, sa[1], sb[1])
        if kind in (tuple, list):
            if len(sa[1]) != len(sb[1]):
                self.error(i, "the returned values have different lengths")
            items = [self._output(i, x, y) for x, y in zip(sa[1], sb[1])]
            body = ", ".join(items)
            return f"({body}{',' if len(items) == 1 else ''})" if kind is tuple else f"[{body}]"
        if kind is dict:
            if sa[1].keys() != sb[1].keys():
                self.error(i, "the returned dicts have different keys")
            keys = self.name(list(sb[1]), "KEYS")
            vals = ", ".join(self._output(i, sa[1][k], sb[1][k]) for k in sb[1])
            return f"dict(zip({keys}, ({vals},)))"
        if not _same(sa[1], sb[1]):
            self.error(i, f"the returned Python value changed ({sa[1]!r} -> {sb[1]!r}); return "
                          "a Tensor instead, or compute it outside")
        return self.name(sb[1], "V")


class Compiled:
    """A function that is traced on its first two calls per argument layout, then replayed."""

    def __init__(self, fn, max_traces):
        self.fn, self.max_traces = fn, max_traces
        self._entries = {}  # guard key -> [first traces awaiting a second, programs]
        self._warned = False
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if _state.tracer is not None:  # inside another compiled function: traced by it
            return self.fn(*args, **kwargs)
        key, objects, arrays = self._key(args, kwargs)
        entry = self._entries.get(key)
        if entry is not None:
            for prog in entry[1]:
                if prog.guards_hold():
                    return prog.run(objects, *arrays)
        else:
            if len(self._entries) >= self.max_traces:
                self._entries.pop(next(iter(self._entries)))
            entry = self._entries[key] = [[], []]
        return self._trace(entry, args, kwargs, objects, arrays)

    @property
    def source(self):
        """The Python of each replay built so far (one per traced argument layout and mode)."""
        return "\n".join(p.source for _, progs in self._entries.values() for p in progs)

    def _key(self, args, kwargs):
        key, objects, arrays = [_state.grad_enabled, _state.default_dtype], [], []
        for v in itertools.chain(args, kwargs.values()):
            if isinstance(v, Tensor):
                a = v._data
                key.append(("T", a.shape, a.dtype, v.requires_grad))
                objects.append(v)
                arrays.append(a)
            elif isinstance(v, np.ndarray):
                key.append(("N", v.shape, v.dtype))
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
        tracer = _Tracer(objects, arrays)
        _state.tracer = tracer
        try:
            out = self.fn(*args, **kwargs)
            spec = _spec(out, tracer)
        finally:
            _state.tracer = None
        if tracer.backprops == 0 and not self._warned and _needs_grad(out):
            self._warned = True
            warnings.warn(
                f"compile: {getattr(self.fn, '__name__', 'fn')} returned a tensor that requires "
                "grad without differentiating anything itself; a compiled function's results "
                "carry no graph (they are detached), so gradients taken from them outside are "
                "missing. Run backward() or autograd.grad inside the compiled function, or call "
                "it under cr.no_grad() for inference", UserWarning, stacklevel=3)
        trace = _Trace(tracer, spec)
        for i, pending in enumerate(entry[0]):  # a first trace in the same module modes
            if pending.modules.keys() == trace.modules.keys() and all(
                    pending.modules[k][1] is tr for k, (_, tr) in trace.modules.items()):
                del entry[0][i]
                names = [f"a{i}" for i in range(len(arrays))]
                entry[1].append(_Planner(pending, trace, names).plan())
                break
        else:
            entry[0] = entry[0][-3:] + [trace]
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
        return value if value.grad_fn is None else make(value._data)
    if isinstance(value, (tuple, list)):
        return type(value)(_detached(v) for v in value)
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    return value
