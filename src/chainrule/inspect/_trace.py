"""Trace a recorded graph: tensors, names, op formulas, and every gradient dL/dt, one op at a time.

Shared by `explain` (the derivation as text) and `to_dot` (the graph as a picture). Gradients are
computed by calling each node's own vjp under no_grad, so the numbers shown are exactly the ones
backward() would produce, step by step.
"""

import re

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.engine import toposort
from chainrule.core.tensor import Tensor, from_array

# "dy/da = b" or "dY/dA: G B^T": a derivative (=) or a vjp rule (:) of one input
_CLAUSE = re.compile(r"d(\w+)/d(\w+)\s*([:=])\s*")
_SKIP_NAMES = {"self", "cls"}


def fmt_num(v):
    """A number with up to 6 significant digits: 2.0, 1.5, 6.58, 1.2e-07."""
    v = float(v)
    if v == 0 or not np.isfinite(v):
        return "0.0" if v == 0 else str(v)
    if 1e-4 <= abs(v) < 1e6:
        return np.format_float_positional(v, precision=6, unique=False, fractional=False,
                                          trim="0")
    return np.format_float_scientific(v, precision=4, unique=False, trim="-")


def fmt_value(a, few=4):
    """A scalar as a number, a short array as a list, a longer one as shape, norm, 3 entries."""
    a = np.asarray(a)
    if a.size == 1:
        return fmt_num(a.reshape(()))
    flat = a.reshape(-1)
    if a.size <= few:
        return "[" + ", ".join(fmt_num(v) for v in flat) + "]"
    head = ", ".join(fmt_num(v) for v in flat[:3])
    return f"shape {a.shape}, norm {fmt_num(np.linalg.norm(flat))}, [{head}, ...]"


def _parse_doc(node):
    """(output symbol, forward expression, {input index: (symbol, sep, formula)}) from a docstring.

    The docstring's first paragraph reads "y = a * b;  dy/da = b, dy/db = a". Clauses are matched
    to inputs in order; when their count differs from the op's inputs, no mapping is made.
    """
    doc = " ".join((type(node).__doc__ or "").strip().split("\n\n")[0].split())
    forward, _, rule = doc.partition(";")
    out_sym, eq, expr = forward.partition("=")
    out_sym, expr = out_sym.strip(), expr.strip() if eq else ""
    matches = list(_CLAUSE.finditer(rule))
    clauses = []
    for m, nxt in zip(matches, matches[1:] + [None]):
        formula = rule[m.end():nxt.start() if nxt else len(rule)].strip().rstrip(",").strip()
        clauses.append((m.group(2), m.group(3), formula))
    if not re.fullmatch(r"\w+", out_sym or "-"):
        out_sym, expr = "", ""
    mapping = {i: c for i, c in enumerate(clauses)} if len(clauses) == len(node.inputs) else {}
    return out_sym, expr, mapping


def substitute(text, symbols):
    """Replace whole-word symbols (y, a, b, x, ...) in a formula by tensor names."""
    if not symbols:
        return text
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(s) for s in
                                                   sorted(symbols, key=len, reverse=True))
                         + r")(?![\w(])")
    return pattern.sub(lambda m: symbols[m.group(1)], text)


class Step:
    """One recorded op: its output name, inputs, forward formula, and backward contributions."""

    __slots__ = ("index", "node", "op", "out", "outs", "inputs", "expr", "rule", "edges",
                 "upstream")

    def __init__(self, index, node):
        self.index, self.node, self.op = index, node, type(node).__name__
        self.edges = []  # (input position, local derivative or None, contribution)
        self.upstream = None


class Edge:
    """The backward of one op for one input: local derivative, upstream gradient, product."""

    __slots__ = ("pos", "tensor", "symbol", "formula", "chain_formula", "local", "product")

    def __init__(self, pos, tensor):
        self.pos, self.tensor = pos, tensor
        self.symbol = self.formula = self.chain_formula = None
        self.local = self.product = None


class Trace:
    """A recorded graph ready to explain: tensors in forward order with names, values, grads."""

    def __init__(self, output, names=None, frame=None):
        if not isinstance(output, Tensor):
            raise TypeError(f"explain: expected a Tensor; got {type(output).__name__}")
        if output.grad_fn is None:
            raise ValueError("explain: the output has no recorded graph to explain (it is a "
                             "leaf, or was computed under no_grad or from tensors that do not "
                             "require grad); create the inputs with requires_grad=True")
        try:
            order = toposort([output])[0]
        except RuntimeError:
            raise ValueError("explain: the graph was released by an earlier backward(); call "
                             "explain before backward(), or pass retain_graph=True to backward()"
                             ) from None
        self.output = output
        self.nodes = order[::-1]  # forward order
        self.tensors = []  # forward order, each once
        self._ids = {}
        for node in self.nodes:
            for t in node.inputs:
                self._add(t)
            for t in node.outputs:
                if t is not None:
                    self._add(t)
        self._add(output)
        self.names = self._name(names, frame)
        self.leaves = [t for t in self.tensors if t.grad_fn is None and t.requires_grad]
        self.steps = [self._step(i + 1, node) for i, node in enumerate(self.nodes)]
        self.scalar = output.size == 1
        self.grads = self._backward() if self.scalar else {}

    def _add(self, t):
        if id(t) not in self._ids:
            self._ids[id(t)] = len(self.tensors)
            self.tensors.append(t)

    def index(self, t):
        return self._ids[id(t)]

    def name(self, t):
        return self.names[id(t)]

    # ---- names: the caller's variable names where they exist, v1, v2, ... otherwise ----------
    def _name(self, names, frame):
        found = {}
        if names is not None:
            items = names.named_parameters() if hasattr(names, "named_parameters") else \
                names.items()
            for key, value in items:
                if isinstance(key, Tensor):
                    key, value = value, key
                if isinstance(value, Tensor) and id(value) in self._ids:
                    found.setdefault(id(value), str(key))
        scopes = () if frame is None else (frame.f_locals, frame.f_globals)
        taken = set(found.values())
        for scope in scopes:
            for key, value in list(scope.items()):
                if isinstance(value, Tensor) and id(value) in self._ids and id(value) not in \
                        found and key not in taken and not key.startswith("_") \
                        and key not in _SKIP_NAMES:
                    found[id(value)] = key
                    taken.add(key)
        self.user_named = set(found)
        used = set(found.values())
        result = dict(found)
        if id(self.output) not in result:
            result[id(self.output)] = "L" if "L" not in used else "out"
            used.add(result[id(self.output)])
        counters = {"v": 0, "p": 0, "c": 0}
        for t in self.tensors:
            if id(t) in result:
                continue
            if t.grad_fn is None and not t.requires_grad and t.size == 1:
                v = fmt_num(t._data.reshape(()))
                result[id(t)] = f"({v})" if v.startswith("-") else v
                continue
            prefix = "v" if t.grad_fn is not None else ("p" if t.requires_grad else "c")
            while True:
                counters[prefix] += 1
                name = f"{prefix}{counters[prefix]}"
                if name not in used:
                    break
            used.add(name)
            result[id(t)] = name
        return result

    # ---- formulas ------------------------------------------------------------------------
    def _step(self, index, node):
        step = Step(index, node)
        step.outs = [t for t in node.outputs]
        out = next((t for t in step.outs if t is not None), None)
        step.out = out
        step.inputs = list(node.inputs)
        out_sym, expr, mapping = _parse_doc(node)
        symbols = {}
        if out_sym and out is not None and len(step.outs) == 1:
            symbols[out_sym] = self.name(out)
        for i, (sym, _, _) in mapping.items():
            if re.fullmatch(r"[A-Za-z]\w*", sym) and sym not in symbols:
                symbols[sym] = self.name(step.inputs[i])
        in_syms = [mapping[i][0] for i in mapping]
        if expr and all(re.search(rf"(?<![\w.]){re.escape(s)}(?!\w)", expr) for s in in_syms) \
                and in_syms:
            step.expr = substitute(expr, symbols)
        else:
            step.expr = f"{step.op}({', '.join(self.name(t) for t in step.inputs)})"
        rule = (type(node).__doc__ or "").strip().split("\n\n")[0]
        step.rule = f"{step.op}: " + " ".join(rule.split())
        for pos, x in enumerate(step.inputs):
            if not x.requires_grad:
                continue
            edge = Edge(pos, x)
            if out is not None:
                edge.symbol = f"d{self.name(out)}/d{self.name(x)}"
            if pos in mapping:
                _, sep, formula = mapping[pos]
                formula = substitute(formula, symbols)
                edge.formula = formula if sep == "=" else None
                edge.chain_formula = formula.split(" = ")[-1].strip() if sep == "=" else None
                if sep == ":":
                    edge.formula = f"vjp g -> {formula}"
            step.edges.append(edge)
        return step

    # ---- backward, one op at a time ------------------------------------------------------
    def _backward(self):
        from chainrule.core.broadcast import sum_to

        grads = {id(self.output): np.ones_like(self.output._data)}
        with _mode.no_grad():
            for step in reversed(self.steps):
                node = step.node
                gs = [grads.get(id(t)) if t is not None else None for t in step.outs]
                if all(g is None for g in gs):
                    continue
                if len(gs) == 1:
                    step.upstream = gs[0]
                    g_in = from_array(gs[0])
                    ones = from_array(np.ones_like(gs[0]))
                else:
                    step.upstream = gs
                    g_in = tuple(None if g is None else from_array(g) for g in gs)
                    ones = None
                gin = node.vjp(g_in)
                gin = gin if isinstance(gin, tuple) else (gin,)
                scalar = ones is not None and gs[0].size == 1
                local = None
                if scalar and any(e.tensor.size == 1 for e in step.edges):
                    local = node.vjp(ones)
                    local = local if isinstance(local, tuple) else (local,)
                for edge in step.edges:
                    gx = gin[edge.pos]
                    if gx is None:
                        continue
                    if gx.shape != edge.tensor.shape:
                        gx = sum_to(gx, edge.tensor.shape)
                    product = np.asarray(gx._data, dtype=edge.tensor.dtype)
                    edge.product = product
                    if local is not None and edge.tensor.size == 1 and local[edge.pos] is not None:
                        edge.local = np.asarray(local[edge.pos]._data).sum()
                    key = id(edge.tensor)
                    grads[key] = product.copy() if key not in grads else grads[key] + product
        return grads

    def grad(self, t):
        """dL/dt as an ndarray (None where no gradient reaches t)."""
        return self.grads.get(id(t))

    def recompute(self, new_values):
        """Replay the recorded ops forward with some leaves replaced: {id(leaf): ndarray}."""
        import copy

        values = {id(t): new_values.get(id(t), t._data) for t in self.tensors
                  if t.grad_fn is None}
        for step in self.steps:
            fn = copy.copy(step.node)  # forward may save state on the node; keep the graph intact
            y = fn.forward(*[values[id(t)] for t in step.inputs])
            ys = y if isinstance(y, tuple) else (y,)
            for t, v in zip(step.outs, ys):
                if t is not None:
                    values[id(t)] = np.asarray(v)
        return values
