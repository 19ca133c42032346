"""Seed 001, the universal approximation theorem: one hidden layer of tanh units approximates a
continuous function on an interval as closely as we like, given enough units.

f(x) ~ sum_j a_j tanh(w_j x + b_j) + c  fits sin(x), |x| and a smoothed step on [-pi, pi]; the
table shows the maximum error over a fine grid falling as the width grows through 2, 4, 8, 16,
64. Each network is trained to convergence on the mean squared error with BFGS
(cr.optimize.minimize_module). A wider network gets two starts, a fresh random one and the
previous best network plus new units whose output weights start near 0 (so it starts where
the narrower one ended); the better of the two is kept.
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
WIDTHS = [2, 4, 8] if QUICK else [2, 4, 8, 16, 64]
MAXITER = 100 if QUICK else 2000
OUT = "runs/examples"


def smoothed_step(x, a=0.5):
    """0 left of -a, 1 right of a, the cubic 3t^2 - 2t^3 in between (continuous slope)."""
    t = np.clip((x + a) / (2 * a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


FUNCTIONS = {"sin(x)": np.sin, "|x|": np.abs, "smoothed step": smoothed_step}


def network(width):
    return cr.nn.Sequential(cr.nn.Linear(1, width), cr.nn.Tanh(), cr.nn.Linear(width, 1)).double()


def widened(previous, width):
    """`previous` plus (width - k) new tanh units whose output weights start near 0."""
    model, k = network(width), previous[0].out_features
    model[0].weight.data[:k] = previous[0].weight.data
    model[0].bias.data[:k] = previous[0].bias.data
    model[2].weight.data[:] *= 1e-2
    model[2].weight.data[:, :k] = previous[2].weight.data
    model[2].bias.data[:] = previous[2].bias.data
    return model


def max_error(model, x, y):
    with cr.no_grad():
        return float(np.abs(model(cr.tensor(x)).numpy() - y).max())


cr.manual_seed(1)
x_fine = np.linspace(-math.pi, math.pi, 1001)[:, None]
errors, fits = {}, {}
for name, f in FUNCTIONS.items():
    X, y = cr.data.make_function_1d(f, n_samples=200)
    X, y = cr.tensor(X.astype(np.float64)), cr.tensor(y.astype(np.float64))
    best, errors[name], fits[name] = None, [], []
    for width in WIDTHS:
        starts = [network(width)] + ([widened(best, width)] if best is not None else [])
        for model in starts:
            cr.optimize.minimize_module(model, lambda m=model, X=X, y=y: F.mse_loss(m(X), y),
                                        method="bfgs", options={"maxiter": MAXITER,
                                                                "gtol": 1e-12})
        best = min(starts, key=lambda m: max_error(m, x_fine, f(x_fine)))
        errors[name].append(max_error(best, x_fine, f(x_fine)))
        with cr.no_grad():
            fits[name].append(best(cr.tensor(x_fine)).numpy()[:, 0])

print("max |f(x) - net(x)| on [-pi, pi] (1001 points), one hidden layer of tanh units")
print(f"{'width':>7}" + "".join(f"{name:>16}" for name in FUNCTIONS))
for i, width in enumerate(WIDTHS):
    print(f"{width:>7}" + "".join(f"{errors[name][i]:>16.2e}" for name in FUNCTIONS))
for name in FUNCTIONS:
    falling = all(b < a for a, b in zip(errors[name], errors[name][1:]))
    print(f"{name}: the maximum error {'falls' if falling else 'does NOT fall'} at every step, "
          f"{errors[name][0]:.2g} -> {errors[name][-1]:.2g}")

fig, axes = plt.subplots(2, 3, figsize=(14, 7), layout="constrained")
for col, (name, f) in enumerate(FUNCTIONS.items()):
    ax = axes[0, col]
    ax.plot(x_fine[:, 0], f(x_fine[:, 0]), "k", lw=3, alpha=0.3, label="target")
    for width, fit in zip(WIDTHS, fits[name]):
        ax.plot(x_fine[:, 0], fit, lw=1, label=f"{width} units")
    ax.set_title(name)
    ax.legend(fontsize=7)
    ax = axes[1, col]
    ax.loglog(WIDTHS, errors[name], "o-")
    ax.set_xticks(WIDTHS, [str(w) for w in WIDTHS])
    ax.minorticks_off()
    ax.set_xlabel("hidden units")
    ax.set_ylabel("max error")
    ax.grid(alpha=0.3, which="both")
os.makedirs(OUT, exist_ok=True)
fig.savefig(f"{OUT}/13_universal_approximation.png", dpi=100)
print(f"saved {OUT}/13_universal_approximation.png")
