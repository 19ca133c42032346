"""The seeds' worked examples and peers' published numbers, reproduced exactly."""

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def float64():
    prev = cr.get_default_dtype()
    cr.set_default_dtype(np.float64)
    yield
    cr.set_default_dtype(prev)


def _seed002(w1, w2):
    x, b1, b2 = cr.tensor(2.0), cr.tensor(1.0), cr.tensor(0.5)
    w1 = cr.tensor(w1, requires_grad=True)
    w2 = cr.tensor(w2, requires_grad=True)
    L = (x * w1 + b1) * w2 + b2
    return L, w1, w2


def test_seed_002_running_the_numbers():
    L, w1, w2 = _seed002(0.5, 1.5)
    E = 0.5 * (L - 5) ** 2
    assert L.item() == 3.5
    assert E.item() == 1.125
    L.backward()
    assert w1.grad.item() == 3.0
    assert w2.grad.item() == 2.0
    for a, want in [(0.2, (1.1, 1.9, 6.58)), (0.1, (0.8, 1.7, 4.92))]:
        new_w1 = w1.item() + a * w1.grad.item()
        new_w2 = w2.item() + a * w2.grad.item()
        L_new, _, _ = _seed002(new_w1, new_w2)
        assert (new_w1, new_w2, L_new.item()) == pytest.approx(want, abs=1e-12)


def test_micrograd_readme_expression():
    a = cr.tensor(-4.0, requires_grad=True)
    b = cr.tensor(2.0, requires_grad=True)
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    assert g.item() == pytest.approx(24.7041, abs=5e-5)
    assert a.grad.item() == pytest.approx(138.8338, abs=5e-5)
    assert b.grad.item() == pytest.approx(645.5773, abs=5e-5)


def test_tanh_derivative_at_one():
    assert cr.grad(cr.tanh)(1.0).item() == pytest.approx(0.419974341614026, abs=1e-15)


def test_dezero_double_backprop():
    x = cr.tensor(2.0, requires_grad=True)
    y = x ** 2
    (gx,) = cr.autograd.grad(y, x, create_graph=True)
    z = gx ** 3 + y
    z.backward()
    assert x.grad.item() == 100.0


def test_newton_by_double_backprop():
    def f(x):
        return x ** 4 - 2 * x ** 2

    want = [2.0, 1.4545454545, 1.1510467894, 1.0253259290, 1.0009084519, 1.0000012353, 1.0]
    x = cr.tensor(2.0, requires_grad=True)
    for expected in want:
        assert x.item() == pytest.approx(expected, abs=1e-10)
        y = f(x)
        (gx,) = cr.autograd.grad(y, x, create_graph=True)
        (gxx,) = cr.autograd.grad(gx, x)
        with cr.no_grad():
            x -= gx / gxx


def test_two_layer_sigmoid_network_matches_hand_formulas():
    rng = np.random.default_rng(0)
    for _ in range(10):
        x, y, w1, b1, w2, b2 = rng.normal(size=6)
        def s(z):
            return 1 / (1 + np.exp(-z))

        def ds(z):
            return s(z) * (1 - s(z))

        z1 = w1 * x + b1
        a1 = s(z1)
        z2 = w2 * a1 + b2
        a2 = s(z2)
        delta2 = -(y - a2) * ds(z2)
        want = {"w2": delta2 * a1, "b2": delta2, "w1": delta2 * w2 * ds(z1) * x,
                "b1": delta2 * w2 * ds(z1)}
        p = {k: cr.tensor(v, requires_grad=True) for k, v in
             dict(w1=w1, b1=b1, w2=w2, b2=b2).items()}
        a1_t = (p["w1"] * x + p["b1"]).sigmoid()
        a2_t = (p["w2"] * a1_t + p["b2"]).sigmoid()
        C = 0.5 * (y - a2_t) ** 2
        C.backward()
        for k, v in want.items():
            assert p[k].grad.item() == pytest.approx(v, rel=1e-12, abs=1e-15)
