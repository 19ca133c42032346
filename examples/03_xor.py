"""Seed 002, "Why non-linearity is non-negotiable": XOR needs a hidden non-linearity.

A 2-4-1 network with sigmoid activations, trained by SGD on the four XOR points, separates them.
The same network without the hidden activation collapses to one linear map
(W2 (W1 x + b1) + b2 = W x + b: one hyperplane), which can classify at most 3 of the 4 points.
"""


import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

X = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = cr.tensor([[0.0], [1.0], [1.0], [0.0]])


def train(hidden_activation, steps=500, seed=0):
    """2-4-1 sigmoid-output network, binary cross-entropy, SGD(lr=1, momentum=0.9)."""
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 4), hidden_activation, nn.Linear(4, 1), nn.Sigmoid())
    optimizer = cr.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    with cr.no_grad():
        p = model(X).numpy()
    correct = int(((p > 0.5) == (y.numpy() > 0.5)).sum())
    return model, history, p, correct


if __name__ == "__main__":
    model, history, p, correct = train(nn.Sigmoid())
    print("with a sigmoid hidden layer (2-4-1):")
    for step in (0, 10, 50, 100, 200, len(history) - 1):
        print(f"  step {step + 1:4d}: loss = {history[step]:.5f}")
    for (a, b), prob in zip(X.numpy(), p[:, 0]):
        print(f"  XOR({a:.0f}, {b:.0f}) -> p = {prob:.4f} -> {int(prob > 0.5)}")
    print(f"  final loss {history[-1]:.5f}, {correct}/4 correct")

    linear, history, p, correct = train(nn.Identity())
    W1, b1 = linear[0].weight.numpy(), linear[0].bias.numpy()
    W2, b2 = linear[2].weight.numpy(), linear[2].bias.numpy()
    W, b = W2 @ W1, W2 @ b1 + b2  # the chain collapses: one hyperplane W x + b = 0
    print("without a hidden non-linearity:")
    print(f"  logit = W2 (W1 x + b1) + b2 = {W[0, 0]:+.3f} x1 {W[0, 1]:+.3f} x2 {b[0]:+.3f}")
    print(f"  final loss {history[-1]:.5f}, {correct}/4 correct (a line cannot separate XOR)")
