"""examples/20_attention.py and 21_tiny_transformer.py print the numbers they claim, at the
smoke test's quick size: the 3-token lookup equals the fused op, the score variance grows like
d (var/d near 1) while the scaled one stays near 1, the positional encoding equals its formula
(with sin 1 at position 1), its dot products depend only on the offset, RoPE's relative
property, the previous-token model learns; the language model's losses decrease, the causal
mask holds, and its plots are written."""

import re

import pytest

from tests.test_examples import _run, _script

pytest.importorskip("matplotlib")


def test_attention_example_prints_its_claims(tmp_path_factory):
    out, cwd = _run(_script("20_attention.py"), tmp_path_factory)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "F.scaled_dot_product_attention gives the same: True" in text
    assert "[[0.4555 0.2246 0.3199]" in text  # softmax([1, 0, 1/2] / sqrt 2)
    rows = re.findall(r"^\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)$",
                      text, re.M)
    assert [int(r[0]) for r in rows] == [4, 16, 64, 256, 1024]
    for row in rows:
        ratio, scaled = row[2], row[3]
        assert 0.9 < float(ratio) < 1.1 and 0.9 < float(scaled) < 1.1
    assert float(rows[-1][4]) > float(rows[0][4]) + 0.3  # unscaled softmax saturates with d
    err = float(re.search(r"max difference from the formula ([0-9.e+-]+)", text)[1])
    assert err < 1e-12
    assert "PE(1, 0:4) = [0.8415 0.5403" in text and "that is wrong" in text
    spread = float(re.search(r"largest spread over p = 0, 10, 40 is ([0-9.e+-]+)", text)[1])
    assert spread < 1e-10
    rel = float(re.search(r"spread along a diagonal ([0-9.e+-]+)", text)[1])
    assert rel < 1e-10
    m = re.search(r"loss ([0-9.]+) -> ([0-9.]+), accuracy ([0-9.]+); mean attention on the "
                  r"previous position ([0-9.]+) \(uniform over the allowed keys would give "
                  r"([0-9.]+)\)", text)
    assert float(m[2]) < float(m[1]) / 2 and float(m[3]) > 0.5 and float(m[4]) > float(m[5])
    for png in ("positional_encodings.png", "attention.png"):
        assert (cwd / "runs/examples/20_attention" / png).read_bytes()[:4] == b"\x89PNG"


def test_tiny_transformer_example_learns_at_quick_size(tmp_path_factory):
    out, cwd = _run(_script("21_tiny_transformer.py"), tmp_path_factory)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    unigram = float(re.search(r"unigram entropy H = ([0-9.]+) nats", text)[1])
    assert 2.5 < unigram < 4.6  # printable ASCII text: between log 12 and log 96
    epochs = re.findall(r"^\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+\d+$",
                        text, re.M)
    assert len(epochs) >= 2
    train = [float(e[1]) for e in epochs]
    val = [float(e[2]) for e in epochs]
    assert all(b < a for a, b in zip(train, train[1:])) and val[-1] < val[0]
    for e in epochs:  # perplexity is exp(CE), ratio is CE / H
        assert float(e[3]) == pytest.approx(2.718281828 ** float(e[2]), rel=2e-3)
        assert float(e[4]) == pytest.approx(float(e[2]) / unigram, abs=6e-3)
    assert "train loss decreased every epoch: True" in text
    assert "sample (temperature 0.8):\nBeautiful is better than" in text
    assert re.search(r"attention above the diagonal \(the future\) is 0\.0e\+00", text)
    for png in ("loss.png", "attention_maps.png"):
        assert (cwd / "runs/examples/21_tiny_transformer" / png).read_bytes()[:4] == b"\x89PNG"
