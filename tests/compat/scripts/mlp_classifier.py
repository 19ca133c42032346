"""Classify two interleaved spirals with a small MLP (in the style of the PyTorch tutorials'
classifier): a Dataset and DataLoader, CrossEntropyLoss, Adam with a StepLR schedule, and
accuracy from torch.max(outputs, 1)."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


def make_data(n=96):
    """Two spirals of n/2 points each (deterministic)."""
    t = torch.linspace(0.5, 2 * math.pi, n // 2)
    a = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 4
    b = -a
    X = torch.cat([a, b])
    y = torch.cat([torch.zeros(n // 2, dtype=torch.long), torch.ones(n // 2, dtype=torch.long)])
    return X, y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 2)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.fc3(x)


def make_model():
    return Net()


def train(model, epochs=30):
    X, y = make_data()
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=False)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    losses = []
    for _ in range(epochs):
        running_loss = 0.0
        for inputs, labels in loader:
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        scheduler.step()
        losses.append(running_loss / len(loader))
    with torch.no_grad():
        _, predicted = torch.max(model(X), 1)
        correct = (predicted == y).sum().item()
    losses.append(correct / y.size(0))  # the last entry is the training accuracy
    return losses


if __name__ == "__main__":
    torch.manual_seed(0)
    model = make_model()
    history = train(model)
    for epoch, loss in enumerate(history[:-1]):
        print(f"epoch {epoch + 1}: loss {loss:.4f}")
    print(f"accuracy on the training spirals: {100 * history[-1]:.1f}%")
