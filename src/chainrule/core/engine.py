"""Reverse-mode engine: walk the graph in topological order and apply each op's vjp once.

The walk is iterative (no recursion limit), gradients of an op's outputs are summed before its
vjp runs, leaf gradients accumulate into ``.grad`` like PyTorch's, and the graph (with the
arrays it saved) is released afterwards unless ``retain_graph=True``.
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.broadcast import sum_to
from chainrule.core.tensor import Tensor, as_array, from_array

_state = _mode.state
_clock = _mode.clock


def toposort(roots):
    """Nodes reachable from the roots, each listed before the nodes that produced its inputs;
    and the ids of the leaves (requiring grad) that more than one node input reads."""
    order, seen, uses = [], set(), {}
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
            if f is None:
                if t.requires_grad:
                    uses[id(t)] = uses.get(id(t), 0) + 1
            elif f not in seen:
                stack.append((f, False))
    order.reverse()
    return order, {k: n for k, n in uses.items() if n > 1}


def _root_grad(root, g):
    if g is None:
        if root._data.size != 1:
            raise RuntimeError(f"backward: gradient can be implicitly created only for a scalar "
                               f"output; got shape {root.shape}; reduce it with .sum() or pass "
                               f"gradient= of the same shape")
        return from_array(np.ones_like(root._data))
    g = g if isinstance(g, Tensor) else from_array(as_array(g, root.dtype))
    if g.shape != root.shape:
        raise RuntimeError(f"backward: gradient has shape {g.shape} but the output has shape "
                           f"{root.shape}")
    return g


def _match_input(node, i, x, gx):
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
        v = t._version
        if v is not None and v[0] > stamp:
            raise RuntimeError(
                f"backward: input {i} of {type(node).__name__} (shape {t.shape}) was modified "
                "in place after it was used; its gradient would be wrong. Make a copy "
                "(.clone()) before modifying it, or modify it out of place")
    for t in node.outputs:
        if t is not None and t._version is not None and t._version[0] > stamp:
            raise RuntimeError(
                f"backward: the output of {type(node).__name__} (shape {t.shape}) was modified "
                "in place after it was computed; its gradient would be wrong")


def _run_hooks(t, g):
    for hook in t._extra.get("hooks", ()):
        new = hook(g)
        if new is not None:
            g = new if isinstance(new, Tensor) else from_array(as_array(new, g.dtype))
    return g


# ---- leaf gradients, and the memory they may be written into ------------------------------
# A *grad sink* owns memory for a leaf's gradients (an optimizer's flat gradient buffer) and is
# installed with set_grad_sink(leaf, sink). It has two methods:
#   memory(t) -> ndarray | None: memory shaped and typed like t, that nobody else can see, where
#       t's next first gradient may be computed (a vjp writes it there with out=), or None
#   first_grad(t, g) -> Tensor | None: the Tensor to become t.grad, holding g's values (g's own
#       array when it is memory the sink gave out), or None to let the engine copy g

def set_grad_sink(t, sink):
    """Let `sink` provide the memory of leaf t's gradients (None removes it)."""
    extra = t._extra if t._extra is not None else {}
    t._extra = extra
    if sink is None:
        extra.pop("grad_sink", None)
    else:
        extra["grad_sink"] = sink


def leaf_grad_memory(t):
    """Memory a vjp may compute leaf t's gradient into (with out=), saving the engine's copy.

    Offered by t's grad sink, when the gradient the vjp computes will become t.grad as it is:
    inside backward() without create_graph, t has no gradient yet and no hooks. Else None.
    """
    return grad_memory(t) if _state.accumulating else None


def grad_memory(t):
    """The memory t's grad sink offers for t's next gradient if it becomes t.grad as it is (t
    has no gradient and no hooks), else None; a cr.compile replay asks it outside backward()."""
    extra = t._extra
    if t.grad is not None or extra is None or "hooks" in extra:
        return None
    sink = extra.get("grad_sink")
    return None if sink is None else sink.memory(t)


def _first_grad(t, g, extra):
    """A leaf's first gradient in memory of its own: from its grad sink, else a fresh copy.

    Never g itself (unless its sink gave out that memory): g may be shared with other tensors
    (the two inputs of add get the same gradient) or be the caller's grad_output.
    """
    sink = extra.get("grad_sink") if extra is not None else None
    if sink is not None:
        out = sink.first_grad(t, g)
        if out is not None:
            return out
    return from_array(g._data.copy())


def _accumulate_leaf(t, g, create_graph):
    """t.grad += g (t.grad = a copy of g the first time), after t's hooks; then the events."""
    interceptors = _state.interceptors
    if interceptors:  # the accumulation itself is not an event: a replay redoes it whole
        _state.interceptors = ()
    try:
        extra = t._extra
        h = _run_hooks(t, g) if extra is not None and "hooks" in extra else g
        if t.grad is None:
            t.grad = h if create_graph else _first_grad(t, h, extra)
        elif create_graph or t.grad.requires_grad:
            t.grad = t.grad + h
        else:
            np.add(t.grad._data, h._data, out=t.grad._data, casting="unsafe")
        if extra is not None and "post_accumulate_hooks" in extra:
            for hook in extra["post_accumulate_hooks"]:
                hook(t)
    finally:
        _state.interceptors = interceptors
    for i in interceptors:
        i.leaf_grad(t, g, create_graph)


def deliver_leaf_grad(t, a):
    """What backward() does with leaf t's gradient array a (for a cr.compile replay); returns
    the array t.grad then holds."""
    _accumulate_leaf(t, from_array(a), False)
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
    order, shared = toposort(roots)
    # a leaf read by several inputs gets the sum of their gradients, delivered once after the
    # last of them (as PyTorch: its hooks see the sum); others get theirs as it is computed
    shared = shared if capture is None else {}
    leaf_sums = {}
    pending = {}  # node -> gradient of its output (a list for multi-output nodes)
    prev_mode, prev_accumulating = _state.grad_enabled, _state.accumulating
    _state.grad_enabled = create_graph
    # a vjp may write a leaf's gradient into its sink's memory only when that gradient becomes
    # its .grad as it is (and not while interceptors observe: a replay delivers it itself)
    _state.accumulating = capture is None and not create_graph and not _state.interceptors
    for i in _state.interceptors:
        i.backward()
    try:
        for r, g in zip(roots, root_grads):
            _route(r, g, pending, capture, create_graph)
        now = _clock[0]
        for node in order:
            g = pending.pop(node, None)
            if g is None:
                if shared:
                    _leaf_uses_done(node, (None,) * len(node.inputs), shared, leaf_sums,
                                    create_graph)
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
            if _state.interceptors:
                for i in _state.interceptors:
                    i.vjp(node, gin, g)
            if shared:
                gin = _leaf_uses_done(node, gin, shared, leaf_sums, create_graph)
            for i, gx in enumerate(gin):
                if gx is None:
                    continue
                x = xs[i]
                if not x.requires_grad:
                    continue
                if type(gx) is not Tensor or gx._data.shape != x._data.shape \
                        or gx._data.dtype != x._data.dtype:
                    gx = _match_input(node, i, x, gx)
                f = x.grad_fn
                if f is None and capture is None:
                    _accumulate_leaf(x, gx, create_graph)
                elif f is None or capture is not None or x._extra is not None \
                        or type(f._outputs) is tuple:
                    _route(x, gx, pending, capture, create_graph)
                else:  # the common case, inlined: sum into the producer's pending gradient
                    prev = pending.get(f)
                    pending[f] = gx if prev is None else prev + gx
    finally:
        _state.grad_enabled, _state.accumulating = prev_mode, prev_accumulating
        if not retain_graph:
            # after the walk, not during it: a consumer's inputs keep alive the outputs that
            # producers further down still read in their vjp
            for node in order:
                node.inputs = None
    if capture is not None:
        return [capture[id(t)] for t in inputs]
    return None


def _leaf_uses_done(node, gin, shared, leaf_sums, create_graph):
    """Sum the gradients for node's inputs that are shared leaves; deliver each leaf's sum after
    its last use. Returns gin without them."""
    gin = list(gin)
    for i, x in enumerate(node.inputs):
        key = id(x)
        if key not in shared:
            continue
        gx = gin[i]
        gin[i] = None
        if gx is not None and x.requires_grad:
            gx = _match_input(node, i, x, gx) if type(gx) is not Tensor or \
                gx._data.shape != x._data.shape or gx._data.dtype != x._data.dtype else gx
            prev = leaf_sums.get(key)
            leaf_sums[key] = gx if prev is None else prev + gx
        shared[key] -= 1
        if shared[key] == 0:
            del shared[key]
            total = leaf_sums.pop(key, None)
            if total is not None:
                _accumulate_leaf(x, total, create_graph)
    return gin


def _route(t, g, pending, capture, create_graph):
    """Route gradient g of tensor t: into its producer's pending sum, or into the leaf."""
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
    extra = t._extra
    if extra is not None and ("hooks" in extra or "retains_grad" in extra):
        for i in _state.interceptors:
            i.intermediate_hook(t)
        if "hooks" in extra:
            g = _run_hooks(t, g)
        if extra.get("retains_grad"):
            t.grad = g if create_graph else from_array(g._data.copy())
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
