"""cr.nn.init: the formulas of PyTorch's initialisers, checked by their bounds and moments."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import init


@pytest.mark.parametrize("name, param, gain", [
    ("linear", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)), ("selu", None, 0.75),
])
def test_calculate_gain(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain)
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param))


def test_uniform_bounds_and_reproducibility():
    w = cr.zeros(200, 100)
    cr.manual_seed(5)
    init.kaiming_uniform_(w, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 100)
    assert np.abs(w.numpy()).max() <= bound
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 100), rel=0.02)
    first = w.numpy().copy()
    cr.manual_seed(5)
    init.kaiming_uniform_(w, nonlinearity="relu")
    np.testing.assert_array_equal(w.numpy(), first)


@pytest.mark.parametrize("fn, std", [
    (lambda w: init.xavier_uniform_(w), math.sqrt(2 / (300 + 200))),
    (lambda w: init.xavier_normal_(w, gain=2.0), 2 * math.sqrt(2 / (300 + 200))),
    (lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 300)),
    (lambda w: init.kaiming_normal_(w, nonlinearity="tanh"), (5 / 3) / math.sqrt(200)),
    (lambda w: init.normal_(w, 1.0, 0.5), 0.5),
    (lambda w: init.uniform_(w, -1, 1), 1 / math.sqrt(3)),
    (lambda w: init.trunc_normal_(w, std=1.0), 0.8796),  # N(0,1) truncated to [-2, 2]
], ids=["xavier_uniform", "xavier_normal", "kaiming_normal_fan_out", "kaiming_normal_tanh",
        "normal", "uniform", "trunc_normal"])
def test_standard_deviations(fn, std):
    w = cr.zeros(300, 200)  # fan_in 200, fan_out 300
    fn(w)
    assert w.numpy().std() == pytest.approx(std, rel=0.02)


def test_constants_and_eye():
    w = cr.zeros(3, 4, requires_grad=True)  # init works on tensors that require grad
    assert (init.ones_(w).numpy() == 1).all()
    assert (init.constant_(w, 0.3).numpy() == np.float32(0.3)).all()
    assert (init.zeros_(w).numpy() == 0).all()
    np.testing.assert_array_equal(init.eye_(w).numpy(), np.eye(3, 4))


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2)])
def test_orthogonal(shape):
    w = init.orthogonal_(cr.zeros(*shape, dtype=np.float64), gain=2.0)
    flat = w.numpy().reshape(shape[0], -1)
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, 4 * np.eye(min(flat.shape)), atol=1e-12)


def test_fan_errors():
    with pytest.raises(ValueError, match=r"at least 2 dimensions; got shape \(5,\)"):
        init.xavier_uniform_(cr.zeros(5))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(cr.zeros(2, 2), mode="fan")
