"""Shared builders for the inspect tests: seed 002's graph and deep MLPs."""

import numpy as np

import chainrule as cr
from chainrule import nn


def seed002():
    """Seed 002's example: z = x*w1 + b1, L = z*w2 + b2 at x = 2, w1 = 0.5, w2 = 1.5."""
    x, b1, b2 = cr.tensor(2.0), cr.tensor(1.0), cr.tensor(0.5)
    w1 = cr.tensor(0.5, requires_grad=True)
    w2 = cr.tensor(1.5, requires_grad=True)
    z = x * w1 + b1
    L = z * w2 + b2
    return x, b1, b2, w1, w2, z, L


def deep_mlp(activation, depth=20, width=32, he=False, seed=0):
    """depth Linear layers with `activation` between; He-normal weights and zero biases if he."""
    cr.manual_seed(seed)
    layers = []
    for i in range(depth):
        linear = nn.Linear(width if i else 8, width if i < depth - 1 else 1)
        if he:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < depth - 1:
            layers.append(activation())
    return nn.Sequential(*layers)


def small_problem(seed=0, train_steps=0, kind="ce"):
    """A float64 tanh MLP (403 or 369 parameters) on 64 points and its loss closure."""
    cr.manual_seed(seed)
    out = 3 if kind == "ce" else 1
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                          nn.Linear(16, out)).double()
    rng = np.random.default_rng(seed)
    X = cr.tensor(rng.standard_normal((64, 4)))
    if kind == "ce":
        y = cr.tensor(rng.integers(0, 3, 64))
        loss_fn = lambda: nn.functional.cross_entropy(model(X), y)
    else:
        y = cr.tensor(np.sin(X.numpy().sum(axis=1, keepdims=True)))
        loss_fn = lambda: nn.functional.mse_loss(model(X), y)
    if train_steps:
        opt = cr.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(train_steps):
            opt.zero_grad()
            loss_fn().backward()
            opt.step()
    return model, loss_fn, (X, y)
