"""The training report: one self-contained HTML file, every figure embedded as a base64 PNG.

Sections: configuration and timing; final metrics; the diagnosis (problems found during and
after training, with what to do); loss and metric curves (train and validation); learning
rate; confusion matrix; per-layer gradient and weight norms and the real update ratio over
training; singular-value spectra and condition numbers of the final weights; the decision
boundary of a 2-D classifier. Sections without data are left out.
"""

import base64
import html
import math

import numpy as np

from chainrule.report import plots

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; }
th { background: #f4f6f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: 0.6em 0; }
p.note { color: #555; font-size: 0.9em; max-width: 60em; }
.flag-vanishing { color: #b07000; font-weight: 600; }
.flag-exploding { color: #c0392b; font-weight: 600; }
.flag-ok { color: #2b7a3b; }
.severity-error { color: #c0392b; font-weight: 600; }
.severity-warning { color: #b07000; font-weight: 600; }
.severity-info { color: #555; }
"""


def _img(png, alt):
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _fmt(v):
    if isinstance(v, bool) or v is None:
        return html.escape(str(v))
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return html.escape(", ".join(str(x) for x in v))
    return html.escape(str(v))


def _table(rows, header=None):
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for v in row:
            if isinstance(v, _Raw):
                cells.append(f"<td>{v}</td>")
            elif isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                cells.append(f'<td class="num">{_fmt(v)}</td>')
            else:
                cells.append(f"<td>{_fmt(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


class _Raw(str):
    """HTML that must not be escaped (built here, from escaped parts)."""


def _flag(flag):
    return _Raw(f'<span class="flag-{html.escape(flag)}">{html.escape(flag)}</span>')


def _findings_section(findings):
    """The Diagnosis section: each finding (a Finding or its dict) as a row, errors first."""
    rows = []
    for f in findings:
        f = f if isinstance(f, dict) else dict(vars(f), step=None)
        when = "after training" if f.get("step") is None else f"step {f['step']}"
        severity = _Raw(f'<span class="severity-{html.escape(f["severity"])}">'
                        f'{html.escape(f["severity"])}</span>')
        rows.append((when, severity, _Raw(f"<code>{html.escape(f['code'])}</code>"),
                     f.get("where") or "", f["message"], f["advice"]))
    order = {"error": 0, "warning": 1, "info": 2}
    rows.sort(key=lambda r: order.get(r[1].split(">")[1].split("<")[0], 3))
    note = ('<p class="note">What cr.inspect.diagnose measured after training, and what the '
            "training monitor saw during it (each problem once, at the step it appeared), with "
            "what to do. See docs/DIAGNOSE.md for how each is measured.</p>")
    if not rows:
        return ["<h2>Diagnosis</h2>", note, "<p>No problems found.</p>"]
    return ["<h2>Diagnosis</h2>", note,
            _table(rows, ["when", "severity", "finding", "where", "what was measured",
                          "what to do"])]


def render_report(history, *, title="chainrule training report", config=None, timing=None,
                  final_metrics=None, confusion_matrix=None, class_names=None,
                  gradient_flow=None, spectra=None, boundary=None, findings=None, cnn=None):
    """The report as an HTML string (see write_report for the arguments)."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if history.stop_reason:
        parts.append(f'<p class="note">{html.escape(history.stop_reason)}</p>')
    if config:
        parts += ["<h2>Configuration</h2>",
                  _table([(k, v) for k, v in config.items() if v is not None])]
    if timing:
        parts += ["<h2>Timing</h2>", _table([(k, v) for k, v in timing.items()])]
    if final_metrics:
        parts += ["<h2>Final metrics</h2>", _table([(k, v) for k, v in final_metrics.items()])]
    if findings is not None:
        parts += _findings_section(findings)
    if len(history):
        parts += ["<h2>Loss and metrics</h2>",
                  '<p class="note">Per epoch. Training values are averaged over the epoch\'s '
                  "batches (the weights change during the epoch); validation values are "
                  "computed after it.</p>", _img(plots.curves(history), "loss and metric curves")]
        if len({v for v in history.history.get("lr", []) if v is not None}) > 1:
            parts += ["<h2>Learning rate</h2>", _img(plots.learning_rate(history),
                                                     "learning rate per epoch")]
    if confusion_matrix is not None:
        parts += ["<h2>Confusion matrix</h2>",
                  '<p class="note">Row i, column j: samples of true class i predicted as '
                  "class j; the diagonal holds the correct predictions.</p>",
                  _img(plots.confusion(confusion_matrix, class_names), "confusion matrix")]
    if gradient_flow:
        last = gradient_flow[-1]["layers"]
        parts += ["<h2>Gradient flow</h2>",
                  '<p class="note">Per-layer norms of the gradient ‖∇W‖ and of the weights ‖W‖ '
                  "during training, and the update ratio ‖ΔW‖/‖W‖: how far the optimizer's "
                  "actual step moved each weight, relative to its norm (healthy training: "
                  "~1e-3). Gradients that shrink towards the input layers (vanishing) or blow "
                  "up (exploding) show as curves far below or above the others; flagged layers "
                  "are dashed.</p>",
                  _img(plots.gradient_flow(gradient_flow), "gradient flow over training"),
                  _table([(layer["name"], "×".join(map(str, layer["shape"])),
                           layer["grad_norm"], layer["weight_norm"], layer["ratio"],
                           _flag(layer["flag"])) for layer in last],
                         ["layer", "shape", "‖∇W‖", "‖W‖", "‖ΔW‖/‖W‖", "flag"])]
    if spectra:
        parts += ["<h2>Weight spectra</h2>",
                  '<p class="note">Singular values σ₁ ≥ σ₂ ≥ … of each final weight matrix. '
                  "σ₁ is the most a layer can stretch its input (the spectral norm); the "
                  "condition number κ = σ₁/σₙ measures how unevenly it stretches.</p>",
                  _img(plots.spectra(spectra), "singular value spectra"),
                  _table([(s.name, "×".join(map(str, s.shape)), float(s.spectral_norm),
                           float(s.condition_number)) for s in spectra],
                         ["layer", "shape", "spectral norm σ₁", "condition number κ"])]
    if boundary is not None:
        predict, X, y = boundary
        parts += ["<h2>Decision boundary</h2>",
                  '<p class="note">The predicted class over the input plane (shaded), with the '
                  "data points on top.</p>",
                  _img(plots.decision_boundary(predict, X, y, class_names), "decision boundary")]
    if cnn is not None:
        from chainrule.report import filters

        W, image, maps = cnn
        parts += ["<h2>Convolution filters</h2>",
                  '<p class="note">The first convolution\'s learned filters, one per output '
                  "channel (blue negative, red positive): each is slid over the image, and its "
                  "dot product with every patch is one pixel of that channel's feature map.</p>",
                  _img(filters.filters(W), "first-layer convolution filters"),
                  "<h2>Feature maps</h2>",
                  '<p class="note">One test image and the maps the first convolution (with its '
                  "activation) makes of it: where each filter's pattern appears.</p>",
                  _img(filters.feature_maps(image, maps), "feature maps of one input")]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


def write_report(path, history, **sections):
    """Write the training report to `path` (atomically) and return the path.

    Args:
        history: the History returned by cr.train.fit.
        config, timing, final_metrics: dicts shown as tables.
        confusion_matrix: (C, C) counts, with optional class_names.
        gradient_flow: GradientFlowRecorder.records.
        spectra: cr.inspect.weight_spectra(model).
        boundary: (predict, X, y) for a 2-D classifier; predict maps (N, 2) -> labels.
        findings: cr.inspect Findings, or dicts of their fields with the "step" they were
            seen at (None: after training); an empty list says "No problems found".
        cnn: (filters (C, kh, kw), image (H, W), feature maps (C, H', W')) of a CNN's first
            convolution, shown as two figures.
    """
    from chainrule.train.checkpoint import atomic_write

    atomic_write(path, render_report(history, **sections))
    return path
