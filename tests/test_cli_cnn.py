"""`chainrule train --model cnn`: a LeNet-style CNN on the 8x8 digits reaches >= 98% test
accuracy, and its report shows the first layer's filters and one input's feature maps (checked
in headless Chromium); its checkpoint is diagnosed like an MLP's."""

import os

import pytest

import chainrule as cr
from chainrule.cli import main
from tests.report.test_report import _PROBE, CHROMIUM, _chromium
from tests.test_cli import _history, _run

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn")
    code = main(["train", "--model", "cnn", "--out", str(out)])
    assert code == 0
    return out


def test_cnn_reaches_98_percent_on_digits(cnn_run):
    record = _history(cnn_run)
    assert record["config"]["model"] == "cnn" and record["config"]["epochs"] == 20
    assert record["final_metrics"]["test_accuracy"] >= 0.98
    state = cr.train.load(cnn_run / "model.safetensors")
    assert state["1.weight"].shape == (16, 1, 3, 3) and state["4.weight"].shape == (32, 16, 3, 3)
    assert state["8.weight"].shape == (128, 128)  # 32 channels x 2 x 2 after two 2x2 pools


def test_report_shows_filters_and_feature_maps(cnn_run):
    text = (cnn_run / "report.html").read_text()
    for section in ("Convolution filters", "Feature maps", "Gradient flow", "Weight spectra"):
        assert f"<h2>{section}</h2>" in text, section
    assert 'alt="first-layer convolution filters"' in text
    assert 'alt="feature maps of one input"' in text


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed "
                    "(apt-get install chromium)")
def test_cnn_report_renders_in_headless_chromium_with_every_image_loaded(cnn_run, tmp_path):
    import re

    text = (cnn_run / "report.html").read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", _PROBE + "\n</body>"))
    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri(),
                    user_data_dir=tmp_path / "profile")
    match = re.search(r"<pre id=\"image-check\">IMAGES:([^:<]*):END</pre>", dom.stdout)
    assert match, f"the probe did not run; chromium said:\n{dom.stderr[-2000:]}"
    sizes = match.group(1).split(",")
    assert len(sizes) == text.count("<img") >= 6 and "BROKEN" not in sizes, sizes
    # the filters figure (16 filters: 2 rows of 8) and the maps (input + 16: 3 rows) are wide
    assert all(int(s.split("x")[0]) >= 300 for s in sizes)


def test_cnn_checkpoint_is_diagnosed(cnn_run, capsys):
    code = main(["diagnose", str(cnn_run / "checkpoint.safetensors"), "--steps", "2"])
    out = capsys.readouterr().out
    assert code in (0, 1) and "on digits" in out


def test_cnn_needs_the_digits_images(tmp_path, capsys):
    code, out, err = _run(capsys, "--model", "cnn", "--dataset", "iris", "--out", str(tmp_path))
    assert code == 2 and "--model cnn needs 8x8 images: --dataset digits; got iris" in err
    assert not os.listdir(tmp_path)
