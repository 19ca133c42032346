"""Seed 004, learning rates: too small, too large and well chosen; the step, exponential and
cosine schedules; and the paths of batch, mini-batch and stochastic gradient descent.

1. Gradient descent on least squares L(w) = ||Xw - y||^2 / n, whose Hessian H = 2 X^T X / n is
   constant: w <- w - lr grad L converges iff lr < 2 / lambda_max(H). Below that it is slow,
   near 1 / lambda_max it is fast, above 2 / lambda_max it oscillates and diverges.
2. Schedules: step decay lr_0 0.1^floor(t / step), exponential lr_0 e^(-lambda t) and cosine
   lr_0 (1 + cos(pi t / T)) / 2, as cr.optim.lr_scheduler computes them, checked against the
   seed's formulas and used to train one network.
3. Batch (all n samples per step), mini-batch (32) and stochastic (1) gradient descent on a
   two-parameter line fit, drawn over the contours of the loss.
"""

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

QUICK = bool(os.environ.get("CHAINRULE_QUICK"))
OUT = "runs/examples"
os.makedirs(OUT, exist_ok=True)
cr.set_default_dtype(np.float64)
fig, axes = plt.subplots(1, 4, figsize=(20, 4.4), layout="constrained")

# ---- 1. too small, too large, just right --------------------------------------------------
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2)) * [1.0, 3.0]  # unequal feature scales: an elongated bowl
y = X @ np.array([2.0, -1.0]) + 0.1 * rng.normal(size=200)
H = 2 * X.T @ X / len(X)
lam = np.linalg.eigvalsh(H).max()
print(f"1. least squares: lambda_max(H) = {lam:.3f}, so gradient descent needs lr < "
      f"2/lambda_max = {2 / lam:.4f}")
steps = 30 if QUICK else 100
for label, lr in [("too small", 0.02 / lam), ("well chosen", 1.0 / lam),
                  ("too large", 2.1 / lam)]:
    w = cr.zeros(2, requires_grad=True)
    opt = cr.optim.SGD([w], lr=lr)
    losses = []
    for _ in range(steps):
        loss = ((cr.tensor(X) @ w - cr.tensor(y)) ** 2).mean()
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"   lr = {lr:.4f} ({label:>11}): loss {losses[0]:.3g} -> {losses[-1]:.3g}")
    axes[0].semilogy(losses, label=f"{label}: lr = {lr:.3f}")
axes[0].set(title="learning rate: too small, right, too large", xlabel="step",
            ylabel="loss (log scale)")
axes[0].legend()

# ---- 2. schedules ------------------------------------------------------------------------
epochs, lr0 = (10 if QUICK else 60), 0.5
decay = 3.0 / epochs  # lambda of the exponential schedule
schedules = {
    "constant": (lambda o: None, lambda t: lr0),
    "step": (lambda o: cr.optim.lr_scheduler.StepLR(o, step_size=epochs // 3, gamma=0.1),
             lambda t: lr0 * 0.1 ** (t // (epochs // 3))),
    "exponential": (lambda o: cr.optim.lr_scheduler.ExponentialLR(o, gamma=math.exp(-decay)),
                    lambda t: lr0 * math.exp(-decay * t)),
    "cosine": (lambda o: cr.optim.lr_scheduler.CosineAnnealingLR(o, T_max=epochs),
               lambda t: lr0 * (1 + math.cos(math.pi * t / epochs)) / 2),
}
X_moons, y_moons = cr.data.make_moons(200, noise=0.2, seed=0)
X_moons = X_moons.astype(np.float64)  # the models are float64 (the default dtype above)
print("2. schedules (SGD on moons, 2-16-2 tanh network):")
for name, (make, formula) in schedules.items():
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.Tanh(), cr.nn.Linear(16, 2))
    opt = cr.optim.SGD(model.parameters(), lr=lr0, momentum=0.9)
    h = cr.train.fit(model, F.cross_entropy, opt, (X_moons, y_moons), epochs=epochs,
                     batch_size=20, scheduler=make(opt), seed=0, progress=False)
    worst = max(abs(lr - formula(t)) for t, lr in enumerate(h["lr"]))
    print(f"   {name:>11}: lr {h['lr'][0]:.3g} -> {h['lr'][-1]:.3g} (max difference from the "
          f"seed's formula {worst:.1e}), final loss {h['loss'][-1]:.4f}")
    axes[1].plot(h.epoch, h["lr"], label=name)
    axes[2].semilogy(h.epoch, h["loss"], label=name)
axes[1].set(title="schedules (seed 004)", xlabel="epoch", ylabel="learning rate")
axes[2].set(title="training loss under each schedule", xlabel="epoch", ylabel="loss")
axes[1].legend()
axes[2].legend()

# ---- 3. batch, mini-batch and stochastic gradient descent --------------------------------
x_line = rng.uniform(-1, 1, size=(256, 1))
y_line = 3.0 * x_line - 2.0 + 0.5 * rng.normal(size=(256, 1))


class RecordPath(cr.train.Callback):
    """Keep (w, b) after every optimizer step."""

    def __init__(self, model):
        self.model, self.path = model, [self._point(model)]

    @staticmethod
    def _point(model):
        return model.weight.data[0, 0], model.bias.data[0]

    def on_batch_end(self, state):
        self.path.append(self._point(self.model))


print("3. one line fit y = w x + b from (w, b) = (-2, 2), 60 steps each:")
for label, batch, lr in [("batch (n = 256)", 256, 0.3), ("mini-batch (32)", 32, 0.3),
                         ("stochastic (1)", 1, 0.3)]:
    model = cr.nn.Linear(1, 1)
    model.weight.data[:] = -2.0
    model.bias.data[:] = 2.0
    rec = RecordPath(model)
    opt = cr.optim.SGD(model.parameters(), lr=lr)
    n_steps = 20 if QUICK else 60
    data = cr.data.DataLoader((x_line, y_line), batch_size=batch, shuffle=True, seed=1)
    cr.train.fit(model, F.mse_loss, opt, data, epochs=math.ceil(n_steps / len(data)),
                 callbacks=[rec], progress=False)
    path = np.array(rec.path[:n_steps + 1])
    print(f"   {label:>16}: ends at w = {path[-1, 0]:.2f}, b = {path[-1, 1]:.2f}")
    axes[3].plot(path[:, 0], path[:, 1], ".-", ms=3, lw=1, label=label)
W, B = np.meshgrid(np.linspace(-2.5, 4.5, 120), np.linspace(-3, 2.5, 120))
L = ((W[..., None] * x_line[:, 0] + B[..., None] - y_line[:, 0]) ** 2).mean(axis=-1)
axes[3].contour(W, B, L, levels=np.geomspace(L.min() + 1e-3, L.max(), 15), colors="gray",
                linewidths=0.5)
axes[3].plot([3.0], [-2.0], "k*", ms=12, label="true (3, -2)")
axes[3].set(title="batch vs mini-batch vs stochastic", xlabel="w", ylabel="b")
axes[3].legend(fontsize=8)
fig.savefig(f"{OUT}/14_learning_rates.png", dpi=90)
print(f"saved {OUT}/14_learning_rates.png")
