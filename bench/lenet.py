"""W3, LeNet-5 on 28x28 inputs: the workload's layers, initial weights and data, shared by every
peer (the same float32 arrays from fixed seeds, so the losses agree before anything is timed).

  conv 1->6 5x5 pad 2, ReLU, max pool 2 -> conv 6->16 5x5, ReLU, max pool 2 -> flatten 400 ->
  linear 120, ReLU -> linear 84, ReLU -> linear 10; softmax cross-entropy; SGD (lr 0.01,
  momentum 0.9); batch 64
"""

import numpy as np

BATCH = 64
SGD_MOMENTUM = dict(lr=0.01, momentum=0.9)
# (name, weight shape, fan_in) in torch's state_dict order; each followed by its bias
LAYERS = [("conv1", (6, 1, 5, 5)), ("conv2", (16, 6, 5, 5)), ("fc1", (120, 400)),
          ("fc2", (84, 120)), ("fc3", (10, 84))]


def initial_weights(seed=4):
    """[W, b] per layer, drawn like PyTorch's defaults: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    out = []
    for _, shape in LAYERS:
        bound = 1.0 / np.sqrt(np.prod(shape[1:]))
        out.append(rng.uniform(-bound, bound, shape).astype(np.float32))
        out.append(rng.uniform(-bound, bound, shape[0]).astype(np.float32))
    return out


def w3_data(batch=BATCH, seed=5):
    """(x float32 (batch, 1, 28, 28), integer class labels (batch,))."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, 1, 28, 28), dtype=np.float32),
            rng.integers(0, 10, batch))


def lenet(nn):
    """LeNet-5 as an nn.Sequential of a PyTorch-style `nn` namespace (torch.nn or cr.nn)."""
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))
