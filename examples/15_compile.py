"""Trace and replay: a training step is a fixed list of primitive calls, so run it as one.

A step of the 2-16-1 sigmoid network (MSE, SGD, batch 32) is about 25 primitive ops: Linear,
Sigmoid, the loss, and the vjps of each, plus the optimizer. Eager chainrule builds the graph
and walks it in Python every step, and at this size that Python costs more than the
arithmetic. cr.compile(step) records the step's ops on its first two calls and from then on
calls the recorded NumPy forwards straight through: the same floats (this script checks the
losses are identical, bit for bit) at a fraction of the time per step. It prints the replay,
which is backpropagation written out as a program: the forward pass, then each vjp's ops in
reverse order, each leaf's gradient handed to .grad, then the optimizer step.
"""

import os
import time

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

QUICK = bool(os.environ.get("CHAINRULE_QUICK"))
STEPS = 200 if QUICK else 3000


def setup():
    """The network, its optimizer and a fixed batch, identical on every call."""
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.Sigmoid(), cr.nn.Linear(16, 1),
                             cr.nn.Sigmoid())
    opt = cr.optim.SGD(model.parameters(), lr=0.5)
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((32, 2)).astype(np.float32))
    y = cr.tensor((x.numpy()[:, :1] * x.numpy()[:, 1:] > 0).astype(np.float32))  # XOR-like

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step, x, y


def train(step, x, y):
    """(losses, seconds per step)."""
    losses = []
    start = time.perf_counter()
    for _ in range(STEPS):
        losses.append(step(x, y))
    seconds = (time.perf_counter() - start) / STEPS
    return [loss.item() for loss in losses], seconds


eager_step, x, y = setup()
eager, eager_seconds = train(eager_step, x, y)
step, x, y = setup()
compiled = cr.compile(step)
replayed, replay_seconds = train(compiled, x, y)

assert replayed == eager, "a replay must give the eager step's numbers exactly"
print(f"{STEPS} steps of the 2-16-1 sigmoid network: loss {eager[0]:.4f} -> {eager[-1]:.4f}, "
      "identical eager and compiled")
print(f"  eager     {eager_seconds * 1e6:7.1f} us per step")
print(f"  compiled  {replay_seconds * 1e6:7.1f} us per step "
      f"({eager_seconds / replay_seconds:.1f}x faster)")
print("\nThe replay of one step (s: arrays, a: arguments, T: parameters, C: constants):\n")
print(compiled.source)
