"""The HTML report: self-contained, every section present, and it renders in headless Chromium."""

import base64
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

pytest.importorskip("matplotlib")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    cr.manual_seed(0)
    X, y = cr.data.make_moons(120, noise=0.1, seed=0)
    model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.Tanh(), cr.nn.Linear(16, 2))
    opt = cr.optim.Adam(model.parameters(), lr=0.05)
    sched = cr.optim.lr_scheduler.StepLR(opt, 3, 0.5)
    rec = cr.train.GradientFlowRecorder()
    h = cr.train.fit(model, F.cross_entropy, opt, (X[:90], y[:90]), epochs=6, batch_size=16,
                     val_data=(X[90:], y[90:]), metrics=["accuracy"], scheduler=sched,
                     callbacks=[rec], seed=0, progress=False)
    out = cr.train.predict(model, X[90:])
    path = tmp_path_factory.mktemp("report") / "report.html"
    cr.report.write_report(
        path, h, title="moons <test>", config={"dataset": "moons", "hidden": "16"},
        timing={"training time (s)": 0.1}, final_metrics={"test_accuracy": 0.9},
        confusion_matrix=cr.train.confusion_matrix(y[90:], out), class_names=["a", "b"],
        gradient_flow=rec.records, spectra=cr.inspect.weight_spectra(model),
        boundary=(lambda G: cr.train.predict(model, G).argmax(1), X, y),
        findings=[dict(code="dead_units", severity="warning", where="0", step=12,
                       message="60% of <layer 1> are dead", advice="use LeakyReLU"),
                  cr.inspect.Finding("learning_rate_too_high", "error", None, "loss 5000",
                                     "lower it")])
    return path


def test_report_is_self_contained_with_every_section(report):
    text = report.read_text()
    for section in ("Configuration", "Timing", "Final metrics", "Diagnosis", "Loss and metrics",
                    "Learning rate", "Confusion matrix", "Gradient flow", "Weight spectra",
                    "Decision boundary"):
        assert f"<h2>{section}</h2>" in text, section
    assert "moons &lt;test&gt;" in text  # text is escaped
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", text)  # nothing external
    assert "http://" not in text and "https://" not in text
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)">', text)
    assert len(images) == 6 and text.count("<img") == 6
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(report.parent) == ["report.html"]  # written atomically, no temp files


def test_diagnosis_section_lists_findings_errors_first(report):
    text = report.read_text()
    section = text.split("<h2>Diagnosis</h2>")[1].split("<h2>")[0]
    assert section.index("learning_rate_too_high") < section.index("dead_units")
    assert "60% of &lt;layer 1&gt; are dead" in section and "step 12" in section
    assert "after training" in section and 'class="severity-error"' in section
    empty = cr.report.render_report(cr.train.History(), findings=[])
    assert "<h2>Diagnosis</h2>" in empty and "No problems found." in empty


def test_deep_net_gradient_flow_legend_leaves_the_panels_free():
    from tests.inspect.planted import vanishing

    case = vanishing()
    rec = cr.train.GradientFlowRecorder(every=5)
    cr.train.fit(case.model, F.cross_entropy, cr.optim.Adam(case.model.parameters()),
                 case.data, epochs=1, callbacks=[rec], progress=False)
    png = cr.report.plots.gradient_flow(rec.records)
    from matplotlib.figure import Figure

    captured = {}
    original = Figure.savefig

    def keep(fig, *args, **kwargs):
        captured["fig"] = fig
        return original(fig, *args, **kwargs)

    Figure.savefig = keep
    try:
        cr.report.plots.gradient_flow(rec.records)
    finally:
        Figure.savefig = original
    fig = captured["fig"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(ax.get_legend() is None for ax in fig.axes)  # no legend over a panel
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["ok: 4 of 20 layers", "vanishing: 16 of 20 layers"]
    panels = [ax for ax in fig.axes if ax.get_title()]
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert all(not box.overlaps(ax.get_window_extent()) for ax in panels)


def _drawn(draw):
    """The Figure a report plot function renders (captured at savefig)."""
    from matplotlib.figure import Figure

    captured, original = {}, Figure.savefig

    def keep(fig, *args, **kwargs):
        captured["fig"] = fig
        return original(fig, *args, **kwargs)

    Figure.savefig = keep
    try:
        draw()
    finally:
        Figure.savefig = original
    captured["fig"].canvas.draw()
    return captured["fig"]


def test_deep_net_weight_spectra_have_distinct_colours_and_no_legend_over_the_curves():
    from matplotlib.colors import to_hex

    from tests.inspect.planted import vanishing

    spectra = cr.inspect.weight_spectra(vanishing().model)
    assert len(spectra) == 20
    fig = _drawn(lambda: cr.report.plots.spectra(spectra))
    (ax,) = [a for a in fig.axes if a.get_lines()]
    colours = [to_hex(line.get_color()) for line in ax.get_lines()]
    assert len(colours) == 20 and len(set(colours)) == 20  # no colour stands for two layers
    legends = [a.get_legend() for a in fig.axes if a.get_legend()] + fig.legends
    assert all(not lg.get_window_extent().overlaps(ax.get_window_extent()) for lg in legends)
    shallow = _drawn(lambda: cr.report.plots.spectra(spectra[:3]))  # a legend for a few
    (ax,) = shallow.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()][0].startswith("0.weight (κ = ")


def test_sections_without_data_are_left_out(tmp_path):
    h = cr.train.History()
    h.append(1, {"loss": 1.0, "lr": 0.1})
    h.append(2, {"loss": 0.5, "lr": 0.1})
    text = cr.report.render_report(h)
    assert "<h2>Loss and metrics</h2>" in text
    assert "Learning rate" not in text and "Confusion" not in text and "Decision" not in text


_PROBE = """<script>
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("img").forEach(function (img) {
    out.push(img.complete && img.naturalWidth > 0 ? img.naturalWidth + "x" + img.naturalHeight
             : "BROKEN");
  });
  var pre = document.createElement("pre");
  pre.id = "image-check";
  pre.textContent = "IMAGES:" + out.join(",") + ":END";
  document.body.appendChild(pre);
});
</script>"""


def _chromium(*args, user_data_dir):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed "
                    "(apt-get install chromium)")
def test_report_renders_in_headless_chromium_with_every_image_loaded(report, tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", _PROBE + "\n</body>"))
    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri(),
                    user_data_dir=tmp_path / "profile1")
    match = re.search(r"<pre id=\"image-check\">IMAGES:([^:<]*):END</pre>", dom.stdout)
    assert match, f"the probe did not run; chromium said:\n{dom.stderr[-2000:]}"
    sizes = match.group(1).split(",")
    assert len(sizes) == 6 and "BROKEN" not in sizes, sizes
    assert all(int(s.split("x")[0]) >= 300 for s in sizes)
    shot = tmp_path / "report.png"
    run = _chromium("--window-size=1200,3000", "--hide-scrollbars", f"--screenshot={shot}",
                    report.as_uri(), user_data_dir=tmp_path / "profile2")
    assert shot.exists(), f"no screenshot; chromium said:\n{run.stderr[-2000:]}"
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (3000, 1200)
    # the page is not blank: plots put many distinct colours on the white background
    assert np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0).shape[0] \
        > 200
    keep = os.environ.get("CHAINRULE_KEEP_SCREENSHOT")
    if keep:  # for looking at it: CHAINRULE_KEEP_SCREENSHOT=/tmp/report.png pytest ...
        shutil.copy(shot, keep)
