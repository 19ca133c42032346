"""The planner: compare two traces of one call, then write the replay of the second as Python.

Each event becomes one line of a generated function ``replay(A, a0, a1, ...)`` (A: the call's
argument objects, a_i: their arrays): an op is ``s7 = F3(s2, a0)``, a leaf gradient is handed
over with ``deliver_leaf_grad``, a write calls its kernel, an effect is called again. A value
read live from outside (a parameter) is ``T5._data``, a constant ``C4``.
"""

import itertools
import types

import numpy as np

from chainrule.compile.events import (
    Arg,
    Const,
    LeafEvent,
    Live,
    OpEvent,
    Slot,
    label,
    uses,
)
from chainrule.compile.tracer import CompileError, attributes
from chainrule.core import mode as _mode
from chainrule.core.engine import _accumulate_leaf, deliver_leaf_grad, grad_memory
from chainrule.core.tensor import Tensor, bump_version, from_array

RETRACE = object()  # what a replay returns when a value-dependent shape differs from its trace


class Mismatch(Exception):
    """Two traces that differ only where values decide shapes: both are valid, not the same."""


def describe(fn):
    """An op and its parameters, for the comment on its line of a replay's source."""
    params = ", ".join(f"{k}={v!r}" for k, v in attributes(fn)
                       if not isinstance(v, np.ndarray) and len(repr(v)) <= 40)
    return f"{type(fn).__name__}({params})"


def same(a, b):
    """Equal values, recursively; arrays by shape, dtype and every element."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.shape == b.shape and a.dtype == b.dtype
                and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and same(a._data, b._data)
    if isinstance(a, (tuple, list)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(same(a[k], b[k]) for k in a))
    if type(a) is not type(b):
        return False
    if isinstance(a, types.FunctionType):  # a lambda made afresh per call: same code, cells
        return a.__code__ is b.__code__ and same(
            [c.cell_contents for c in a.__closure__ or ()],
            [c.cell_contents for c in b.__closure__ or ()])
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 (objects whose == is not a truth value)
        return False


class Trace:
    """One traced call: its events, the structure of its result, and the modules it ran."""

    __slots__ = ("events", "output", "modules", "layouts")

    def __init__(self, tracer, output_spec):
        self.events, self.output = tracer.events, output_spec
        self.modules = tracer.modules
        self.layouts = tracer.layouts  # per slot: (shape, dtype, namespace of its buffer or None)


def output_spec(value, tracer):
    """The structure of fn's result, with each Tensor replaced by where its data comes from."""
    if isinstance(value, Tensor):
        return ("tensor", tracer.ref(value, "the returned value"))
    if isinstance(value, (tuple, list)):
        return (type(value), [output_spec(v, tracer) for v in value])
    if isinstance(value, dict):
        return (dict, {k: output_spec(v, tracer) for k, v in value.items()})
    if isinstance(value, np.ndarray):
        return ("array", tracer.array_ref(value, "the returned array"))
    return ("value", value)


class Program:
    """A replay: the generated function, the guards it needs, and its source."""

    __slots__ = ("run", "modules", "leaves", "source")

    def guards_hold(self):
        """Whether the modules' modes and the outside tensors' layouts are the traced ones
        (remembering the current arrays of those rebound to the same layout, as rebind)."""
        for m, training in self.modules:
            if m.training is not training:
                return False
        leaves = self.leaves
        for i, (t, a) in enumerate(leaves):
            if t._data is not a:
                if t._data.shape != a.shape or t._data.dtype != a.dtype \
                        or t._data.strides != a.strides:
                    return False
                leaves[i] = (t, t._data)
        return True

    def rebind(self):
        """Remember the outside tensors' current arrays (after a rebinding of the same layout)."""
        leaves = self.leaves
        for i, (t, a) in enumerate(leaves):
            if t._data is not a:
                leaves[i] = (t, t._data)


class Planner:
    """Compares two traces of one call and writes the replay of the second as Python source."""

    def __init__(self, a, b, args):
        self.a, self.b, self.args = a, b, args
        self.ns = {"from_array": from_array, "asarray": np.asarray, "bump": bump_version,
                   "RETRACE": RETRACE, "STATE": _mode.state, "shape_changed": _shape_changed}
        self.names = {}  # id(object) -> its name in the namespace
        self.counter = itertools.count()
        self.lines = []
        self.leaves = {}
        self.wrote = False  # a write, leaf gradient or effect has run (no retrace after it)
        self.drew = False  # a random op has run (a retrace must restore the generator first)
        self.restores = False
        self.consts = set()  # the namespace names of constant arrays
        self.folded = {}  # slot -> the name of its constant value (computed while planning)
        self.buf = {}  # slot -> the name of the preallocated buffer its op writes into
        self.free = {}  # (shape, dtype, xp) -> names of buffers no live slot holds now
        self.owner = {}  # buffer name -> the slot whose value it holds now

    def error(self, i, what):
        events = self.b.events
        where = label(events[i]) if i < len(events) else "end"
        raise CompileError(
            f"compile: the first two calls did different things at step {i} ({where}): {what}. "
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
        if type(rb) in (Slot, Arg):  # an op's output or an argument: the same one both times
            if ra != rb:
                self.error(i, "an input came from a different place")
            if type(rb) is Slot:
                return self.folded.get(rb.k) or self.buf.get(rb.k) or f"s{rb.k}"
            return f"a{rb.i}"
        if type(ra) not in (Live, Const):
            self.error(i, "an input came from a different place")
        if type(rb) is Live and type(ra) is Live and ra.tensor is rb.tensor:
            self.leaves[id(rb.tensor)] = rb.tensor  # a parameter or state: read live
            return self.name(rb.tensor, "T") + "._data"
        xa = ra.tensor._data if type(ra) is Live else ra.array
        xb = rb.tensor._data if type(rb) is Live else rb.array
        if xa is xb or same(xa, xb):  # the same array both times, or an equal constant
            name = self.name(xb, "C")
            self.consts.add(name)
            return name
        self.error(i, f"an input of shape {xb.shape} was computed outside chainrule ops and "
                      "its value changed between the calls (a replay would freeze it)")

    def plan(self):
        a, b = self.a, self.b
        if len(a.events) != len(b.events):
            self._mismatch_or_error(min(len(a.events), len(b.events)),
                                    f"{len(a.events)} against {len(b.events)} recorded steps")
        keep = self._returned_slots(b.output)
        self.dead = self._dead_ops(b, keep)
        last = self._last_uses(b, self.dead)
        self.used = keep | {r.k for i, e in enumerate(b.events) if i not in self.dead
                            for r in uses(e) if type(r) is Slot}
        self.into = self._gradients_in_place(b, keep)
        self.foldable = self._only_read_by_ops(b, keep)
        self.poolable, self.release = self._buffer_plan(b, keep)
        release = self.release
        for i, (ea, eb) in enumerate(zip(a.events, b.events)):
            if type(ea) is not type(eb):
                self._mismatch_or_error(i, f"{label(ea)} against {label(eb)}")
            if i in self.dead:
                self._dead(i, ea, eb)
                continue
            getattr(self, "_" + type(eb).__name__)(i, ea, eb)
            dead = [f"s{k}" for k in last.get(i, ())
                    if k not in keep and k not in self.folded and k not in self.buf]
            if dead:
                self.lines.append("del " + ", ".join(dead))
            for k in release.get(i, ()):  # buffers whose slot (and its views) nobody reads now
                name = self.buf.get(k)
                if name is not None and self.owner[name] == k:
                    self.free.setdefault(self._layout(k), []).append(name)
        self.lines.append("return " + self._output(len(b.events), a.output, b.output))
        if self.restores:  # the generator's state, for a retrace before any write
            self.lines.insert(0, "G = STATE.rng; G_STATE = G.bit_generator.state")
        body = "\n    ".join(self.lines)
        src = f"def replay({', '.join(['A'] + self.args)}):\n    {body}\n"
        exec(src, self.ns)  # noqa: S102 (generated from the trace, no user text)
        for e in b.events:  # drop the traced graph the ops still point to
            if type(e) is OpEvent and getattr(e.fn, "inputs", None) is not None:
                e.fn.inputs = None
        prog = Program()
        prog.run, prog.source = self.ns["replay"], src
        prog.modules = [(m, tr) for m, tr in b.modules.values()]
        prog.leaves = [(t, t._data) for t in self.leaves.values()]
        return prog

    def _mismatch_or_error(self, i, what):
        """Traces that part where a value-dependent shape differed are a Mismatch, not an error."""
        for ea, eb in zip(self.a.events[:i + 1], self.b.events[:i + 1]):
            if type(ea) is OpEvent and type(eb) is OpEvent and ea.shape_guard != eb.shape_guard:
                raise Mismatch()
        self.error(i, what)

    def _last_uses(self, trace, dead=()):
        last = {}
        for i, e in enumerate(trace.events):
            if i in dead:
                continue
            for r in uses(e):
                if type(r) is Slot:
                    last[r.k] = i
        by_event = {}
        for k, i in last.items():
            by_event.setdefault(i, []).append(k)
        return by_event

    @staticmethod
    def _dead_ops(trace, keep):
        """Dead-code elimination: the events of pure ops whose results nobody reads (not even
        through a later op), and whose forward cannot raise on values (an op with forward_into,
        none flagged checks_values): a replay skips them, eager's values are unchanged."""
        live = set(keep)
        for e in trace.events:
            if type(e) is not OpEvent:
                live.update(r.k for r in uses(e) if type(r) is Slot)
        dead = set()
        for i in range(len(trace.events) - 1, -1, -1):
            e = trace.events[i]
            if type(e) is not OpEvent:
                continue
            cls = type(e.fn)
            if cls.pure and not getattr(cls, "checks_values", False) \
                    and into_method(cls) is not None and not live.intersection(e.outputs):
                dead.add(i)
                continue
            live.update(r.k for r in e.inputs if type(r) is Slot)
        return dead

    def _buffer_plan(self, trace, keep):
        """Buffer reuse: (the slots whose op may write into a preallocated buffer, {event: the
        slots whose buffers are free after it}). Liveness over the trace: a slot is live until
        its last reader, and until the last reader of anything an op without forward_into
        made from it (a view: reshape, permute, an index). A slot that leaves the replay (a
        returned value, a leaf's gradient, an effect's or a write's argument, or a view of
        one) never gets a buffer: it must be a new array at every call, as in eager."""
        events, layouts = trace.events, trace.layouts
        last, escapes = {}, set(keep)
        for i, e in enumerate(events):
            if i in self.dead:
                continue
            for r in uses(e):
                if type(r) is Slot:
                    last[r.k] = i
            if type(e) is not OpEvent:
                escapes.update(r.k for r in uses(e) if type(r) is Slot)
        for i in range(len(events) - 1, -1, -1):  # views: their bases live (and leave) with them
            e = events[i]
            if type(e) is not OpEvent or i in self.dead or makes_fresh(type(e.fn)):
                continue
            ins = [r.k for r in e.inputs if type(r) is Slot]
            for k in e.outputs:
                if k in escapes:
                    escapes.update(ins)
                end = last.get(k, i)
                for j in ins:
                    last[j] = max(last.get(j, i), end)
        poolable = set()
        for i, e in enumerate(events):
            if type(e) is OpEvent and i not in self.dead and len(e.outputs) == 1 \
                    and not (e.raw or e.many) and e.shape_guard is None \
                    and into_method(type(e.fn)) is not None:
                k = e.outputs[0]
                if layouts[k][2] is not None and k not in escapes and k not in self.into:
                    poolable.add(k)
                    last.setdefault(k, i)  # never read: free right after its op
        release = {}
        for k, i in last.items():
            if k in poolable:
                release.setdefault(i, []).append(k)
        return poolable, release

    def _layout(self, k):
        """(shape, dtype, namespace) of slot k: the key of its buffer pool."""
        return self.b.layouts[k]

    def _buffer_for(self, i, eb, sources):
        """The buffer op i writes its result into: an input's buffer that dies here (an
        elementwise op, in place: chains of them run on one buffer), a free one of the same
        shape and dtype, or a new one."""
        k = eb.outputs[0]
        layout = self._layout(k)
        if getattr(into_class(type(eb.fn)), "into_inplace", False):
            dying = self.release.get(i, ())
            for r in eb.inputs:  # an input whose last reader is this op: write over it
                if type(r) is Slot and r.k in dying and r.k in self.buf \
                        and self.owner[self.buf[r.k]] == r.k and self._layout(r.k) == layout:
                    name = self.buf[r.k]
                    self.owner[name] = k
                    return name
        pool = self.free.get(layout)
        shape, dtype, xp = layout
        name = pool.pop() if pool else self.name(xp.empty(shape, dtype), "B")
        self.owner[name] = k
        return name

    @staticmethod
    def _only_read_by_ops(trace, keep):
        """The slots that only ops read (not returned, written to, handed to a leaf or an
        effect): those that may be computed once, at planning, when their inputs are constant."""
        other = set(keep)
        for e in trace.events:
            if type(e) is not OpEvent:
                other.update(r.k for r in uses(e) if type(r) is Slot)
        return {k for e in trace.events if type(e) is OpEvent for k in e.outputs} - other

    @staticmethod
    def _gradients_in_place(trace, keep):
        """{slot: leaf} for the op results that are only a leaf's gradient, from an op that can
        write its result into given memory (forward_into): the replay computes them straight
        into the memory the leaf's grad sink offers, as a vjp does in backward() (no copy)."""
        n_uses, made_by = {}, {}
        for e in trace.events:
            for r in uses(e):
                if type(r) is Slot:
                    n_uses[r.k] = n_uses.get(r.k, 0) + 1
            if type(e) is OpEvent and len(e.outputs) == 1 and not (e.raw or e.many) \
                    and e.shape_guard is None and into_method(type(e.fn)) is not None:
                made_by[e.outputs[0]] = e
        return {e.grad.k: e.leaf.tensor for e in trace.events
                if type(e) is LeafEvent and e.fits and not e.create_graph and type(e.leaf) is Live
                and type(e.grad) is Slot and e.grad.k in made_by and n_uses[e.grad.k] == 1
                and e.grad.k not in keep}

    def _returned_slots(self, spec):
        kind = spec[0]
        if kind in ("tensor", "array"):
            return {spec[1].k} if type(spec[1]) is Slot else set()
        if kind in (tuple, list):
            return set().union(set(), *(self._returned_slots(s) for s in spec[1]))
        if kind is dict:
            return set().union(set(), *(self._returned_slots(s) for s in spec[1].values()))
        return set()

    # ---- one line per event ----------------------------------------------------------------
    def _OpEvent(self, i, ea, eb):
        fa, fb = ea.fn, eb.fn
        if type(fa) is not type(fb):
            self._mismatch_or_error(i, f"{type(fa).__name__} against {type(fb).__name__}")
        if ea.shape_guard != eb.shape_guard:
            raise Mismatch()
        for (name, va), (_, vb) in zip(attributes(fa), attributes(fb)):
            if not same(va, vb):
                self._mismatch_or_error(i, f"its parameter {name!r} changed")
        sources = [self.source(i, x, y) for x, y in zip(ea.inputs, eb.inputs)]
        args = ", ".join(sources)
        outs = eb.outputs
        if type(fb).pure and eb.shape_guard is None and all(s in self.consts for s in sources) \
                and all(k in self.foldable for k in outs):
            self._fold(fb, eb, sources)
            return
        f = self.name(fb.forward, "F")
        targets = ", ".join(f"s{k}" for k in outs) + ("," if eb.many and len(outs) == 1 else "")
        leaf = self.into.get(outs[0])
        if outs[0] in self.poolable:  # into a preallocated buffer
            self.buf[outs[0]] = out = self._buffer_for(i, eb, sources)
            ufunc = into_class(type(fb)).__dict__.get("into_ufunc")
            if ufunc is not None:  # forward_into is this one ufunc call: made directly
                self.lines.append(f"{self.name(ufunc, 'U')}({args}, out={out})"
                                  f"  # {describe(fb)}, into {out}")
            else:
                into = self.name(fb.forward_into, "INTO")
                self.lines.append(f"{into}({out}, {args})  # {describe(fb)}, into {out}")
        elif leaf is not None:  # a leaf's gradient: into its sink's memory when that is free
            t, m = self.name(leaf, "T"), f"m{outs[0]}"  # m: kept for the hand-over
            self.lines.append(f"{m} = {self.name(grad_memory, 'MEMORY')}({t})")
            into = self.name(fb.forward_into, "INTO")
            self.lines.append(f"{targets} = {f}({args}) if {m} is None else {into}({m}, {args})"
                              f"  # {describe(fb)}, into {t}.grad")
        else:
            self.lines.append(f"{targets} = {f}({args})  # {describe(fb)}")
        if eb.raw:
            for k in outs:
                self.lines.append(f"s{k} = asarray(s{k})")
        self.drew |= not type(fb).pure
        if eb.shape_guard is not None:
            self._guard(i, fb, outs, eb.shape_guard)

    def _dead(self, i, ea, eb):
        """A dead op: compared like any other, then left out (a comment in the source)."""
        fa, fb = ea.fn, eb.fn
        if type(fa) is not type(fb):
            self._mismatch_or_error(i, f"{type(fa).__name__} against {type(fb).__name__}")
        for (name, va), (_, vb) in zip(attributes(fa), attributes(fb)):
            if not same(va, vb):
                self._mismatch_or_error(i, f"its parameter {name!r} changed")
        sources = [self.source(i, x, y) for x, y in zip(ea.inputs, eb.inputs)]
        self.lines.append(f"# {', '.join(f's{k}' for k in eb.outputs)} = {describe(fb)}"
                          f"({', '.join(sources)}), dead (nobody reads it)")

    def _fold(self, fn, event, sources):
        """Constant folding: a pure op of constants is computed now, its results are constants
        (the same NumPy calls on the same arrays: the values a replay would compute)."""
        values = fn.forward(*[self.ns[s] for s in sources])
        values = values if event.many else (values,)
        names = []
        for k, v in zip(event.outputs, values):
            self.folded[k] = name = self.name(np.asarray(v) if event.raw else v, "C")
            self.consts.add(name)
            names.append(name)
        self.lines.append(f"# {', '.join(names)} = {describe(fn)}({', '.join(sources)}), folded")

    def _guard(self, i, fn, outs, shapes):
        """The replay stops where a value-dependent shape differs from the trace's: before any
        write it returns RETRACE (the call then runs eagerly and is traced for the new shape);
        after one it raises, as the call can no longer be redone."""
        test = " or ".join(f"s{k}.shape != {s!r}" for k, s in zip(outs, shapes))
        if self.wrote:
            msg = self.name(f"{type(fn).__name__} (step {i})", "M")
            self.lines.append(f"if {test}: shape_changed({msg})")
            return
        restore = "G.bit_generator.state = G_STATE; " if self.drew else ""
        self.restores |= self.drew
        self.lines.append(f"if {test}: {restore}return RETRACE")

    def _LeafEvent(self, i, ea, eb):
        ta, tb = ea.leaf, eb.leaf
        if type(ta) is not type(tb) or ea.create_graph != eb.create_graph or (
                ta.tensor is not tb.tensor if type(tb) is Live else ta.i != tb.i):
            self.error(i, "a gradient went to a different leaf (make it an argument, or "
                          "create it outside the compiled function)")
        self.wrote = True
        t = self.name(tb.tensor, "T") if type(tb) is Live else f"A[{tb.i}]"
        shape = tb.tensor.shape if type(tb) is Live else "of the argument"
        grad = self.source(i, ea.grad, eb.grad)
        if eb.create_graph:
            self.lines.append(f"{self.name(_accumulate_leaf, 'ACCUMULATE')}({t}, "
                              f"from_array({grad}), True)")
            if eb.slot in self.used:
                self.lines.append(f"s{eb.slot} = {t}.grad._data")
            return
        if type(eb.grad) is Slot and eb.grad.k in self.into:  # computed into the sink's memory
            m = f"m{eb.grad.k}"
            call = f"{self.name(_hand_over, 'HANDOVER')}({t}, {grad}, {m})  # .grad of a leaf " \
                   f"{shape}, computed in place"
            self.lines.append(f"s{eb.slot} = {call}" if eb.slot in self.used else call)
            self.lines.append(f"del {m}")
            return
        call = f"{self.name(deliver_leaf_grad, 'DELIVER')}({t}, {grad})  # .grad of a leaf {shape}"
        self.lines.append(f"s{eb.slot} = {call}" if eb.slot in self.used else call)

    def _WriteEvent(self, i, ea, eb):
        if ea.kernel is not eb.kernel or not same(ea.params, eb.params) \
                or (ea.value is None) != (eb.value is None):
            self.error(i, "a different in-place write")
        self.wrote = True
        target = self.source(i, ea.target, eb.target)
        value = "None" if eb.value is None else self.source(i, ea.value, eb.value)
        params = self.name(eb.params, "P")
        self.lines.append(f"{self.name(eb.kernel, 'K')}({target}, {value}, *{params})")
        if type(eb.target) is Live:
            self.lines.append(f"bump({self.name(eb.target.tensor, 'T')})")

    def _EffectEvent(self, i, ea, eb):
        if ea.fn != eb.fn or len(ea.args) != len(eb.args) or ea.kwargs.keys() != eb.kwargs.keys():
            self.error(i, "a different effect")
        self.wrote = True
        fed, fed_a = dict(eb.tensor_args), dict(ea.tensor_args)
        kfed, kfed_a = dict(eb.tensor_kwargs), dict(ea.tensor_kwargs)
        for j, (x, y) in enumerate(zip(ea.args, eb.args)):
            if j not in fed and not same(x, y):
                self.error(i, f"argument {j} of the effect changed")
        for k in eb.kwargs:
            if k not in kfed and not same(ea.kwargs[k], eb.kwargs[k]):
                self.error(i, f"argument {k!r} of the effect changed")
        parts = [f"from_array({self.source(i, fed_a[j], fed[j])})" if j in fed
                 else self.name(v, "V") for j, v in enumerate(eb.args)]
        parts += [f"{k}=from_array({self.source(i, kfed_a[k], kfed[k])})" if k in kfed
                  else f"{k}={self.name(v, 'V')}" for k, v in eb.kwargs.items()]
        call = f"{self.name(eb.fn, 'E')}({', '.join(parts)})  " \
               f"# {getattr(eb.fn, '__qualname__', eb.fn)}"
        self.lines.append(f"s{eb.slot} = {call}._data" if eb.slot is not None else call)

    def _output(self, i, sa, sb):
        if sa[0] != sb[0]:
            self.error(i, "the returned values have different structures")
        kind = sb[0]
        if kind == "tensor":
            ra, rb = sa[1], sb[1]
            if type(rb) is Live and type(ra) is Live and ra.tensor is rb.tensor:
                return self.name(rb.tensor, "T")  # a tensor from outside, returned as it is
            return f"from_array({self.source(i, ra, rb)})"
        if kind == "array":
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
        if not same(sa[1], sb[1]):
            self.error(i, f"the returned Python value changed ({sa[1]!r} -> {sb[1]!r}); return "
                          "a Tensor instead, or compute it outside")
        return self.name(sb[1], "V")


def _hand_over(t, a, m):
    """deliver_leaf_grad(t, a) for a gradient computed into m, the memory grad_memory(t)
    offered (None: it offered none): t.grad becomes a Tensor over m, as the engine's first
    gradient of t does, without its general path when nothing else has to run (no hooks, no
    interceptor, t still without a gradient)."""
    extra = t._extra
    if m is not None and a is m and t.grad is None and not _mode.state.interceptors \
            and "hooks" not in extra and "post_accumulate_hooks" not in extra:
        t.grad = from_array(m)
        return m
    return deliver_leaf_grad(t, a)


def into_class(cls):
    """The class in cls's MRO that defines the forward cls runs."""
    for c in cls.__mro__:
        if "forward" in c.__dict__:
            return c
    return None


def into_method(cls):
    """cls's forward_into, when the class whose forward cls runs defines one beside it (a
    subclass that changes forward does not inherit a forward_into that would not match)."""
    c = into_class(cls)
    return None if c is None else c.__dict__.get("forward_into")


def makes_fresh(cls):
    """Whether cls's forward always returns new arrays (never a view or an input): it has a
    forward_into, or says so (returns_fresh)."""
    c = into_class(cls)
    return c is not None and ("forward_into" in c.__dict__ or c.__dict__.get("returns_fresh"))


def _shape_changed(where):
    raise CompileError(
        f"compile: the output shape of {where} depends on the input values (a boolean mask "
        "selects a different number of elements) and changed after the replay had already "
        "written state (a leaf gradient, an in-place write or an effect), so the call cannot "
        "be redone eagerly. Keep value-dependent selections before any such write, or use "
        "where() with a fixed shape instead of a boolean mask")
