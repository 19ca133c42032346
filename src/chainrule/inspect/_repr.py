"""Rich display in Jupyter: HTML, Markdown and LaTeX for tensors, derivations, graphs, diagnoses,
histories, spectra and Hessian results. Standard library and NumPy only (no new dependency).

The classes' ``_repr_html_`` (etc.) call these functions when a notebook displays an object
(Tensor's are installed on it by chainrule/_display.py, so core knows nothing of them); the tests
call them directly. Plots are
inline SVG drawn here (a polyline per series), so a repr never needs matplotlib; the graph uses
Graphviz's ``dot`` when it is on PATH, else a layered layout drawn as SVG here.
"""

import html as _html
import math
import re
import shutil
import subprocess

import numpy as np

_STYLE = ("<style>.cr-repr{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;"
          "font-size:13px;color:#222}.cr-repr table{border-collapse:collapse;margin:4px 0;"
          "display:table;font-size:13px}"
          ".cr-repr td,.cr-repr th{border:1px solid #ddd;padding:2px 8px;text-align:left;"
          "vertical-align:top}.cr-repr th{background:#f4f6f8}.cr-repr code,.cr-repr pre{"
          "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}"
          ".cr-repr pre{margin:2px 0}.cr-repr .frac{display:inline-flex;flex-direction:column;"
          "vertical-align:middle;text-align:center;font-size:90%;margin:0 1px}"
          ".cr-repr .frac>span:first-child{border-bottom:1px solid #333;padding:0 2px}"
          ".cr-repr .severity-error{color:#c0392b;font-weight:600}"
          ".cr-repr .severity-warning{color:#b07000;font-weight:600}"
          ".cr-repr .severity-info{color:#555}.cr-repr h4{margin:8px 0 2px}</style>")


def esc(text):
    """HTML-escaped text."""
    return _html.escape(str(text))


def _box(body):
    return f'<div class="cr-repr">{_STYLE}{body}</div>'


def _table(rows, header=None):
    out = ['<table class="cr-table">']
    if header:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _num(v):
    if v is None:
        return "n/a"
    v = float(v)
    return str(v) if not math.isfinite(v) else f"{v:.6g}"


# ---- inline SVG line plot -----------------------------------------------------------------------
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def svg_plot(series, title="", xlabel="", ylabel="", logy=False, width=460, height=260):
    """An SVG line plot of series = {label: (x, y)}; non-finite or None points are skipped."""
    clean = {}
    for label, (x, y) in series.items():
        pts = [(float(a), float(b)) for a, b in zip(x, y) if b is not None and a is not None]
        pts = [(a, b) for a, b in pts if math.isfinite(a) and math.isfinite(b)
               and (not logy or b > 0)]
        if pts:
            clean[label] = [(a, math.log10(b) if logy else b) for a, b in pts]
    left, right, top, bottom = 58, 12, 24, 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="15" text-anchor="middle" font-size="12">{esc(title)}</text>']
    if not clean:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no finite '
                   'values to plot</text></svg>')
        return "".join(out)
    xs = [a for pts in clean.values() for a, _ in pts]
    ys = [b for pts in clean.values() for _, b in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pw, ph = width - left - right, height - top - bottom
    X = lambda a: left + (a - x0) / (x1 - x0) * pw
    Y = lambda b: top + (1 - (b - y0) / (y1 - y0)) * ph
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
               'stroke="#888"/>')
    for k in range(5):
        yv, xv = y0 + k * (y1 - y0) / 4, x0 + k * (x1 - x0) / 4
        ytext = f"{10 ** yv:.3g}" if logy else f"{yv:.4g}"
        out.append(f'<text x="{left - 4}" y="{Y(yv) + 4:.1f}" text-anchor="end">{ytext}</text>')
        out.append(f'<text x="{X(xv):.1f}" y="{top + ph + 14}" text-anchor="middle">'
                   f'{xv:.4g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">'
               f'{esc(xlabel)}</text>')
    out.append(f'<text x="12" y="{top + ph / 2}" text-anchor="middle" transform="rotate(-90 12 '
               f'{top + ph / 2})">{esc(ylabel)}{" (log)" if logy else ""}</text>')
    for k, (label, pts) in enumerate(clean.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        path = " ".join(f"{X(a):.1f},{Y(b):.1f}" for a, b in pts)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" '
                   f'points="{path}"><title>{esc(label)}</title></polyline>')
        out.append(f'<text x="{left + pw - 4}" y="{top + 14 + 13 * k}" text-anchor="end" '
                   f'fill="{colour}">{esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)


# ---- Tensor -------------------------------------------------------------------------------------
def _tensor_fields(t):
    grad_fn = f"&lt;{esc(type(t.grad_fn).__name__)}&gt;" if t.grad_fn is not None else "None"
    return [("shape", esc(tuple(t.shape))), ("dtype", esc(t._data.dtype)),
            ("grad_fn", grad_fn), ("requires_grad", esc(t.requires_grad))]


def _values(a, threshold=200):
    return np.array2string(np.asarray(a), separator=", ", precision=4, threshold=threshold)


def tensor_html(t):
    """Tensor: shape, dtype, grad_fn, requires_grad, and the values (summarised when large)."""
    rows = [[f"<b>{k}</b>", v] for k, v in _tensor_fields(t)]
    rows.append(["<b>values</b>", f"<pre>{esc(_values(t._data))}</pre>"])
    return _box(f"<b>tensor</b>{_table(rows)}")


def tensor_markdown(t):
    head = ", ".join(f"{k} `{_html.unescape(v)}`" for k, v in _tensor_fields(t))
    return f"**tensor** {head}\n\n```\n{_values(t._data)}\n```\n"


def tensor_latex(t):
    """The values as a LaTeX matrix (scalars, vectors and matrices of at most 12x12)."""
    a = np.asarray(t._data)
    if a.ndim > 2 or any(n > 12 for n in a.shape):
        return None
    fmt = lambda v: f"{v:.4g}" if a.dtype.kind in "fc" else str(v)
    if a.ndim == 0:
        body = fmt(a.item())
    else:
        m = a.reshape(1, -1) if a.ndim == 1 else a
        body = (r"\begin{bmatrix}" + r" \\ ".join(" & ".join(fmt(v) for v in row) for row in m)
                + r"\end{bmatrix}")
    return f"$${body}\\quad{{\\scriptstyle {a.dtype},\\ shape\\ {tuple(a.shape)}}}$$"


# ---- explain(): the derivation ------------------------------------------------------------------
_DERIV = re.compile(r"\bd([\w.]+)/d([\w.]+)\b")


def _sym(name):
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    return f"{esc(m.group(1))}<sub>{m.group(2)}</sub>" if m else esc(name)


def math_html(expr):
    """A formula as HTML: dL/dw1 becomes a fraction of partials, w1 gets a subscript."""
    parts, last = [], 0
    for m in _DERIV.finditer(expr):
        parts.append(_plain_math(expr[last:m.start()]))
        parts.append(f'<span class="frac"><span>∂{_sym(m.group(1))}</span>'
                     f'<span>∂{_sym(m.group(2))}</span></span>')
        last = m.end()
    parts.append(_plain_math(expr[last:]))
    return "".join(parts)


def _plain_math(text):
    text = esc(text).replace(" * ", " · ").replace("-&gt;", "→")
    text = re.sub(r"(?<![\w.])([A-Za-z]+)(\d+)\b", r"\1<sub>\2</sub>", text)
    return re.sub(r"\^\(([^()]*)\)|\^([\w.]+)", lambda m: f"<sup>{m.group(1) or m.group(2)}"
                  "</sup>", text)


def derivation_html(doc):
    """An explain() derivation (its `doc`) as HTML tables, derivatives typeset as fractions."""
    from chainrule.inspect import _render

    out = [f"<h4>{esc(_render._title(doc))}</h4>", "<b>Forward pass</b>"]
    out.append(_table([[esc(i), math_html(f"{n} = {e}"), f"<code>{esc(v)}</code>"]
                       for i, n, e, v in doc["forward"]], ("#", "formula", "value")))
    if "note" in doc:
        out.append(f"<p>{esc(doc['note'])}</p>")
        return _box("".join(out))
    seed = math_html(f"d{doc['output']}/d{doc['output']}")
    out.append(f"<b>Backward pass</b> (local derivative × upstream gradient, starting from "
               f"{seed} = 1)")
    rows = []
    for i, name, expr, _, up, edges in doc["backward"]:
        first = True
        for sym, formula, local, target, factors, product, acc in edges:
            local_s = " = ".join(p for p in (sym, formula, local) if p)
            rhs = f"{target} {'+=' if acc else '='} " + (f"{factors} = {product}" if factors
                                                         else product)
            rows.append([esc(i) if first else "", math_html(f"{name} = {expr}") if first else "",
                         math_html(local_s), math_html(up), math_html(rhs)])
            first = False
    out.append(_table(rows, ("#", "op", "local derivative", "upstream", "product")))
    out.append("<b>Gradients</b>")
    out.append(_table([[math_html(s), f"<code>{esc(v)}</code>"] for s, v in doc["grads"]]))
    if doc["chains"]:
        out.append("<b>Chain rule, leaf by leaf</b>")
        lines = [line.strip() for chain in doc["chains"] for line in _render._text_chain(chain)]
        out.append(_table([[math_html(line)] for line in lines]))
    for step in doc["steps"]:
        lines = _render._text_step(step, doc["output"])
        out.append(f"<b>{math_html(lines[0])}</b>")
        out.append(_table([[math_html(line.strip())] for line in lines[1:]]))
    return _box("".join(out))


# ---- the computational graph --------------------------------------------------------------------
_NODE = re.compile(r'^\s*(\w+) \[shape=(\w+)(?:, style=filled, fillcolor=([\w]+))?, '
                   r'label="((?:[^"\\]|\\.)*)"\];$')
_EDGE = re.compile(r"^\s*(\w+) -> (\w+);$")
_FILL = {"lightblue": "#add8e6", "gray92": "#ebebeb", "orange": "#ffa500", "white": "#ffffff"}


def parse_dot(source):
    """(nodes {id: (shape, fill, label lines)}, edges [(a, b)]) of to_dot's output."""
    nodes, edges = {}, []
    for line in source.splitlines():
        m = _NODE.match(line)
        if m:
            label = m.group(4).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
            nodes[m.group(1)] = (m.group(2), _FILL.get(m.group(3), "#ffffff"),
                                 label.split("\n"))
            continue
        m = _EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2)))
    return nodes, edges


def graph_svg_layered(source):
    """The graph as SVG without Graphviz: columns by longest path from the inputs, left to right."""
    nodes, edges = parse_dot(source)
    preds = {n: [] for n in nodes}
    for a, b in edges:
        preds[b].append(a)
    layer = {}

    def depth(n):
        if n not in layer:
            layer[n] = 0 if not preds[n] else 1 + max(depth(p) for p in preds[n])
        return layer[n]

    for n in nodes:
        depth(n)
    succs = {n: [b for a, b in edges if a == n] for n in nodes}
    for n in nodes:  # an input sits in the column just before its first use, not at the far left
        if not preds[n] and succs[n]:
            layer[n] = min(layer[b] for b in succs[n]) - 1
    columns = {}
    for n in nodes:  # to_dot lists nodes in graph order, which keeps each column stable
        columns.setdefault(layer[n], []).append(n)
    char_w, line_h, gap_x, gap_y = 6.6, 14, 46, 18
    size = {n: (max(len(s) for s in lab) * char_w + 18, len(lab) * line_h + 10)
            for n, (_, _, lab) in nodes.items()}
    col_w = {c: max(size[n][0] for n in ns) for c, ns in columns.items()}
    col_h = {c: sum(size[n][1] for n in ns) + gap_y * (len(ns) - 1) for c, ns in columns.items()}
    height = max(col_h.values(), default=0) + 20
    pos, x = {}, 10
    for c in sorted(columns):
        y = 10 + (height - 20 - col_h[c]) / 2
        for n in columns[c]:
            w, h = size[n]
            pos[n] = (x + (col_w[c] - w) / 2, y, w, h)
            y += h + gap_y
        x += col_w[c] + gap_x
    width = x - gap_x + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica,sans-serif" '
           'font-size="11"><defs><marker id="cr-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
           'markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#444"/></marker></defs>']
    for a, b in edges:
        xa, ya, wa, ha = pos[a]
        xb, yb, wb, hb = pos[b]
        out.append(f'<line x1="{xa + wa:.1f}" y1="{ya + ha / 2:.1f}" x2="{xb:.1f}" '
                   f'y2="{yb + hb / 2:.1f}" stroke="#444" marker-end="url(#cr-arrow)"/>')
    for n, (shape, fill, lab) in nodes.items():
        x0, y0, w, h = pos[n]
        if shape == "ellipse":
            out.append(f'<ellipse cx="{x0 + w / 2:.1f}" cy="{y0 + h / 2:.1f}" rx="{w / 2:.1f}" '
                       f'ry="{h / 2:.1f}" fill="{fill}" stroke="#333"/>')
        else:
            out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" '
                       f'rx="3" fill="{fill}" stroke="#333"/>')
        for k, s in enumerate(lab):
            out.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + 5 + line_h * (k + 0.8):.1f}" '
                       f'text-anchor="middle">{esc(s)}</text>')
    out.append("</svg>")
    return "".join(out)


def graph_svg(source):
    """SVG of DOT source: Graphviz's ``dot`` when on PATH and it succeeds, else the layered."""
    exe = shutil.which("dot")
    if exe is not None:
        try:
            done = subprocess.run([exe, "-Tsvg"], input=source.encode(), capture_output=True,
                                  timeout=30)
            if done.returncode == 0:
                text = done.stdout.decode()
                return text[text.index("<svg"):]
        except (OSError, subprocess.TimeoutExpired, ValueError):
            pass
    return graph_svg_layered(source)


# ---- Diagnosis, History, spectra, Hessian results ----------------------------------------------
def diagnosis_html(d):
    """Diagnosis: the summary, the findings table (severity coloured), the layers table."""
    out = [f"<b>{esc(d._summary())}</b>"]
    if d.findings:
        out.append(_table([[f'<span class="severity-{esc(f.severity)}">{esc(f.severity)}</span>',
                            f"<code>{esc(f.code)}</code>", esc(f.where or ""), esc(f.message),
                            esc(f.advice)] for f in d.findings],
                          ("severity", "code", "where", "what was measured", "what to do")))
    else:
        out.append("<p>No problems found.</p>")
    rows = d._layer_rows()
    if rows:
        out.append(_table([[esc(c) for c in r] for r in rows], d._HEADER))
    return _box("".join(out))


def history_html(h):
    """History: losses and metrics per epoch as inline SVG plots, and the last epoch's numbers."""
    if not h.epoch:
        return _box("<b>History</b>: no epochs yet")
    losses = {k: (h.epoch, v) for k, v in h.history.items() if k.endswith("loss")}
    others = {k: (h.epoch, v) for k, v in h.history.items() if not k.endswith("loss")
              and k != "lr"}
    plots = []
    if losses:
        positive = all(b is None or b > 0 for _, ys in losses.values() for b in ys)
        plots.append(svg_plot(losses, "loss", "epoch", "loss", logy=positive))
    if others:
        plots.append(svg_plot(others, "metrics", "epoch", "value"))
    last = h.last()
    table = _table([[esc(k), _num(v) if isinstance(v, (int, float)) else esc(v)]
                    for k, v in last.items()], ("last epoch", "value"))
    stop = f"; stopped: {esc(h.stop_reason)}" if h.stop_reason else ""
    return _box(f"<b>History</b>: {len(h.epoch)} epochs{stop}<div>{''.join(plots)}</div>{table}")


def spectrum_html(s):
    """LayerSpectrum: ||W||_2, condition number and the singular values on a log axis."""
    sv = np.asarray(s.singular_values, dtype=float)
    table = _table([[esc(s.name or "W"), esc(tuple(s.shape)), _num(s.spectral_norm),
                     _num(s.condition_number), esc(len(sv))]],
                   ("weight", "shape", "||W||_2 = s_1", "cond = s_1/s_n", "singular values"))
    plot = svg_plot({"s_i": (np.arange(1, len(sv) + 1), sv)}, f"singular values of "
                    f"{s.name or 'W'}", "i", "s_i", logy=bool((sv > 0).all()))
    return _box(table + plot)


def density_html(d):
    """HessianDensity: the estimated spectral density of the Hessian."""
    plot = svg_plot({"density": (d.grid, d.density)}, "Hessian spectral density (SLQ)",
                    "eigenvalue", "density")
    lo, hi = float(np.min(d.nodes)), float(np.max(d.nodes))
    table = _table([["Ritz values range", f"[{_num(lo)}, {_num(hi)}]"],
                    ["probes × steps", esc(d.nodes.shape)], ["sigma", _num(d.sigma)]])
    return _box(plot + table)


def record_html(obj, title):
    """A dataclass record (Sharpness, CriticalPoint, ...) as a two-column table."""
    import dataclasses

    rows = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            v = _values(v, threshold=20)
        elif isinstance(v, float):
            v = _num(v)
        rows.append([f"<b>{esc(f.name)}</b>", f"<code>{esc(v)}</code>"])
    return _box(f"<b>{esc(title)}</b>{_table(rows)}")
