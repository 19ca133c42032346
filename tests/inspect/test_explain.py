"""explain / explain_step: seed 002's chain-rule derivation with its exact numbers."""

import os
import pathlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.inspect import explain, explain_step
from tests.inspect.helpers import seed002

GOLDEN = pathlib.Path(__file__).parent / "golden"


def check_golden(name, text):
    """Compare with golden/<name>; CHAINRULE_UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / name
    if os.environ.get("CHAINRULE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def test_seed002_numbers_in_text():
    x, b1, b2, w1, w2, z, L = seed002()
    text = explain(L)
    # the seed's chain: dL/dz = w2 = 1.5, dz/dw1 = x = 2.0, product 3.0; dL/dw2 = z = 2.0
    assert "dL/dz = w2 = 1.5" in text
    assert "dz/dw1 = x = 2.0" in text
    assert "dL/dw1 = 1.5 × 2.0 = 3.0" in text
    assert "dL/dw2 = z = 2.0" in text
    # the per-op backward rows: local derivative, upstream, product
    assert "dv2/dz = w2 = 1.5  ->  dL/dz = 1.0 × 1.5 = 1.5" in text
    assert "dv1/dw1 = x = 2.0  ->  dL/dw1 = 1.5 × 2.0 = 3.0" in text


def test_seed002_golden_text_and_markdown():
    x, b1, b2, w1, w2, z, L = seed002()
    check_golden("seed002_explain.txt", explain_step(L, lr=(0.2, 0.1), maximize=True))
    check_golden("seed002_explain.md", explain_step(L, lr=(0.2, 0.1), fmt="markdown",
                                                    maximize=True))


def test_explain_step_reproduces_the_seed_updates():
    x, b1, b2, w1, w2, z, L = seed002()
    text = explain_step(L, lr=(0.2, 0.1), maximize=True)
    for line in ["w1 = 0.5 + 0.2 × 3.0 = 1.1", "w2 = 1.5 + 0.2 × 2.0 = 1.9", "z = v1 + b1 = 3.2",
                 "L: 3.5 -> 6.58", "w1 = 0.5 + 0.1 × 3.0 = 0.8", "w2 = 1.5 + 0.1 × 2.0 = 1.7",
                 "z = v1 + b1 = 2.6", "L: 3.5 -> 4.92"]:
        assert line in text, line
    assert w1.item() == 0.5 and w2.item() == 1.5  # the leaves are not changed
    L.backward()  # and the graph is still usable
    assert w1.grad.item() == 3.0


def test_explain_step_descends_by_default():
    w = cr.tensor(3.0, requires_grad=True)
    loss = w * w
    text = explain_step(loss, lr=0.25)
    assert "w = 3.0 - 0.25 × 6.0 = 1.5" in text
    assert "loss: 9.0 -> 2.25" in text


def test_latex_form():
    x, b1, b2, w1, w2, z, L = seed002()
    tex = explain(L, fmt="latex")
    assert r"\frac{\partial L}{\partial w_{1}}" in tex
    assert r"w_{2} \cdot x = 1.5 \times 2.0 = 3.0" in tex
    assert tex.count("{") == tex.count("}")
    assert r"\begin{aligned}" in tex and r"\end{aligned}" in tex


def test_gradients_match_backward_on_an_mlp():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    X, y = cr.randn(6, 3), cr.tensor([0, 1, 1, 0, 1, 0])
    loss = nn.functional.cross_entropy(model(X), y)
    from chainrule.inspect._trace import Trace

    trace = Trace(loss, model)
    text = explain(loss, names=model, fmt="markdown")
    assert "0.weight" in text and "| # | op |" in text
    loss.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(trace.grad(p), p.grad.numpy(), rtol=1e-5, atol=1e-7)
        assert f"dloss/d{name} = " in text


def test_fan_out_accumulates_over_paths():
    x = cr.tensor(0.5, requires_grad=True)
    h = cr.tanh(x * 2.0)
    out = h * x + cr.exp(-x) / x
    text = explain(out)
    assert "sum over 4 paths" in text
    expected = cr.grad(lambda t: cr.tanh(t * 2.0) * t + cr.exp(-t) / t)(cr.tensor(0.5)).item()
    assert f"dout/dx = {expected:.6g}"[:14] in text
    assert "dout/dx += " in text


def test_big_tensors_are_summarised_and_split_is_handled():
    a, b = cr.split(cr.arange(0.0, 20.0).requires_grad_(), 10)
    text = explain((a * b).sum())
    assert "shape (10,), norm" in text
    assert "Split" in text


def test_non_scalar_output_shows_forward_only():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    text = explain(w * 3.0)
    assert "Forward pass" in text and "scalar outputs only" in text


def test_errors():
    w = cr.tensor(2.0, requires_grad=True)
    y = w * w
    with pytest.raises(ValueError, match="explain: fmt must be one of"):
        explain(y, fmt="html")
    with pytest.raises(TypeError, match="explain: expected a Tensor; got float"):
        explain(2.0)
    with pytest.raises(ValueError, match="has no recorded graph to explain"):
        explain(cr.tensor(1.0))
    with pytest.raises(ValueError, match="explain_step: lr must be a positive number"):
        explain_step(y, lr=-1)
    y.backward()
    with pytest.raises(ValueError, match="released by an earlier backward"):
        explain(y)
