"""examples/18_convolution.py prints the numbers it claims: the im2col and Toeplitz matrices of
a tiny convolution, receptive fields, the gradient-as-convolution identities, and a CNN beating
an MLP of the same parameter budget on digits."""

import re

import pytest

from tests.test_examples import _run, _script

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")


def test_convolution_example_prints_its_numbers(tmp_path_factory):
    out, cwd = _run(_script("18_convolution.py"), tmp_path_factory, quick=False)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "W as a row @ columns = [37. 47. 67. 77.]  F.conv2d = [37. 47. 67. 77.]" in text
    assert "[[1. 2. 0. 3. 4. 0. 0. 0. 0.]\n [0. 1. 2. 0. 3. 4. 0. 0. 0.]" in text
    assert "T @ x.flatten() equals F.conv2d(x, W): True" in text
    assert "conv3, conv3, avgpool2, conv3: 3, 5, 6, 10" in text
    errors = [float(e) for e in re.findall(r"max difference ([0-9.e+-]+)", text)]
    assert len(errors) == 2 and max(errors) < 1e-12
    assert "finite differences agree (gradcheck, float64): True" in text
    rows = dict(re.findall(r"^(CNN|MLP)\s+\d+\s+([0-9.]+)$", text, re.M))
    params = dict(re.findall(r"^(CNN|MLP)\s+(\d+)", text, re.M))
    assert abs(int(params["CNN"]) - int(params["MLP"])) < 0.02 * int(params["CNN"])
    assert float(rows["CNN"]) > float(rows["MLP"]) and float(rows["CNN"]) >= 0.98
    for png in ("mlp_vs_cnn.png", "filters.png"):
        assert (cwd / "runs/examples/18_convolution" / png).read_bytes()[:4] == b"\x89PNG"
