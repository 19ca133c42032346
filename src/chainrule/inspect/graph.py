"""The computational graph as Graphviz DOT: tensors (name, shape, value, gradient) and ops.

Rendering to SVG needs Graphviz's ``dot`` program on PATH; the DOT text itself needs nothing.
"""

import os
import shutil
import subprocess
import sys
import tempfile

from chainrule.inspect._trace import Trace, fmt_num, fmt_value

_STYLE = {"param": "lightblue", "const": "gray92", "output": "orange", "inner": "white"}


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _summary(a):
    """A value for a node label: the number, a short list, or shape and norm."""
    if a.size <= 4:
        return fmt_value(a)
    return f"norm {fmt_num(float((a.astype(float) ** 2).sum()) ** 0.5)}"


def to_dot(output, names=None, show_grad=True):
    """Graphviz DOT source of the graph that computed `output`: boxes are tensors, ellipses ops.

    Each tensor shows its name, shape, value (or norm) and, for a scalar output, the gradient
    d(output)/d(tensor). Call it before ``backward()`` releases the graph.

        >>> import chainrule as cr
        >>> w = cr.tensor(3.0, requires_grad=True)
        >>> print(to_dot(w * w).splitlines()[0])
        digraph chainrule {
    """
    trace = Trace(output, names, sys._getframe(1))
    out_name = trace.name(trace.output)
    lines = ["digraph chainrule {", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for k, t in enumerate(trace.tensors):
        label = [trace.name(t)]
        if t.ndim:
            label.append(f"shape {t.shape}")
        label.append(_summary(t._data))
        g = trace.grad(t) if show_grad else None
        if g is not None:
            label.append(f"d{out_name}/d{trace.name(t)} = {_summary(g)}")
        kind = "output" if t is trace.output else "inner" if t.grad_fn is not None else \
            "param" if t.requires_grad else "const"
        lines.append(f"  t{k} [shape=box, style=filled, fillcolor={_STYLE[kind]}, "
                     f"label={_quote(chr(10).join(label))}];")
    for step in trace.steps:
        label = f"{step.op}\n{step.expr}"
        lines.append(f"  op{step.index} [shape=ellipse, label={_quote(label)}];")
        for t in step.inputs:
            lines.append(f"  t{trace.index(t)} -> op{step.index};")
        for t in step.outs:
            if t is not None:
                lines.append(f"  op{step.index} -> t{trace.index(t)};")
    lines.append("}")
    return DotSource("\n".join(lines) + "\n")


class DotSource(str):
    """to_dot()'s DOT text (a str), which a notebook displays as an inline SVG picture."""

    def _repr_html_(self):  # Graphviz when on PATH, else a layered SVG (chainrule.inspect._repr)
        from chainrule.inspect import _repr as reprs

        return f'<div class="cr-graph">{reprs.graph_svg(str(self))}</div>'


def dot_available():
    """True when Graphviz's ``dot`` program is on PATH (needed only to render)."""
    return shutil.which("dot") is not None


def render_dot(source, path, format="svg"):
    """Render DOT source to `path` with Graphviz's ``dot`` (svg, png or pdf); returns the path.

    The file is written whole or not at all (rendered to a temporary file, then renamed).
    """
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("render_dot: Graphviz's `dot` program is not on PATH; install "
                           "Graphviz (e.g. apt install graphviz) or save the DOT text instead")
    if format not in ("svg", "png", "pdf"):
        raise ValueError(f"render_dot: format must be 'svg', 'png' or 'pdf'; got {format!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=f".{format}")
    os.close(fd)
    try:
        done = subprocess.run([exe, f"-T{format}", "-o", tmp], input=source.encode(),
                              capture_output=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"render_dot: dot failed with exit code {done.returncode}; got "
                               f"{done.stderr.decode(errors='replace').strip()}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
