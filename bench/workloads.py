"""The benchmark workloads: sizes, hyperparameters, initial weights and data, shared by every peer.

Every peer starts from the same float32 arrays made here with fixed seeds, so their losses can be
compared number for number before anything is timed.

  W1  784-256-128-10 ReLU MLP, softmax cross-entropy, Adam (lr 1e-3), batch 32 / 128 / 1024
  W2  2-16-1 sigmoid network (sigmoid after both layers), MSE, SGD (lr 0.1), batch 32
  W3  LeNet-5 on 28x28 inputs, cross-entropy, SGD with momentum, batch 64 (bench/lenet.py)
  W4  Hessian-vector product H v of the W1 loss w.r.t. all its parameters, batch 128
"""

import numpy as np

W1_SIZES = (784, 256, 128, 10)
W2_SIZES = (2, 16, 1)
ADAM = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
SGD_LR = 0.1


def initial_weights(sizes, seed=0):
    """[W1, b1, W2, b2, ...] drawn like PyTorch's Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        out.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        out.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return out


def mlp_layers(nn, sizes, activation):
    """Linear/activation layers of the benchmark MLPs from a PyTorch-style `nn` namespace.

    ReLU nets end on a linear layer (logits); sigmoid nets apply sigmoid after every layer.
    """
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if activation == "relu" and i < len(sizes) - 2:
            layers.append(nn.ReLU())
        elif activation == "sigmoid":
            layers.append(nn.Sigmoid())
    return layers


def training_step(model, optimizer, loss_fn, x, y):
    """(step, last_loss): the step every PyTorch-style peer times (it returns its loss too, for
    cr.compile, whose replays skip the Python side effects), and its latest loss."""
    last = [None]

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        last[0] = loss
        return loss

    return step, lambda: last[0].item()


def w1_data(batch, seed=1):
    """(x float32 (batch, 784), integer class labels (batch,))."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, W1_SIZES[0]), dtype=np.float32),
            rng.integers(0, W1_SIZES[-1], batch))


def w2_data(batch, seed=2):
    """(x float32 (batch, 2), targets float32 (batch, 1) in (0, 1))."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, W2_SIZES[0]), dtype=np.float32)
    return x, rng.uniform(0.1, 0.9, (batch, 1)).astype(np.float32)


def w4_vector(seed=3):
    """The direction v of the Hessian-vector product: one array per W1 parameter."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(w.shape, dtype=np.float32) for w in initial_weights(W1_SIZES)]


# What each workload is called with: (peer factory name, data builder).
WORKLOADS = {
    "W1": "784-256-128-10 ReLU MLP, cross-entropy, Adam",
    "W2": "2-16-1 sigmoid net, MSE, SGD",
    "W4": "Hessian-vector product of the W1 loss",
}
WORKLOADS["W3"] = "LeNet-5 28x28, cross-entropy, SGD momentum (bench/lenet.py)"
