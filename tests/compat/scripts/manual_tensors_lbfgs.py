"""Fit sin(x) with a two-layer net written with raw tensors (in the style of "Learning
PyTorch with examples"): autograd on tensors that require grad, the manual update under
torch.no_grad() and .grad.zero_(), then a fine-tune of the same tensors with LBFGS and its
strong-Wolfe line search through a closure."""

import math

import torch

H = 16


def make_data(n=64):
    x = torch.linspace(-math.pi, math.pi, n).unsqueeze(1)
    return x, torch.sin(x)


def make_model():
    """The parameters, as a dict of leaf tensors (a state_dict of its own)."""
    return {"w1": torch.randn(1, H, requires_grad=True), "b1": torch.zeros(H, requires_grad=True),
            "w2": torch.randn(H, 1, requires_grad=True), "b2": torch.zeros(1, requires_grad=True)}


def forward(p, x):
    return torch.tanh(x.mm(p["w1"]) + p["b1"]).mm(p["w2"]) + p["b2"]


def train(p, steps=40, lbfgs_steps=1):
    x, y = make_data()
    learning_rate = 0.05
    losses = []
    for _ in range(steps):
        loss = (forward(p, x) - y).pow(2).mean()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for w in p.values():
                w -= learning_rate * w.grad
                w.grad.zero_()
    optimizer = torch.optim.LBFGS(list(p.values()), lr=1, max_iter=5, history_size=10,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = (forward(p, x) - y).pow(2).mean()
        loss.backward()
        return loss

    for _ in range(lbfgs_steps):
        losses.append(optimizer.step(closure).item())
    losses.append(closure().item())
    return losses


if __name__ == "__main__":
    torch.manual_seed(0)
    params = make_model()
    losses = train(params)
    print(f"gradient descent: {losses[0]:.4f} -> {losses[39]:.4f}; LBFGS: {losses[-1]:.6f}")
