"""Reverse-mode engine: walk the graph in topological order and apply each op's vjp once.

The walk is iterative (no recursion limit), gradients of an op's outputs are summed before its
vjp runs, leaf gradients accumulate into ``.grad`` like PyTorch's, and the graph (with the
arrays it saved) is released afterwards unless ``retain_graph=True``.
"""

import sys

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, as_array, make
from chainrule.ops.shape import sum_to  # loaded by tensor.py's late import of ops

_state = _mode.state
_clock = _mode.clock


def toposort(roots):
    """Nodes reachable from the roots, each listed before the nodes that produced its inputs."""
    order, seen = [], set()
    stack = [(t.grad_fn, False) for t in roots if t.grad_fn is not None]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        if node.inputs is None:
            raise RuntimeError(
                f"backward: the graph through {type(node).__name__} has already been released "
                "by an earlier backward(); pass retain_graph=True to the first backward() to "
                "backpropagate through it again")
        stack.append((node, True))
        for t in node.inputs:
            f = t.grad_fn
            if f is not None and f not in seen:
                stack.append((f, False))
    order.reverse()
    return order


def _root_grad(root, g):
    if g is None:
        if root._data.size != 1:
            raise RuntimeError(f"backward: gradient can be implicitly created only for a scalar "
                               f"output; got shape {root.shape}; reduce it with .sum() or pass "
                               f"gradient= of the same shape")
        return make(np.ones_like(root._data))
    g = g if isinstance(g, Tensor) else make(as_array(g, root.dtype))
    if g.shape != root.shape:
        raise RuntimeError(f"backward: gradient has shape {g.shape} but the output has shape "
                           f"{root.shape}")
    return g


def _fit(node, i, x, gx):
    """Sum a broadcast gradient back to x's shape and cast it to x's dtype (checks the vjp)."""
    if not isinstance(gx, Tensor):
        raise TypeError(f"{type(node).__name__}.vjp returned {type(gx).__name__} for input {i}; "
                        "a vjp must return Tensors")
    if gx._data.shape != x._data.shape:
        try:
            gx = sum_to(gx, x._data.shape)
        except ValueError:
            raise ValueError(f"{type(node).__name__}.vjp returned shape {gx.shape} for input {i} "
                             f"of shape {x.shape}") from None
    if gx._data.dtype != x._data.dtype:
        gx = gx.astype(x._data.dtype)
    return gx


def _check_versions(node):
    """Refuse to use values that an in-place write changed after the node recorded them."""
    stamp = node._stamp
    for i, t in enumerate(node.inputs):
        vc = t._vc
        if vc is not None and vc[0] > stamp:
            raise RuntimeError(
                f"backward: input {i} of {type(node).__name__} (shape {t.shape}) was modified "
                "in place after it was used; its gradient would be wrong. Make a copy "
                "(.clone()) before modifying it, or modify it out of place")
    for t in node.outputs:
        if t is not None and t._vc is not None and t._vc[0] > stamp:
            raise RuntimeError(
                f"backward: the output of {type(node).__name__} (shape {t.shape}) was modified "
                "in place after it was computed; its gradient would be wrong")


def _run_hooks(t, g):
    extra = t._extra
    if _state.tracer is not None and (extra.get("hooks") or extra.get("retains_grad")):
        _state.tracer.refuse("a hook or retain_grad() on an intermediate tensor")
    for hook in extra.get("hooks", ()):
        new = hook(g)
        if new is not None:
            g = new if isinstance(new, Tensor) else make(as_array(new, g.dtype))
    return g


class GradBuffer:
    """Memory set aside for a leaf's gradient: a view into an optimizer's flat gradient buffer.

    Installed as ``leaf._extra["grad_buffer"]``. The engine writes the leaf's first gradient
    into it (no allocation, and the optimizer finds every gradient in one flat array), but only
    while nothing else can see that memory: a gradient handed out before `zero_grad()` and still
    held somewhere (the Tensor, its array, or a view of the buffer) keeps its values, as in
    PyTorch. Whether anything else holds it is read from reference counts, compared with the
    counts taken when the buffer was set up (`calibrate`), when nothing else held it.
    """

    __slots__ = ("view", "base", "_counts")

    def __init__(self, view):
        self.view, self.base = view, view.base
        self._counts = None

    def _refs(self):
        return sys.getrefcount(self.view), sys.getrefcount(self.base)

    def calibrate(self):
        """Record the reference counts of an unobserved buffer (call once all views exist)."""
        self._counts = self._refs() if _REFCOUNTS_EXACT else None

    def take(self):
        """The buffer, if nothing outside its owner references it; else None."""
        if self._counts is not None and self._refs() == self._counts:
            return self.view
        return None


# Reference counts are exact on CPython with the GIL; elsewhere the engine always copies.
_REFCOUNTS_EXACT = hasattr(sys, "getrefcount") and (
    not hasattr(sys, "_is_gil_enabled") or sys._is_gil_enabled())


def grad_sink(t):
    """Memory a vjp may compute leaf t's gradient into (with out=), saving the engine's copy.

    t's free GradBuffer, when the gradient the vjp computes will become t.grad as it is: during
    backward() without create_graph, t has no gradient yet and no hooks. Else None.
    """
    extra = t._extra
    if not _state.grad_sinks or t.grad is not None or extra is None or "hooks" in extra:
        return None
    buf = extra.get("grad_buffer")
    return None if buf is None else buf.take()


def _first_grad(g, extra):
    """A leaf's first gradient in memory of its own: its free GradBuffer, else a fresh copy.

    Never g's own array: g may be shared with other tensors (the two inputs of add get the same
    gradient) or be the caller's grad_output. A vjp may already have written it into the
    buffer (grad_sink).
    """
    buf = extra.get("grad_buffer") if extra is not None else None
    if buf is not None:
        if g._data is buf.view:
            return make(buf.view)
        out = buf.take()
        if out is not None and out.shape == g._data.shape and out.dtype == g._data.dtype:
            np.copyto(out, g._data)
            return make(out)
    return make(g._data.copy())


def _accumulate_leaf(t, g, create_graph):
    if _state.tracer is not None:  # cr.compile records the delivery, then makes it untraced
        _state.tracer.leaf(t, g, create_graph)
        return
    extra = t._extra
    if extra is not None:
        g = _run_hooks(t, g)
    if t.grad is None:
        t.grad = g if create_graph else _first_grad(g, extra)
    elif create_graph or t.grad.requires_grad:
        t.grad = t.grad + g
    else:
        np.add(t.grad._data, g._data, out=t.grad._data, casting="unsafe")


def deliver(t, a):
    """What backward() does with leaf t's gradient array a, for a cr.compile replay; returns the
    array t.grad then holds."""
    _accumulate_leaf(t, make(a), False)
    return t.grad._data


def backward(tensors, grad_tensors=None, retain_graph=False, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into the ``.grad`` of every leaf (or only of `inputs`)."""
    if inputs is None:
        _backprop(tensors, grad_tensors, retain_graph, create_graph, None)
        return
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for t, g in zip(inputs, _backprop(tensors, grad_tensors, retain_graph, create_graph, inputs)):
        if g is not None:
            _accumulate_leaf(t, g, create_graph)


def _backprop(roots, grads, retain_graph, create_graph, inputs):
    """Walk the graph from `roots`; accumulate into leaves, or return the grads of `inputs`.

    With ``inputs`` given (``autograd.grad`` mode) nothing is accumulated into ``.grad``; the
    gradient of each input (leaf or not) is returned, None where no gradient reaches it.
    """
    if isinstance(roots, Tensor):
        roots, grads = [roots], [grads]
    grads = [None] * len(roots) if grads is None else list(grads)
    for r in roots:
        if not r.requires_grad:
            raise RuntimeError("backward: the output does not require grad (no input that "
                               "requires grad reaches it, or it was computed under no_grad)")
    capture = None if inputs is None else {id(t): None for t in inputs}  # ids: == is elementwise
    root_grads = [_root_grad(r, g) for r, g in zip(roots, grads)]  # validate before walking
    order = toposort(roots)
    pending = {}  # node -> gradient of its output (a list for multi-output nodes)
    prev_mode, prev_sinks = _state.grad_enabled, _state.grad_sinks
    _state.grad_enabled = create_graph
    # vjps may write a leaf's gradient straight into its buffer only when that gradient will
    # become its .grad (backward() without create_graph), see grad_sink
    # (not while cr.compile traces: a replay hands each leaf its gradient itself)
    _state.grad_sinks = capture is None and not create_graph and _state.tracer is None
    if _state.tracer is not None:
        _state.tracer.backprops += 1
    try:
        for r, g in zip(roots, root_grads):
            _send(r, g, pending, capture, create_graph)
        now = _clock[0]
        for node in order:
            g = pending.pop(node, None)
            if g is None:
                continue
            if capture is not None or type(g) is list:
                g = _output_grads(node, g, capture, create_graph)
            else:  # one output: only hooks or retain_grad need more than a look
                out = node._outputs()
                if out is not None and out._extra is not None:
                    g = _output_grads(node, g, capture, create_graph)
            if node._stamp != now and node.reads_values:
                _check_versions(node)
            gin = node.vjp(g)
            xs = node.inputs
            if type(gin) is not tuple:
                gin = (gin,)
            if len(gin) != len(xs):
                raise RuntimeError(f"{type(node).__name__}.vjp returned {len(gin)} gradients "
                                   f"for {len(xs)} inputs")
            if _state.anomaly is not None:  # a checker installed by inspect.detect_anomaly
                _state.anomaly(node, "vjp", gin, g)
            for i, gx in enumerate(gin):
                if gx is None:
                    continue
                x = xs[i]
                if not x.requires_grad:
                    continue
                if type(gx) is not Tensor or gx._data.shape != x._data.shape \
                        or gx._data.dtype != x._data.dtype:
                    gx = _fit(node, i, x, gx)
                f = x.grad_fn
                if f is None and capture is None:
                    _accumulate_leaf(x, gx, create_graph)
                elif f is None or capture is not None or x._extra is not None \
                        or type(f._outputs) is tuple:
                    _send(x, gx, pending, capture, create_graph)
                else:  # the common case, inlined: sum into the producer's pending gradient
                    prev = pending.get(f)
                    pending[f] = gx if prev is None else prev + gx
    finally:
        _state.grad_enabled, _state.grad_sinks = prev_mode, prev_sinks
        if not retain_graph:
            # after the walk, not during it: a consumer's inputs keep alive the outputs that
            # producers further down still read in their vjp
            for node in order:
                node.inputs = None
    if capture is not None:
        return [capture[id(t)] for t in inputs]
    return None


def _send(t, g, pending, capture, create_graph):
    """Deliver gradient g of tensor t: to its producer's pending sum, or into the leaf."""
    node = t.grad_fn
    if node is None:
        if capture is None:
            _accumulate_leaf(t, g, create_graph)
        elif id(t) in capture:
            prev = capture[id(t)]
            capture[id(t)] = g if prev is None else prev + g
        return
    if type(node._outputs) is tuple:
        slot = pending.get(node)
        if slot is None:
            slot = pending[node] = [None] * len(node._outputs)
        slot[t._index] = g if slot[t._index] is None else slot[t._index] + g
    else:
        prev = pending.get(node)
        pending[node] = g if prev is None else prev + g


def _output_grads(node, g, capture, create_graph):
    """Apply hooks / retain_grad / capture to the node's outputs; returns what vjp receives."""
    if type(g) is not list:
        t = node._outputs()
        return g if t is None else _output_grad(t, g, capture, create_graph)
    for i, t in enumerate(node.outputs):
        if t is not None and g[i] is not None:
            g[i] = _output_grad(t, g[i], capture, create_graph)
    return tuple(g)


def _output_grad(t, g, capture, create_graph):
    """g after t's hooks, with t's retain_grad and the capture of autograd.grad applied."""
    if t._extra is not None:
        g = _run_hooks(t, g)
        if t._extra.get("retains_grad"):
            t.grad = g if create_graph else make(g._data.copy())
    if capture is not None and id(t) in capture:
        capture[id(t)] = g
    return g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` w.r.t. `inputs` (sum over outputs), as PyTorch's autograd.grad.

    Returns a tuple with one Tensor per input. Nothing is accumulated into ``.grad``.
    ``create_graph=True`` records the backward pass, so the result can be differentiated again.
    """
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    single_in = isinstance(inputs, Tensor)
    inputs = [inputs] if single_in else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if single_out or grad_outputs is None \
            else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"autograd.grad: got {len(grad_outputs)} grad_outputs for "
                         f"{len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"autograd.grad: input {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} (shape {t.shape}) does not require "
                               "grad")
    if retain_graph is None:
        retain_graph = create_graph
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if live:
        result = _backprop([o for o, _ in live], [g for _, g in live], retain_graph,
                           create_graph, inputs)
    else:
        result = [None] * len(inputs)
    for i, r in enumerate(result):
        if r is None and not allow_unused:
            raise RuntimeError(f"autograd.grad: input {i} (shape {inputs[i].shape}) was not "
                               "used to compute the outputs; pass allow_unused=True to get None")
    return tuple(result)
