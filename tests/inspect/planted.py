"""Planted failures for the diagnose catalogue: each builder returns a Case, broken or healthy.

A Case holds what diagnose needs (model, loss, data, optimizer, steps, val_data). The four
failures of issue 18's first paragraph are `vanishing` (20-layer sigmoid), `exploding`
(8-layer ReLU, N(0, 3^2) init), `dead_after_large_lr` (Adam at lr 1 on raw digit pixels) and
`large_lr` (cross-entropy at lr 200); each broken builder has a healthy twin built by the
same function with the failure's knob turned back.
"""

from dataclasses import dataclass, field
from functools import cache

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


@dataclass
class Case:
    model: object
    loss_fn: object
    data: tuple
    optimizer: object = None
    steps: int = 0
    val_data: tuple = None
    extra: dict = field(default_factory=dict)

    def diagnose(self, **kw):
        kw = dict(dict(optimizer=self.optimizer, steps=self.steps, val_data=self.val_data), **kw)
        return cr.inspect.diagnose(self.model, self.loss_fn, self.data, **kw)


@cache
def digits():
    """Standardised digits split (float32): X_train, X_test, y_train, y_test, mean, std."""
    X, y = cr.data.load_digits()
    X = X.astype(np.float32)
    X_tr, X_te, y_tr, y_te = cr.data.train_test_split(X, y, test_size=0.2, stratify=y, seed=0)
    X_tr, mean, std = cr.data.standardize(X_tr)
    X_te, _, _ = cr.data.standardize(X_te, mean, std)
    return X_tr, X_te, y_tr, y_te, mean, std


def raw_digits():
    """The training split as raw pixel values 0..16."""
    X_tr, X_te, y_tr, y_te, mean, std = digits()
    return (X_tr * std + mean).astype(np.float32), (X_te * std + mean).astype(np.float32)


def mlp(sizes, activation=nn.ReLU, init=None, seed=0):
    """Linear layers of the given widths with `activation` between; init(linear) if given."""
    cr.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(a, b)
        if init is not None:
            init(linear)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def he(linear):
    nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
    nn.init.zeros_(linear.bias)


def normal(std):
    def init(linear):
        nn.init.normal_(linear.weight, 0.0, std)
    return init


def _fit(model, optimizer, X, y, epochs, seed=0):
    cr.train.fit(model, F.cross_entropy, optimizer, (X, y), epochs=epochs, batch_size=32,
                 seed=seed, progress=False)


# ---- the four failures of the first paragraph, with variants -----------------------
def vanishing(depth=20, width=64, seed=0, healthy=False):
    """A `depth`-layer sigmoid MLP on digits (healthy: ReLU with He init)."""
    X, _, y, _, _, _ = digits()
    sizes = [64] + [width] * (depth - 1) + [10]
    model = mlp(sizes, nn.ReLU, he, seed) if healthy else mlp(sizes, nn.Sigmoid, seed=seed)
    return Case(model, F.cross_entropy, (X, y))


def exploding(depth=8, width=64, std=3.0, seed=0, healthy=False):
    """An 8-layer ReLU MLP with N(0, std^2) weights: loss ~1e10 (healthy: He init)."""
    X, _, y, _, _, _ = digits()
    sizes = [64] + [width] * (depth - 1) + [10]
    return Case(mlp(sizes, nn.ReLU, he if healthy else normal(std), seed), F.cross_entropy,
                (X, y))


def dead_after_large_lr(lr=1.0, seed=0, sizes=(64, 128, 64, 10), healthy=False):
    """Adam at lr 1 on raw pixels for 3 epochs: most of layer 1's ReLUs die, accuracy falls to
    chance (healthy: standardised pixels, lr 1e-3)."""
    X_tr, X_te, y_tr, y_te, _, _ = digits()
    if not healthy:
        X_tr, X_te = raw_digits()
    model = mlp(list(sizes), seed=seed)
    opt = cr.optim.Adam(model.parameters(), lr=1e-3 if healthy else lr)
    _fit(model, opt, X_tr, y_tr, epochs=3, seed=seed)
    return Case(model, F.cross_entropy, (X_tr, y_tr), opt, val_data=(X_te, y_te))


def dead_biases(bias=-10.0, seed=0, healthy=False):
    """Layer 1's biases at a large negative value: every ReLU after it is off."""
    X, _, y, _, _, _ = digits()
    model = mlp([64, 128, 64, 10], seed=seed)
    if not healthy:
        nn.init.constant_(model[0].bias, bias)
    return Case(model, F.cross_entropy, (X, y), cr.optim.Adam(model.parameters(), lr=1e-3))


def large_lr(lr=200.0, epochs=3, seed=0, healthy=False, optimizer="Adam"):
    """Cross-entropy trained at lr 200 (the CLI's MLP): the loss ends far above chance."""
    X_tr, X_te, y_tr, y_te, _, _ = digits()
    model = mlp([64, 128, 64, 10], seed=seed)
    opt = getattr(cr.optim, optimizer)(model.parameters(), lr=1e-3 if healthy else lr)
    _fit(model, opt, X_tr, y_tr, epochs=epochs, seed=seed)
    return Case(model, F.cross_entropy, (X_tr, y_tr), opt, val_data=(X_te, y_te))


# ---- the rest of the catalogue -------------------------------------------------------------
def saturation(scale=100.0, seed=0, healthy=False):
    """Unscaled inputs into tanh: pre-activations ~scale, the units saturate."""
    X, _, y, _, _, _ = digits()
    model = mlp([64, 64, 64, 10], nn.Tanh, seed=seed)
    return Case(model, F.cross_entropy, (X if healthy else X * scale, y),
                cr.optim.Adam(model.parameters(), lr=1e-3))


def unscaled_feature(feature=12, scale=1e3, seed=0, healthy=False):
    """One input feature in other units (x 1000)."""
    X, _, y, _, _, _ = digits()
    X = X.copy()
    if not healthy:
        X[:, feature] *= scale
    model = mlp([64, 128, 64, 10], seed=seed)
    return Case(model, F.cross_entropy, (X, y), cr.optim.Adam(model.parameters(), lr=1e-3))


def log_of_zero(seed=0, healthy=False):
    """A hand-written cross-entropy log(softmax(z)[y]); large logits make p = 0, log 0 = -inf
    (healthy: the same loss on logits of normal size)."""
    X, _, y, _, _, _ = digits()
    model = mlp([64, 64, 10], seed=seed)
    if not healthy:
        with cr.no_grad():
            model[2].weight.mul_(300.0)

    def loss(out, target):
        p = out.softmax(-1)
        picked = (p * F.one_hot(target, 10).astype(p.dtype)).sum(-1)
        return -cr.log(picked).mean()

    return Case(model, loss, (X, y))


def diverging_lr(lr=5.0, seed=0, optimizer="SGD", healthy=False):
    """A fresh MLP and a learning rate that diverges in 20 steps (healthy: 0.1 / 1e-3)."""
    X, _, y, _, _, _ = digits()
    model = mlp([64, 128, 64, 10], seed=seed)
    good = 0.1 if optimizer == "SGD" else 1e-3
    opt = getattr(cr.optim, optimizer)(model.parameters(), lr=good if healthy else lr)
    return Case(model, F.cross_entropy, (X, y), opt, steps=20)


def tiny_lr(lr=1e-6, seed=0, optimizer="SGD", healthy=False):
    """A fresh MLP and a learning rate so small the loss does not move in 20 steps."""
    X, _, y, _, _, _ = digits()
    model = mlp([64, 128, 64, 10], seed=seed)
    good = 0.1 if optimizer == "SGD" else 1e-3
    opt = getattr(cr.optim, optimizer)(model.parameters(), lr=good if healthy else lr)
    return Case(model, F.cross_entropy, (X, y), opt, steps=20)


def shuffled_labels(seed=0, healthy=False):
    """Labels permuted at random: the model can memorise a batch but learns nothing general."""
    X, _, y, _, _, _ = digits()
    if not healthy:
        y = np.random.default_rng(seed + 100).permutation(y)
    model = mlp([64, 128, 64, 10], seed=seed)
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    return Case(model, F.cross_entropy, (X, y), opt, steps=20)


def tiny_init(depth=6, std=0.01, seed=0, healthy=False):
    """ReLU weights N(0, 0.01^2): the signal shrinks ~18x per layer (healthy: He)."""
    X, _, y, _, _, _ = digits()
    sizes = [64] + [64] * (depth - 1) + [10]
    return Case(mlp(sizes, nn.ReLU, he if healthy else normal(std), seed), F.cross_entropy,
                (X, y))


def target_shape(seed=0, builtin=False, healthy=False):
    """Regression with an (N, 1) output against (N,) targets, through a hand-written MSE (or
    F.mse_loss, which refuses)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((300, 5)).astype(np.float32)
    y = (X @ rng.standard_normal(5)).astype(np.float32)
    if healthy:
        y = y[:, None]
    model = mlp([5, 32, 1], seed=seed)
    loss = F.mse_loss if builtin else (lambda out, t: ((out - t) ** 2).mean())
    return Case(model, loss, (X, y))


def softmax_output(seed=0, healthy=False):
    """A final nn.Softmax before F.cross_entropy, which expects logits."""
    X, _, y, _, _, _ = digits()
    model = mlp([64, 64, 10], seed=seed)
    if not healthy:
        model = nn.Sequential(*model, nn.Softmax(dim=-1))
    return Case(model, F.cross_entropy, (X, y))


def no_zero_grad(steps=30, seed=0, optimizer="Adam", healthy=False):
    """A hand-written loop that never calls zero_grad: .grad sums every step's gradient."""
    X, _, y, _, _, _ = digits()
    model = mlp([64, 128, 64, 10], seed=seed)
    opt = getattr(cr.optim, optimizer)(model.parameters(), lr=1e-3 if optimizer == "Adam"
                                       else 0.01)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.choice(len(X), 32, replace=False)
        if healthy:
            opt.zero_grad()
        F.cross_entropy(model(cr.tensor(X[idx])), cr.tensor(y[idx])).backward()
        opt.step()
    return Case(model, F.cross_entropy, (X, y), opt)


def eval_mode(seed=0, healthy=False):
    """Training a model with Dropout and BatchNorm left in eval mode."""
    X, _, y, _, _, _ = digits()
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(64, 10))
    if not healthy:
        model.eval()
    return Case(model, F.cross_entropy, (X, y), cr.optim.Adam(model.parameters(), lr=1e-3))


def overfit(rows=40, epochs=150, seed=0, healthy=False):
    """A wide MLP trained on 40 rows, validated on the held-out split (healthy: all rows,
    20 epochs)."""
    X_tr, X_te, y_tr, y_te, _, _ = digits()
    if not healthy:
        X_tr, y_tr = X_tr[:rows], y_tr[:rows]
    model = mlp([64, 256, 10], seed=seed)
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    _fit(model, opt, X_tr, y_tr, epochs=epochs if not healthy else 20, seed=seed)
    return Case(model, F.cross_entropy, (X_tr, y_tr), opt, val_data=(X_te, y_te))
