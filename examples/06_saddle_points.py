"""Seeds 000 and 002: saddle points, and which methods get stuck at them.

Seed 000: "saddle points, not local minima, are the real challenge ... This is why SGD with
momentum works: it has enough velocity to escape saddle points that pure gradient descent
would get stuck on." Seed 002: gradient descent "follows the local slope of the cost function
and converges to a local minimum or a flat region", so near a saddle, where the slope is
tiny, progress stalls.

1. f(x, y) = x^2 - y^2 from (0.5, 0.001), next to the saddle's stable direction y = 0:
   gd lingers (y grows only by 1 + 2 lr per step), momentum escapes (~1.5x per step),
   undamped Newton jumps straight onto the saddle (its Taylor model's stationary point), and the
   saddle-free Newton step -|H|^{-1} g, which walks down negative curvature, escapes.
2. A small network y = w2 tanh(w1 x) fitted to tanh(x): (w1, w2) = (0, 0) is a strict saddle of
   the loss (Hessian eigenvalues +-2 mean(x tanh x)). The same four behaviours, on a contour plot.

Plots go to runs/examples/. CHAINRULE_QUICK=1 makes it a few-second smoke test.
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
OUT = Path("runs/examples")
OUT.mkdir(parents=True, exist_ok=True)
minimize = cr.optimize.minimize

METHODS = {  # label -> (method, options)
    "gd": ("gd", {"lr": 0.1}),
    "momentum": ("momentum", {"lr": 0.1, "momentum": 0.9}),
    "Newton (undamped)": ("newton", {"modification": "none", "linesearch": False}),
    "saddle-free Newton": ("newton", {"modification": "saddle-free", "linesearch": False}),
}


def _style(label):
    """Undamped Newton is drawn on top with big squares: its path is one jump to the saddle."""
    if "undamped" in label:
        return dict(marker="s", ms=7, ls="--", lw=2, zorder=5, label=label)
    return dict(marker="o", ms=3, lw=1.2, label=label)


# ---- 1. f(x, y) = x^2 - y^2 -----------------------------------------------------------------
def saddle(z):
    return z[0] ** 2 - z[1] ** 2


z0 = np.array([0.5, 1e-3])
print("f(x, y) = x^2 - y^2 from (0.5, 0.001); the saddle is (0, 0), f = 0 there")
print(f"{'method':<20} {'steps':>5}  {'first step with |y| > 1':>24}  {'final (x, y)':>24}")
paths = {}
for label, (method, options) in METHODS.items():
    res = minimize(saddle, z0, method=method, tol=0.0, maxiter=25,
                   options={"record_path": True, **options})
    paths[label] = res.path
    far = np.flatnonzero(np.abs(res.path[:, 1]) > 1)
    first = str(far[0]) if far.size else "never"
    print(f"{label:<20} {res.nit:>5}  {first:>24}  {np.array2string(res.x, precision=3):>24}")
    if "saddle" in res.message:
        print(f"{'':<20} message: {res.message}")

u, v = np.meshgrid(np.linspace(-0.6, 0.6, 121), np.linspace(-1.2, 1.2, 121))
fig, ax = plt.subplots(figsize=(6.5, 6))
cs = ax.contourf(u, v, u ** 2 - v ** 2, levels=30, cmap="RdBu_r")
fig.colorbar(cs, ax=ax, label="f = x^2 - y^2")
for label, path in paths.items():
    keep = np.all(np.abs(path) <= 1.3, axis=1)  # escaped points leave the frame
    ax.plot(path[keep, 0], path[keep, 1], **_style(label))
ax.plot(0, 0, "kx", ms=12, mew=2)
ax.set(xlim=(-0.6, 0.6), ylim=(-1.2, 1.2), xlabel="x", ylabel="y",
       title="Near the saddle of x^2 - y^2 (25 steps)")
ax.legend(loc="lower left", fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "06_saddle_quadratic.png", dpi=110)
plt.close(fig)

# ---- 2. a network's saddle ------------------------------------------------------------------
xs = np.linspace(-2.0, 2.0, 21)
ts = np.tanh(xs)


def net_loss(w):
    """Mean squared error of y = w2 tanh(w1 x) against tanh(x)."""
    return ((w[1] * cr.tanh(w[0] * xs) - ts) ** 2).mean()


H0 = cr.hessian(net_loss)(np.zeros(2)).numpy()
print(f"\nnetwork y = w2 tanh(w1 x): at w = 0 the gradient is "
      f"{cr.grad(net_loss)(np.zeros(2)).numpy().tolist()}, Hessian eigenvalues "
      f"{np.linalg.eigvalsh(H0).round(4).tolist()} (a strict saddle)")
w0 = np.array([0.2, -0.2]) + 1e-6
steps = 150 if QUICK else 400
net_methods = {
    "gd": ("gd", {"lr": 0.05}),
    "momentum": ("momentum", {"lr": 0.05, "momentum": 0.9}),
    "Newton (undamped)": ("newton", {"modification": "none", "linesearch": False}),
    "saddle-free Newton": ("newton", {"modification": "saddle-free"}),
}
saddle_loss = float(net_loss(cr.tensor(np.zeros(2))))
print(f"{'method':<20} {'steps':>5} {'steps on the plateau':>21} {'final loss':>11}  final w")
net_paths = {}
for label, (method, options) in net_methods.items():
    res = minimize(net_loss, w0, method=method, maxiter=steps, tol=1e-8,
                   options={"record_path": True, **options})
    losses = np.array([float(net_loss(cr.tensor(w))) for w in res.path])
    net_paths[label] = res.path
    plateau = int((losses > 0.9 * saddle_loss).sum())
    print(f"{label:<20} {res.nit:>5} {plateau:>21} {res.fun:>11.2e}  {res.x.round(4).tolist()}")

a, b = np.meshgrid(np.linspace(-0.6, 1.6, 111), np.linspace(-0.6, 1.6, 111))
grid = np.stack([a.ravel(), b.ravel()], axis=1)
Z = np.mean((grid[:, 1:2] * np.tanh(grid[:, 0:1] * xs) - ts) ** 2, axis=1).reshape(a.shape)
fig, ax = plt.subplots(figsize=(6.5, 6))
ax.contour(a, b, np.log10(Z + 1e-4), levels=30, cmap="Greys", linewidths=0.6)
for label, path in net_paths.items():
    ax.plot(path[:, 0], path[:, 1], **_style(label))
ax.plot(0, 0, "kx", ms=12, mew=2)
ax.plot(1, 1, "k*", ms=12)
ax.set(xlabel="w1", ylabel="w2", title="Loss of y = w2 tanh(w1 x): saddle at 0, minimum at (1, 1)")
ax.legend(loc="upper left", fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "06_saddle_network.png", dpi=110)
plt.close(fig)
print(f"\nplots: {OUT}/06_saddle_quadratic.png, 06_saddle_network.png")
