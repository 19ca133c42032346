"""explain / explain_step: the chain-rule derivation of dL/dw with the actual numbers.

The derivation is read off the recorded graph: the forward values in order; then, going
backward, each op's local derivative (formula from the op's docstring, and value), the upstream
gradient and their product; then the final gradients, and for scalar graphs the chain rule written
leaf by leaf through the tensors the caller named (seed 002's dL/dw1 = dL/dz · dz/dw1).
"""

import sys

import numpy as np

from chainrule._device import require_host as _require_host
from chainrule.inspect import _render
from chainrule.inspect._trace import Trace, fmt_num, fmt_value

_FORMATS = ("text", "markdown", "latex")
_MAX_PATHS = 6


def _check_fmt(fname, fmt):
    if fmt not in _FORMATS:
        raise ValueError(f"{fname}: fmt must be one of {_FORMATS}; got {fmt!r}")


def explain(output, fmt="text", names=None):
    """The chain-rule derivation of d(output)/d(leaf) for every leaf that requires grad.

    Call it before ``backward()`` (which releases the graph) or after ``backward(retain_graph=
    True)``. Tensors are named after the caller's variables; pass ``names`` (a dict name -> tensor
    or a Module, whose parameter names are used) to name others. Returns a string.

        >>> import chainrule as cr
        >>> w = cr.tensor(3.0, requires_grad=True)
        >>> y = w * w
        >>> print(explain(y).splitlines()[-1])
            dy/dw = 3.0 + 3.0 = 6.0
    """
    _require_host("explain", output)
    _check_fmt("explain", fmt)
    trace = Trace(output, names, sys._getframe(1))
    return _render.render(_derivation(trace), fmt)


def explain_step(output, lr, fmt="text", names=None, maximize=False):
    """explain(output) plus the gradient step w <- w - lr dL/dw and the recomputed output.

    ``lr`` may be a number or a sequence of them (one step each, all from the same point).
    ``maximize=True`` steps uphill, w <- w + lr dL/dw, as seed 002 does to raise L to a target.
    The new output is computed by replaying the recorded ops with the updated leaves (the leaves
    themselves are not changed).
    """
    _require_host("explain_step", output)
    _check_fmt("explain_step", fmt)
    lrs = [lr] if np.ndim(lr) == 0 else list(lr)
    for a in lrs:
        if not isinstance(a, (int, float, np.number)) or isinstance(a, bool) or not a > 0:
            raise ValueError(f"explain_step: lr must be a positive number; got {a!r}")
    trace = Trace(output, names, sys._getframe(1))
    if not trace.scalar:
        raise ValueError(f"explain_step: the output must be a scalar to take a gradient step; "
                         f"got shape {output.shape}")
    doc = _derivation(trace)
    doc["steps"] = [_update(trace, float(a), maximize) for a in lrs]
    return _render.render(doc, fmt)


# ---- the derivation as data; _render turns it into text, Markdown or LaTeX ---------------------
def _derivation(trace):
    out_name = trace.name(trace.output)
    wrt = [trace.name(t) for t in trace.leaves]
    doc = {"output": out_name, "wrt": wrt, "forward": [], "backward": [], "grads": [],
           "chains": [], "steps": []}
    for step in trace.steps:
        if step.out is None:
            continue
        doc["forward"].append((step.index, _names_of_outs(trace, step), step.expr,
                               _values_of_outs(step)))
    if not trace.scalar:
        doc["note"] = (f"{out_name} has shape {trace.output.shape}: gradients are shown for "
                       "scalar outputs only; reduce it (e.g. .sum()) to explain them")
        return doc
    received = {}
    for step in reversed(trace.steps):
        if step.upstream is None or not step.edges:
            continue
        if isinstance(step.upstream, list):
            up = ", ".join(f"d{out_name}/d{trace.name(t)} = {fmt_value(g)}" for t, g in
                           zip(step.outs, step.upstream) if t is not None and g is not None)
        else:
            up = f"d{out_name}/d{trace.name(step.out)} = {fmt_value(step.upstream)}"
        rows = []
        for e in step.edges:
            if e.product is None:
                continue
            n = received.get(id(e.tensor), 0)
            received[id(e.tensor)] = n + 1
            rows.append(_edge_row(trace, step, e, out_name, accumulated=n > 0))
        doc["backward"].append((step.index, _names_of_outs(trace, step), step.expr, step.rule,
                                up, rows))
    for t in trace.leaves:
        g = trace.grad(t)
        doc["grads"].append((f"d{out_name}/d{trace.name(t)}",
                             "0.0 (no path)" if g is None else fmt_value(g)))
    if all(t.size == 1 for t in trace.tensors if t.requires_grad):
        doc["chains"] = [_chain(trace, t) for t in trace.leaves if trace.grad(t) is not None]
    return doc


def _names_of_outs(trace, step):
    return ", ".join(trace.name(t) if t is not None else "_" for t in step.outs)


def _values_of_outs(step):
    return ", ".join(fmt_value(t._data) if t is not None else "_" for t in step.outs)


def _edge_row(trace, step, e, out_name, accumulated):
    """(local symbol, formula, local value, product symbol, upstream × local, product, +=)."""
    target = f"d{out_name}/d{trace.name(e.tensor)}"
    formula = e.formula
    local = None if e.local is None else fmt_num(e.local)
    if formula is not None and local is not None and _same_number(formula, local):
        formula = None
    if local is not None and not isinstance(step.upstream, list):
        factors = f"{fmt_value(step.upstream)} × {local}"
    else:
        factors = None
    return (e.symbol or "", formula, local, target, factors, fmt_value(e.product), accumulated)


def _same_number(formula, value):
    try:
        return float(formula) == float(value)
    except ValueError:
        return False


def _chain(trace, leaf):
    """dL/dw for one leaf of a scalar graph, written path by path through the named tensors."""
    producer = {id(s.out): s for s in trace.steps if s.out is not None and len(s.outs) == 1}
    reach = {}

    def reaches(t):
        if t is leaf:
            return True
        if id(t) not in reach:
            s = producer.get(id(t))
            reach[id(t)] = s is not None and any(e.product is not None and reaches(e.tensor)
                                                 for e in s.edges)
        return reach[id(t)]

    paths, stack = [], [(trace.output, [])]
    while stack and len(paths) <= _MAX_PATHS:
        t, path = stack.pop()
        if t is leaf:
            paths.append(path)
            continue
        s = producer.get(id(t))
        for e in reversed(s.edges if s is not None else []):
            if e.product is not None and reaches(e.tensor):
                stack.append((e.tensor, path + [e]))
    out_name = trace.name(trace.output)
    symbol = f"d{out_name}/d{trace.name(leaf)}"
    value = fmt_value(trace.grad(leaf))
    if len(paths) > _MAX_PATHS:
        return {"symbol": symbol, "paths": [], "value": value,
                "note": f"more than {_MAX_PATHS} paths; see the backward pass above"}
    return {"symbol": symbol, "value": value,
            "paths": [_segments(trace, path, out_name) for path in paths]}


def _segments(trace, path, out_name):
    """Split a path at the tensors the caller named: [(dA/dB, formula, value)]."""
    segments, start, factors, value = [], out_name, [], 1.0
    for i, e in enumerate(path):
        f = e.chain_formula if e.chain_formula is not None else e.symbol
        if f != "1":
            factors.append(f)
        value *= float(e.local) if e.local is not None else float("nan")
        if id(e.tensor) in trace.user_named or i == len(path) - 1:
            name = trace.name(e.tensor)
            formula = " · ".join(_paren(f) if len(factors) > 1 else f for f in factors) or "1"
            segments.append((f"d{start}/d{name}", formula, fmt_num(value)))
            start, factors, value = name, [], 1.0
    return segments


def _paren(f):
    return f"({f})" if f.startswith("-") or any(op in f for op in (" ", "+", "-", "/")) else f


def _update(trace, lr, maximize):
    """One gradient step on every leaf, and the ops replayed forward with the new values."""
    sign = 1.0 if maximize else -1.0
    new, rows = {}, []
    for t in trace.leaves:
        g = trace.grad(t)
        if g is None:
            continue
        w = np.asarray(t._data)
        w_new = (w + sign * lr * g).astype(w.dtype)
        new[id(t)] = w_new
        op = "+" if maximize else "-"
        if w.size == 1:
            rows.append((trace.name(t), f"{fmt_num(w)} {op} {fmt_num(lr)} × {fmt_num(g)}",
                         fmt_num(w_new)))
        else:
            rows.append((trace.name(t), f"{trace.name(t)} {op} {fmt_num(lr)} × "
                         f"d{trace.name(trace.output)}/d{trace.name(t)}", fmt_value(w_new)))
    values = trace.recompute(new)
    replay = []
    for step in trace.steps:
        if step.out is not None:
            replay.append((step.index, _names_of_outs(trace, step), step.expr,
                           ", ".join(fmt_value(values[id(t)]) if t is not None else "_"
                                     for t in step.outs)))
    before = trace.output._data
    after = values[id(trace.output)]
    return {"lr": fmt_num(lr), "maximize": maximize, "rows": rows, "replay": replay,
            "before": fmt_value(before), "after": fmt_value(after),
            "change": fmt_value(np.asarray(after, dtype=np.float64) - before)}
