"""WGAN-GP's gradient penalty: its value against the critic's gradient in closed form, its
gradient w.r.t. the critic's parameters (a double backward) against central finite
differences and gradcheck; the NLL losses' errors and gradcheck."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


def _critic(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()


def _data(seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 2)), rng.standard_normal((5, 2)) + 2.0, rng.uniform(size=5)


def test_the_penalty_equals_its_closed_form():
    D = _critic()
    real, fake, alpha = _data()
    W1, b1, w2 = D[0].weight.numpy(), D[0].bias.numpy(), D[2].weight.numpy()[0]
    x = alpha[:, None] * real + (1 - alpha[:, None]) * fake
    grads = (w2 * (1 - np.tanh(x @ W1.T + b1) ** 2)) @ W1  # d/dx w2 . tanh(W1 x + b1)
    want = np.mean((np.linalg.norm(grads, axis=1) - 1) ** 2)
    got = nn.gradient_penalty(D, real, fake, alpha=alpha).item()
    assert got == pytest.approx(want, rel=1e-12)


def test_the_double_backward_matches_finite_differences():
    D = _critic(3)
    real, fake, alpha = _data(4)
    nn.gradient_penalty(D, real, fake, alpha=alpha).backward()
    for p in D.parameters():
        g = np.zeros(p.shape) if p.grad is None else p.grad.numpy()
        num = np.zeros_like(g)
        base = p.numpy().copy()
        for idx in np.ndindex(*p.shape):
            for sign in (1, -1):
                w = base.copy()
                w[idx] += sign * 1e-6
                p.data = w
                num[idx] += sign * nn.gradient_penalty(D, real, fake, alpha=alpha).item() / 2e-6
        p.data = base
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


def test_gradcheck_of_the_penalty_in_the_first_layers_weight():
    D = _critic(5)
    real, fake, alpha = _data(6)
    W = D[0].weight

    def g(w):
        D[0].__dict__["_parameters"]["weight"] = w  # (the graph runs through w)
        return nn.gradient_penalty(D, real, fake, alpha=alpha)

    assert cr.gradcheck(g, [cr.tensor(W.numpy().copy(), requires_grad=True)])


def test_random_alpha_is_per_sample_and_errors_are_clear():
    D = _critic()
    real, fake, _ = _data()
    cr.manual_seed(0)
    a = nn.gradient_penalty(D, real, fake).item()
    cr.manual_seed(0)
    assert nn.gradient_penalty(D, real, fake).item() == a  # drawn from chainrule's generator
    with pytest.raises(ValueError, match=r"same shape.*\(5, 2\) and \(4, 2\)"):
        nn.gradient_penalty(D, real, fake[:4])


def test_nll_loss_errors_name_the_op_and_the_values():
    x = cr.zeros(4, 3)
    with pytest.raises(ValueError, match="gaussian_nll_loss: var has negative entries"):
        F.gaussian_nll_loss(x, np.zeros((4, 3)), -np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"var of shape \(3, 4\) does not fit input of shape"):
        F.gaussian_nll_loss(x, np.zeros((4, 3)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.gaussian_nll_loss(x, np.zeros((4, 3)), np.ones((4, 3)), reduction="avg")
    with pytest.raises(ValueError, match="poisson_nll_loss: target shape"):
        F.poisson_nll_loss(x, np.zeros((4, 2)))
    assert repr(nn.GaussianNLLLoss(reduction="sum")) == "GaussianNLLLoss(reduction='sum')"


def test_gradcheck_nll_losses():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)), rng.poisson(2.0, (3, 4)).astype(np.float64)
    v = rng.uniform(0.5, 2.0, (3, 1))
    assert cr.gradcheck(lambda a, b: F.gaussian_nll_loss(a, y, b, full=True),
                        [cr.tensor(x, requires_grad=True), cr.tensor(v, requires_grad=True)])
    assert cr.gradgradcheck(lambda a, b: F.gaussian_nll_loss(a, y, b),
                            [cr.tensor(x, requires_grad=True), cr.tensor(v, requires_grad=True)])
    assert cr.gradcheck(lambda a: F.poisson_nll_loss(a, y, full=True),
                        [cr.tensor(x, requires_grad=True)])
    assert cr.gradcheck(lambda a: F.poisson_nll_loss(a, y, log_input=False),
                        [cr.tensor(np.abs(x) + 0.5, requires_grad=True)])
    loss = nn.PoissonNLLLoss()(cr.tensor(x), y)
    assert loss.item() == pytest.approx(np.mean(np.exp(x) - y * x), rel=1e-12)


def test_a_critic_flat_at_some_points_gives_a_finite_gradient():
    D = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    D[0].weight.data = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    D[0].bias.data = np.full(4, -10.0)  # every ReLU off near the origin: grad_x D = 0 there
    real, fake = np.zeros((3, 2)), np.full((3, 2), 0.1)
    gp = nn.gradient_penalty(D, real, fake, alpha=np.full(3, 0.5))
    assert gp.item() == pytest.approx(1.0)  # (0 - 1)^2
    gp.backward()
    assert all(np.isfinite(p.grad.numpy()).all() for p in D.parameters() if p.grad is not None)
