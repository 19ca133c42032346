"""PyTorch eager (CPU), written the way a user writes it: nn layers, F losses, torch.optim."""

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

NAME = "torch"


def version():
    import torch

    return torch.__version__


def configure(threads):
    """One intra-op thread when pinned; PyTorch's own default otherwise."""
    import torch

    if threads == 1:
        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)


def _mlp(sizes, activation):
    import torch

    model = torch.nn.Sequential(*mlp_layers(torch.nn, sizes, activation))
    with torch.no_grad():
        for p, w in zip(model.parameters(), initial_weights(sizes)):
            p.copy_(torch.from_numpy(w))
    return model


def w1(x, y):
    import torch

    model = _mlp(W1_SIZES, "relu")
    opt = torch.optim.Adam(model.parameters(), lr=ADAM["lr"], betas=ADAM["betas"],
                           eps=ADAM["eps"])
    return training_step(model, opt, torch.nn.functional.cross_entropy, torch.from_numpy(x),
                         torch.from_numpy(y))


def w2(x, y):
    import torch

    model = _mlp(W2_SIZES, "sigmoid")
    opt = torch.optim.SGD(model.parameters(), lr=SGD_LR)
    return training_step(model, opt, torch.nn.functional.mse_loss, torch.from_numpy(x),
                         torch.from_numpy(y))


def w4(x, y):
    import torch

    model = _mlp(W1_SIZES, "relu")
    params = list(model.parameters())
    v = [torch.from_numpy(a) for a in w4_vector()]
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    cross_entropy = torch.nn.functional.cross_entropy
    last = [None]

    def step():
        loss = cross_entropy(model(x), y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * u).sum() for g, u in zip(grads, v))
        last[0] = torch.autograd.grad(dot, params)

    return step, lambda: np.concatenate([h.detach().numpy().ravel() for h in last[0]])


def w3(x, y):
    """LeNet-5 (bench/lenet.py) from torch.nn layers (oneDNN convolutions), SGD with momentum."""
    import torch

    from bench import lenet

    model = lenet.lenet(torch.nn)
    with torch.no_grad():
        for p, w in zip(model.parameters(), lenet.initial_weights()):
            p.copy_(torch.from_numpy(w))
    opt = torch.optim.SGD(model.parameters(), **lenet.SGD_MOMENTUM)
    return training_step(model, opt, torch.nn.functional.cross_entropy, torch.from_numpy(x),
                         torch.from_numpy(y))


def w7(x, y):
    """The causal Transformer LM (bench/transformer.py) from torch.nn layers, Adam."""
    import torch

    from bench import transformer

    model = transformer.language_model(torch.nn, torch.from_numpy)
    opt = torch.optim.Adam(model.parameters(), lr=ADAM["lr"], betas=ADAM["betas"],
                           eps=ADAM["eps"])
    return training_step(model, opt, torch.nn.functional.cross_entropy, torch.from_numpy(x),
                         torch.from_numpy(y))
