"""cr.nn.utils.parametrize and spectral normalisation: the property, state_dict keys as
PyTorch's, right_inverse on assignment, removal, caching; sigma against np.linalg.svd after
enough power steps; training vs eval updates of u, v; finite differences of W / sigma."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn.utils import parametrizations, parametrize


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


class Scale(nn.Module):
    def forward(self, X):
        return 2.0 * X

    def right_inverse(self, Y):
        return Y / 2.0


def test_register_moves_the_weight_to_original_and_recomputes_it():
    m = nn.Linear(3, 3).double()
    w = m.weight
    parametrize.register_parametrization(m, "weight", Symmetric())
    assert type(m).__name__ == "ParametrizedLinear" and isinstance(m, nn.Linear)
    assert parametrize.type_before_parametrizations(m) is nn.Linear
    assert m.parametrizations.weight.original is w  # the same Parameter (optimizers keep it)
    W = m.weight.numpy()
    np.testing.assert_array_equal(W, W.T)
    np.testing.assert_array_equal(np.triu(W), np.triu(w.numpy()))
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]
    assert parametrize.is_parametrized(m) and parametrize.is_parametrized(m, "weight")
    assert not parametrize.is_parametrized(m, "bias")


def test_gradients_flow_to_original_through_the_parametrization():
    m = nn.Linear(3, 3).double()
    parametrize.register_parametrization(m, "weight", Symmetric())
    x = cr.tensor(np.random.default_rng(0).standard_normal((4, 3)))
    m(x).sum().backward()
    g = m.parametrizations.weight.original.grad.numpy()
    G = np.ones((4, 1)).T @ x.numpy()  # d sum(x W^T) / dW: every row equals sum_n x_n
    G = np.repeat(G, 3, axis=0)
    expected = np.triu(G + G.T) - np.diag(np.diag(G))  # the upper triangle gets both halves
    np.testing.assert_allclose(g, expected, rtol=1e-12)


def test_assignment_stores_the_right_inverse_and_chaining_composes():
    m = nn.Linear(2, 2).double()
    parametrize.register_parametrization(m, "weight", Scale())
    target = np.array([[1.0, 2.0], [3.0, 4.0]])
    m.weight = cr.tensor(target)
    np.testing.assert_allclose(m.parametrizations.weight.original.numpy(), target / 2)
    np.testing.assert_allclose(m.weight.numpy(), target)
    parametrize.register_parametrization(m, "weight", Scale())  # chained: 2 * (2 * original)
    np.testing.assert_allclose(m.weight.numpy(), 2 * target)
    assert len(m.parametrizations.weight) == 2


def test_remove_leaves_the_parametrized_value_or_the_original():
    m = nn.Linear(2, 2).double()
    parametrize.register_parametrization(m, "weight", Scale())
    orig = m.parametrizations.weight.original
    before = orig.numpy().copy()
    parametrize.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and "parametrizations" not in m._modules
    assert m.weight is orig and isinstance(m.weight, nn.Parameter)
    np.testing.assert_allclose(m.weight.numpy(), 2 * before)
    assert list(m.state_dict()) == ["bias", "weight"]  # re-registered last, as torch
    m2 = nn.Linear(2, 2).double()
    parametrize.register_parametrization(m2, "weight", Scale())
    o2 = m2.parametrizations.weight.original.numpy().copy()
    parametrize.remove_parametrizations(m2, "weight", leave_parametrized=False)
    np.testing.assert_allclose(m2.weight.numpy(), o2)
    with pytest.raises(ValueError, match="no parametrization on 'weight'"):
        parametrize.remove_parametrizations(m2, "weight")


def test_state_dict_round_trips_and_a_buffer_can_be_parametrized():
    a, b = nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
    for m in (a, b):
        parametrize.register_parametrization(m, "weight", Scale())
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    m = nn.Module()
    m.register_buffer("scale", cr.tensor(np.array([1.0, 2.0])))
    parametrize.register_parametrization(m, "scale", Scale())
    np.testing.assert_allclose(m.scale.numpy(), [1.0, 2.0])  # right_inverse keeps the value
    np.testing.assert_allclose(m.parametrizations.scale.original.numpy(), [0.5, 1.0])
    assert list(m.state_dict()) == ["parametrizations.scale.original"]


def test_cached_computes_each_tensor_once_and_errors_are_clear():
    calls = []

    class Counting(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1.0

    m = nn.Linear(2, 2).double()
    parametrize.register_parametrization(m, "weight", Counting())
    calls.clear()
    with parametrize.cached():
        w1, w2 = m.weight, m.weight
    assert w1 is w2 and len(calls) == 1
    w3, w4 = m.weight, m.weight  # outside the block: computed at every access
    assert w3 is not w4 and len(calls) == 3

    class Shrink(nn.Module):
        def forward(self, X):
            return X[:1]

    with pytest.raises(ValueError, match=r"changes 'weight' from shape \(2, 2\)"):
        parametrize.register_parametrization(nn.Linear(2, 2), "weight", Shrink())
    with pytest.raises(ValueError, match="no parameter or buffer 'kernel'"):
        parametrize.register_parametrization(nn.Linear(2, 2), "kernel", Scale())
    m3 = nn.Linear(2, 2)
    parametrize.register_parametrization(m3, "weight", Shrink(), unsafe=True)
    assert m3.weight.shape == (1, 2)


@pytest.mark.parametrize("form", ["param", "legacy"])
@pytest.mark.parametrize("layer", ["Linear", "Conv2d", "ConvTranspose2d"])
def test_sigma_converges_to_the_largest_singular_value(form, layer):
    cr.manual_seed(0)
    m = {"Linear": lambda: nn.Linear(7, 5), "Conv2d": lambda: nn.Conv2d(3, 4, 3),
         "ConvTranspose2d": lambda: nn.ConvTranspose2d(3, 2, 3)}[layer]().double()
    w = m.weight.numpy().copy()
    mat = np.moveaxis(w, 1, 0).reshape(w.shape[1], -1) if layer == "ConvTranspose2d" \
        else w.reshape(w.shape[0], -1)  # torch's dim: 1 for ConvTranspose, else 0
    s = np.linalg.svd(mat, compute_uv=False)
    (parametrizations.spectral_norm if form == "param" else nn.utils.spectral_norm)(
        m, n_power_iterations=5)
    x = cr.randn(*((2, 7) if layer == "Linear" else (1, 3, 6, 6)), dtype=np.float64)
    for _ in range(60):
        m(x)
    W = (m.weight if form == "param" else m.weight).numpy()
    np.testing.assert_allclose(W * s[0], w, rtol=1e-8, atol=1e-10)  # W / sigma with sigma = s_1
    Wm = np.moveaxis(W, 1, 0).reshape(W.shape[1], -1) if layer == "ConvTranspose2d" \
        else W.reshape(W.shape[0], -1)
    assert np.linalg.svd(Wm, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-8)


def test_eval_mode_reuses_u_and_v_and_training_mode_updates_them():
    cr.manual_seed(1)
    m = parametrizations.spectral_norm(nn.Linear(4, 3).double())
    sn = m.parametrizations.weight[0]
    x = cr.randn(2, 4, dtype=np.float64)
    u0 = sn._u.numpy().copy()
    m.eval()
    y1, y2 = m(x).numpy(), m(x).numpy()
    np.testing.assert_array_equal(sn._u.numpy(), u0)
    np.testing.assert_array_equal(y1, y2)
    m.train()
    v0 = sn._v.numpy().copy()
    m(x)
    W = m.parametrizations.weight.original.numpy()
    u1 = W @ v0 / np.linalg.norm(W @ v0)  # one step: u = W v / |W v|, then v = W^T u / |.|
    np.testing.assert_allclose(sn._u.numpy(), u1, rtol=1e-12)
    np.testing.assert_allclose(sn._v.numpy(), W.T @ u1 / np.linalg.norm(W.T @ u1), rtol=1e-12)


def test_spectral_norm_gradient_matches_finite_differences():
    cr.manual_seed(2)
    m = parametrizations.spectral_norm(nn.Linear(3, 2).double()).eval()  # fixed u, v
    x = cr.randn(4, 3, dtype=np.float64)
    orig = m.parametrizations.weight.original

    def f():
        return float((m(x) ** 2).sum().item())

    (m(x) ** 2).sum().backward()
    g = orig.grad.numpy().copy()
    num = np.zeros_like(g)
    for idx in np.ndindex(*g.shape):
        w = orig.numpy().copy()
        for sign in (1, -1):
            w2 = w.copy()
            w2[idx] += sign * 1e-6
            orig.data = w2
            num[idx] += sign * f() / 2e-6
        orig.data = w
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


def test_spectral_norm_of_a_1d_weight_is_its_normalisation_and_errors():
    m = nn.Module()
    m.w = nn.Parameter(cr.tensor(np.array([3.0, 4.0])))
    parametrizations.spectral_norm(m, "w")
    np.testing.assert_allclose(m.w.numpy(), [0.6, 0.8])
    with pytest.raises(ValueError, match="n_power_iterations must be positive"):
        parametrizations.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(IndexError, match="dim 2 out of range"):
        parametrizations.spectral_norm(nn.Linear(2, 2), dim=2)
    lin = nn.utils.spectral_norm(nn.Linear(2, 2))
    assert list(lin.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    with pytest.raises(RuntimeError, match="already spectrally normalised"):
        nn.utils.spectral_norm(lin)
    nn.utils.remove_spectral_norm(lin)
    assert list(lin.state_dict()) == ["bias", "weight"]
