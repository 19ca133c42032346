"""Rich display in Jupyter: every repr is well-formed HTML (or SVG) carrying the real numbers, and
a derivation and a Diagnosis render in headless Chromium."""

import html.parser
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.inspect import _repr as reprs

CHROMIUM = "/usr/bin/chromium"
_VOID = {"br", "hr", "img", "meta", "input", "link", "col", "path", "rect", "line", "polyline",
         "ellipse", "polygon", "circle", "stop"}


class _Checker(html.parser.HTMLParser):
    """Fails on a closing tag that does not close the innermost open element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        if self.stack[-1:] != ["style"]:
            self.text.append(data)


def well_formed(markup):
    """The text content of `markup`, after checking every element is closed in order."""
    p = _Checker()
    p.feed(markup)
    p.close()
    assert p.stack == [], f"unclosed elements {p.stack}"
    for svg in re.findall(r"<svg.*?</svg>", markup, flags=re.S):
        ET.fromstring(svg)  # each inline SVG is XML
    return " ".join(" ".join(p.text).split())


def seed_002():
    """Seed 002's worked example: z = x w1 + b1 = 2, L = z w2 + b2 = 3.5 (x=2, b1=1, b2=0.5)."""
    x = cr.tensor(2.0)
    w1 = cr.tensor(0.5, requires_grad=True)
    w2 = cr.tensor(1.5, requires_grad=True)
    z = x * w1 + 1.0
    L = z * w2 + 0.5
    return L, {"x": x, "w1": w1, "w2": w2, "z": z, "L": L}


def test_tensor_reprs_show_shape_dtype_grad_fn_and_values():
    w = cr.tensor([[1.5, -2.25], [0.125, 4.0]], requires_grad=True)
    y = w * 2
    text = well_formed(y._repr_html_())
    assert "(2, 2)" in text and "float32" in text and "<Mul>" in text
    for v in ("3.", "-4.5", "0.25", "8."):
        assert v in text, v
    md = y._repr_markdown_()
    assert "`(2, 2)`" in md and "-4.5" in md and "grad_fn `<Mul>`" in md
    tex = y._repr_latex_()
    assert tex.startswith("$$\\begin{bmatrix}3 & -4.5 \\\\ 0.25 & 8\\end{bmatrix}")
    assert cr.zeros(20, 20)._repr_latex_() is None  # too big for a matrix: HTML only
    big = well_formed(cr.arange(10000)._repr_html_())
    assert "..." in big and "(10000,)" in big  # summarised, not 10000 numbers


def test_explain_html_typesets_the_seed_002_derivation_with_its_numbers():
    L, names = seed_002()
    d = cr.inspect.explain(L, names=names)
    assert isinstance(d, str) and d.splitlines()[0].startswith("Chain rule for L")
    markup = d._repr_html_()
    text = well_formed(markup)
    # seed 002: z = 2, L = 3.5; dL/dw1 = dL/dz · dz/dw1 = w2 · x = 1.5 × 2.0 = 3.0, dL/dw2 = z = 2
    assert "z = v 1 + 1.0 2.0" in text and "L = v 2 + 0.5 3.5" in text
    assert "∂L ∂w 1 = ∂L ∂z · ∂z ∂w 1 ∂L ∂z = w 2 = 1.5 ∂z ∂w 1 = x = 2.0 " \
           "∂L ∂w 1 = 1.5 × 2.0 = 3.0" in text  # seed 002's chain, typeset with its numbers
    assert "Gradients ∂L ∂w 1 3.0 ∂L ∂w 2 2.0" in text
    assert text.startswith("Chain rule for L with respect to w1, w2")
    assert markup.count('class="frac"') >= 6  # partial derivatives typeset as fractions
    assert "w<sub>1</sub>" in markup
    L.backward()
    assert (float(names["w1"].grad), float(names["w2"].grad)) == (3.0, 2.0)
    assert "| `z = 2.0` |" in d._repr_markdown_()
    import copy
    import pickle

    for again in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
        assert again == d and again._repr_html_() == markup
    latex = d._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert "3.5" in latex and "\\frac{\\partial L}{\\partial w_{1}}" in latex


def test_explain_step_html_shows_the_update():
    L, names = seed_002()
    text = well_formed(cr.inspect.explain_step(L, lr=0.1, names=names)._repr_html_())
    assert "Gradient descent step, lr = 0.1" in text and "Verification" in text


def test_graph_repr_is_svg_with_every_node_both_with_and_without_graphviz(monkeypatch):
    L, names = seed_002()
    dot = cr.inspect.to_dot(L, names=names)
    nodes, edges = reprs.parse_dot(dot)
    assert len(nodes) == dot.count("[shape=") and len(edges) == dot.count(" -> ")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    svg = dot._repr_html_()
    text = well_formed(svg)
    root = ET.fromstring(re.search(r"<svg.*</svg>", svg, flags=re.S).group(0))
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}line")) == len(edges)
    assert len(root.findall(f"{ns}rect")) + len(root.findall(f"{ns}ellipse")) == len(nodes)
    assert "w1" in text and "3.5" in text and "dL/dw1 = 3.0" in text
    # boxes do not overlap within a column
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("height")))
             for r in root.findall(f"{ns}rect")]
    for x, y, h in boxes:
        for x2, y2, h2 in boxes:
            if (x, y) != (x2, y2) and x == x2:
                assert y + h <= y2 or y2 + h2 <= y


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graph_repr_uses_graphviz_when_present():
    L, names = seed_002()
    svg = cr.inspect.to_dot(L, names=names)._repr_html_()
    assert "Generated by graphviz" in svg or "class=\"graph\"" in svg
    assert "dL/dw1 = 3.0" in well_formed(svg)


def _diagnosis():
    cr.manual_seed(0)
    X, y = cr.data.make_moons(64, noise=0.1, seed=0)
    model = cr.nn.Sequential(cr.nn.Linear(2, 8), cr.nn.ReLU(), cr.nn.Linear(8, 2))
    opt = cr.optim.SGD(model.parameters(), lr=50.0)
    return cr.inspect.diagnose(model, F.cross_entropy, (X, y), optimizer=opt)


def test_diagnosis_html_is_a_severity_coloured_findings_table():
    d = _diagnosis()
    assert d.findings
    markup = d._repr_html_()
    text = well_formed(markup)
    for f in d.findings:
        assert f.code in text and f'class="severity-{f.severity}"' in markup
    assert text.count("severity") >= 1 and "what to do" in text
    assert d._summary() in text
    assert d._repr_markdown_() == d.to_markdown()


def test_history_html_plots_the_losses_it_logged():
    h = cr.train.History()
    for e, (loss, acc) in enumerate([(2.0, 0.5), (1.0, 0.7), (0.5, 0.875)]):
        h.append(e, {"loss": loss, "accuracy": acc})
    markup = h._repr_html_()
    text = well_formed(markup)
    assert "3 epochs" in text and "0.875" in text and "0.5" in text
    assert markup.count("<svg") == 2 and markup.count("<polyline") == 2
    pts = re.findall(r'<polyline[^>]*points="([^"]+)"', markup)[0].split()
    ys = [float(p.split(",")[1]) for p in pts]
    assert ys[0] < ys[1] < ys[2]  # a falling loss is drawn falling (SVG y grows downward)
    # log scale: 2 -> 1 -> 0.5 are equally spaced
    assert abs((ys[1] - ys[0]) - (ys[2] - ys[1])) < 0.2
    assert "no epochs" in well_formed(cr.train.History()._repr_html_())


def test_spectrum_density_and_curvature_records_render_their_numbers():
    W = cr.tensor(np.diag([4.0, 2.0, 0.5]))
    s = cr.inspect.spectrum(W, "W")
    text = well_formed(s._repr_html_())
    assert "cond = s_1/s_n" in text and "8" in text.split("cond")[1] and "4" in text
    cp = cr.inspect.critical_point(lambda v: v[0] ** 2 - v[1] ** 2, cr.tensor([0.0, 0.0]))
    text = well_formed(cp._repr_html_())
    assert "saddle" in text and "-2." in text and "CriticalPoint" in text
    w = cr.tensor([1.0, -1.0], requires_grad=True)
    loss = lambda: (3 * w[0] ** 2 + w[1] ** 2)
    sh = cr.inspect.sharpness(loss, [w], lr=0.1)
    text = well_formed(sh._repr_html_())
    assert "lambda_max" in text and "6" in text and "True" in text
    dens = cr.inspect.hessian_density(loss, [w], num_probes=2, steps=2, progress=False)
    text = well_formed(dens._repr_html_())
    assert "density" in text and "2" in text


def test_liveplot_redraws_once_per_epoch_and_saves(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = cr.data.make_moons(64, noise=0.1, seed=0)
    model = cr.nn.Sequential(cr.nn.Linear(2, 8), cr.nn.Tanh(), cr.nn.Linear(8, 2))
    live = cr.train.LivePlot(path=tmp_path / "live.png")
    cr.train.fit(model, F.cross_entropy, cr.optim.Adam(model.parameters(), lr=0.05), (X, y),
                 epochs=3, metrics=["accuracy"], callbacks=[live], progress=False, seed=0)
    assert live.draws == 3
    assert (tmp_path / "live.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="LivePlot: keys \\['val_loss'\\] are not logged"):
        cr.train.fit(model, F.cross_entropy, cr.optim.Adam(model.parameters()), (X, y),
                     epochs=1, callbacks=[cr.train.LivePlot(keys=["val_loss"])],
                     progress=False)


def _screenshot(markup, tmp_path, name, size=(1000, 1100)):
    page = tmp_path / f"{name}.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{markup}"
                    "</body></html>")
    shot = tmp_path / f"{name}.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / name}",
           f"--window-size={size[0]},{size[1]}", f"--screenshot={shot}", page.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.exists(), f"no screenshot; chromium said:\n{run.stderr[-2000:]}"
    import matplotlib.image

    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).astype(np.uint8)
    assert pixels.shape[:2] == (size[1], size[0])
    keep = os.environ.get("CHAINRULE_KEEP_SCREENSHOT")
    if keep:  # for looking at them: CHAINRULE_KEEP_SCREENSHOT=/tmp/shots pytest ...
        os.makedirs(keep, exist_ok=True)
        shutil.copy(shot, os.path.join(keep, f"{name}.png"))
    return pixels


def _ink_rows(pixels):
    """Rows of the screenshot that hold anything but the white background."""
    return np.nonzero((pixels < 200).any(axis=(1, 2)))[0]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed "
                    "(apt-get install chromium)")
def test_derivation_and_diagnosis_render_in_headless_chromium(tmp_path):
    pytest.importorskip("matplotlib")
    L, names = seed_002()
    pixels = _screenshot(cr.inspect.explain(L, names=names)._repr_html_(), tmp_path, "derivation")
    rows = _ink_rows(pixels)
    assert rows.size > 300 and rows.max() - rows.min() > 500  # tables fill the page
    assert (pixels[..., 0] < 100).sum() > 2000  # dark text drawn
    pixels = _screenshot(_diagnosis()._repr_html_(), tmp_path, "diagnosis", size=(1200, 500))
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)  # #c0392b
    amber = (pixels[..., 0] > 140) & (pixels[..., 1] > 80) & (pixels[..., 1] < 130) & \
        (pixels[..., 2] < 40)  # #b07000
    assert red.sum() + amber.sum() > 50  # severity words are coloured
    assert _ink_rows(pixels).size > 60
