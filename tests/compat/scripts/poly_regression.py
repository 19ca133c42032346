"""Fit a cubic with a linear model on polynomial features (in the style of the PyTorch
tutorials' regression example), with nn.Linear, MSELoss and SGD with momentum."""

import torch
import torch.nn as nn

POLY_DEGREE = 3
W_TARGET = torch.tensor([[0.5], [-1.2], [0.8]])
B_TARGET = torch.tensor([0.3])


def make_features(x):
    """Columns [x, x^2, x^3] of a column vector x."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def f(x):
    """The target function x W + b."""
    return x.mm(W_TARGET) + B_TARGET.item()


def get_batch(step, batch_size=32):
    """A deterministic batch: points spread over [-1, 1], shifted each step."""
    random = torch.linspace(-1, 1, batch_size) * 0.9 + 0.1 * ((step % 7) - 3) / 3
    x = make_features(random)
    return x, f(x)


def make_model():
    return nn.Linear(W_TARGET.size(0), 1)


def train(model, steps=60):
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in range(steps):
        batch_x, batch_y = get_batch(step)
        optimizer.zero_grad()
        output = criterion(model(batch_x), batch_y)
        output.backward()
        optimizer.step()
        losses.append(output.item())
    return losses


if __name__ == "__main__":
    torch.manual_seed(0)
    model = make_model()
    losses = train(model)
    print(f"Loss: {losses[-1]:.6f} after {len(losses)} batches")
    print("Learned weights:", model.weight.view(-1).tolist(), "bias:", model.bias.item())
