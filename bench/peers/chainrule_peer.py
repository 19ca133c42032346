"""chainrule eager, written the way a user writes it: cr.nn layers, F losses, cr.optim."""

import numpy as np

from bench.workloads import (
    ADAM,
    SGD_LR,
    W1_SIZES,
    W2_SIZES,
    initial_weights,
    mlp_layers,
    training_step,
    w4_vector,
)

NAME = "chainrule"


def version():
    import chainrule
    from chainrule import _numba

    if _numba.enabled():
        import numba

        kernels = f"numba {numba.__version__} kernels"
    else:
        kernels = "NumPy only"
    return f"{getattr(chainrule, '__version__', 'dev')} ({kernels})"


def _mlp(sizes, activation):
    """Sequential Linear/activation stack loaded with the shared initial weights."""
    import chainrule as cr

    model = cr.nn.Sequential(*mlp_layers(cr.nn, sizes, activation))
    for p, w in zip(model.parameters(), initial_weights(sizes)):
        p.data[...] = w
    return model


def w1(x, y):
    import chainrule as cr
    import chainrule.nn.functional as F

    model = _mlp(W1_SIZES, "relu")
    opt = cr.optim.Adam(model.parameters(), **ADAM)
    return training_step(model, opt, F.cross_entropy, cr.tensor(x), y)


def w2(x, y):
    import chainrule as cr
    import chainrule.nn.functional as F

    model = _mlp(W2_SIZES, "sigmoid")
    opt = cr.optim.SGD(model.parameters(), lr=SGD_LR)
    return training_step(model, opt, F.mse_loss, cr.tensor(x), cr.tensor(y))


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
        return last[0]

    return step, lambda: np.concatenate([h.numpy().ravel() for h in last[0]])


def w3(x, y):
    """LeNet-5 (bench/lenet.py) from cr.nn layers, SGD with momentum."""
    import chainrule as cr
    import chainrule.nn.functional as F
    from bench import lenet

    model = lenet.lenet(cr.nn)
    for p, w in zip(model.parameters(), lenet.initial_weights()):
        p.data[...] = w
    opt = cr.optim.SGD(model.parameters(), **lenet.SGD_MOMENTUM)
    return training_step(model, opt, F.cross_entropy, cr.tensor(x), y)


def w7(x, y):
    """The causal Transformer LM (bench/transformer.py) from cr.nn layers, Adam."""
    import chainrule as cr
    import chainrule.nn.functional as F
    from bench import transformer

    model = transformer.language_model(cr.nn, cr.tensor)
    opt = cr.optim.Adam(model.parameters(), **ADAM)
    return training_step(model, opt, F.cross_entropy, cr.tensor(x), cr.tensor(y))
