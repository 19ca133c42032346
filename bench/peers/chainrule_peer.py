"""chainrule eager, written the way a user writes it: cr.nn layers, F losses, cr.optim."""

import numpy as np

from bench.workloads import ADAM, SGD_LR, W1_SIZES, W2_SIZES, initial_weights, w4_vector

NAME = "chainrule"


def version():
    import chainrule

    return getattr(chainrule, "__version__", "dev")


def _mlp(sizes, activation):
    """Sequential Linear/activation stack loaded with the shared initial weights."""
    import chainrule as cr

    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(cr.nn.Linear(a, b))
        if activation == "relu" and i < len(sizes) - 2:
            layers.append(cr.nn.ReLU())
        elif activation == "sigmoid":
            layers.append(cr.nn.Sigmoid())
    model = cr.nn.Sequential(*layers)
    for p, w in zip(model.parameters(), initial_weights(sizes)):
        p.data[...] = w
    return model


def w1(x, y):
    import chainrule as cr
    import chainrule.nn.functional as F

    model = _mlp(W1_SIZES, "relu")
    opt = cr.optim.Adam(model.parameters(), **ADAM)
    x = cr.tensor(x)
    last = [None]

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        last[0] = loss

    return step, lambda: last[0].item()


def w2(x, y):
    import chainrule as cr
    import chainrule.nn.functional as F

    model = _mlp(W2_SIZES, "sigmoid")
    opt = cr.optim.SGD(model.parameters(), lr=SGD_LR)
    x, y = cr.tensor(x), cr.tensor(y)
    last = [None]

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        last[0] = loss

    return step, lambda: last[0].item()


def w4(x, y):
    import chainrule as cr
    import chainrule.nn.functional as F

    model = _mlp(W1_SIZES, "relu")
    params = list(model.parameters())
    v = [cr.tensor(a) for a in w4_vector()]
    x = cr.tensor(x)
    last = [None]

    def step():
        loss = F.cross_entropy(model(x), y)
        grads = cr.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * u).sum() for g, u in zip(grads, v))
        last[0] = cr.autograd.grad(dot, params)

    return step, lambda: np.concatenate([h.numpy().ravel() for h in last[0]])
