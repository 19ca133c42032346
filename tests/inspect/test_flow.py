"""gradient_flow: vanishing gradients in a deep sigmoid MLP, healthy flow in a He-ReLU MLP."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.inspect import LayerFlow, format_flow, gradient_flow
from tests.inspect.helpers import deep_mlp


def _backward(model, seed=1):
    cr.manual_seed(seed)
    X, y = cr.randn(64, 8), cr.randn(64, 1)
    nn.functional.mse_loss(model(X), y).backward()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigmoid_vanishes_relu_with_he_does_not(seed):
    sig = deep_mlp(nn.Sigmoid, seed=seed)
    _backward(sig)
    flows = gradient_flow(sig)
    weights = [f for f in flows if len(f.shape) == 2]
    assert len(weights) == 20 and len(flows) == 40
    assert [f.name for f in flows] == [n for n, _ in sig.named_parameters()]
    assert all(f.flag == "vanishing" for f in weights[:10])  # the input-side half at least
    assert weights[0].grad_norm < 1e-8 * weights[-1].grad_norm

    relu = deep_mlp(nn.ReLU, he=True, seed=seed)
    _backward(relu)
    flows = gradient_flow(relu)
    assert all(f.flag == "ok" for f in flows)
    norms = [f.grad_norm for f in flows if len(f.shape) == 2]
    assert max(norms) / min(norms) < 100


def test_fields_and_update_ratio():
    model = nn.Linear(3, 2)
    with cr.no_grad():
        model.weight.data[...] = 1.0
        model.bias.data[...] = 0.0
    model(cr.ones(4, 3)).sum().backward()
    w, b = gradient_flow(model, lr=0.1)
    assert isinstance(w, LayerFlow) and w.name == "weight" and w.shape == (2, 3)
    np.testing.assert_allclose(w.grad_norm, np.sqrt(6 * 16))
    np.testing.assert_allclose(w.weight_norm, np.sqrt(6))
    np.testing.assert_allclose(w.ratio, 0.1 * 4)
    assert b.ratio == float("inf") and b.weight_norm == 0  # zero bias: ratio is infinite
    assert "weight" in format_flow([w, b]).splitlines()[1]


def test_exploding_and_dead_flags():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    model(cr.ones(1, 2)).sum().backward()
    model[0].weight.grad.data[...] = 1e6
    model[0].bias.grad.data[...] = 0.0
    flags = {f.name: f.flag for f in gradient_flow(model)}
    assert flags["0.weight"] == "exploding" and flags["0.bias"] == "vanishing"
    model[0].weight.grad.data[0, 0] = np.nan
    assert gradient_flow(model)[0].flag == "exploding"


def test_skips_parameters_without_grad_and_validates():
    model = nn.Linear(2, 2)
    assert gradient_flow(model) == []
    with pytest.raises(ValueError, match="gradient_flow: lr must be a positive number"):
        gradient_flow(model, lr=-1)
    with pytest.raises(TypeError, match="gradient_flow: expected a Module"):
        gradient_flow([1, 2])


def test_uniform_explosion_is_flagged_and_no_bias_reads_vanishing():
    """Issue 18: 8-layer ReLU, N(0, 3^2): every gradient ~1e9, biases ~1e6 (relatively small)."""
    from tests.inspect.planted import exploding

    case = exploding()
    X, y = case.data
    nn.functional.cross_entropy(case.model(cr.tensor(X[:256])), cr.tensor(y[:256])).backward()
    flows = gradient_flow(case.model)
    weights = [f for f in flows if len(f.shape) == 2]
    assert all(f.grad_norm > 1e8 for f in weights)
    assert all(f.flag == "exploding" for f in weights)
    assert not [f for f in flows if f.flag == "vanishing"]
    big_bias = [f for f in flows if len(f.shape) == 1 and f.grad_norm > 1e3]
    assert big_bias and all(f.flag == "exploding" for f in big_bias)
    assert gradient_flow(case.model, max_norm=1e12)[0].flag == "ok"  # relative only: not flagged


def test_update_ratio_with_an_optimizer_is_its_real_step():
    """Adam's first step moves each weight by lr, whatever the gradient: lr sqrt(n) / ||w||."""
    cr.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    model(cr.randn(8, 4)).sum().backward()
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    w = gradient_flow(model, optimizer=opt)[0]
    expected = 1e-2 * np.sqrt(12) / np.linalg.norm(before["weight"].astype(np.float64))
    np.testing.assert_allclose(w.ratio, expected, rtol=1e-4)
    sgd_like = gradient_flow(model, lr=1e-2)[0].ratio
    assert sgd_like == pytest.approx(1e-2 * w.grad_norm / w.weight_norm)
    assert abs(np.log10(w.ratio / sgd_like)) > 0.3  # not the lr * |g| / |w| of plain SGD
    for n, p in model.named_parameters():  # the step was taken on copies
        assert np.array_equal(p.numpy(), before[n])
    assert opt.state_dict()["state"] == {}
    with pytest.raises(ValueError, match="give lr .* or optimizer"):
        gradient_flow(model, lr=0.1, optimizer=opt)
