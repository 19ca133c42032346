"""Seeds 000, 001 and 002: from gradient descent to second order, on one page.

1. Taylor models (seed 000: "the Taylor series approximation is the secret behind nearly every
   optimization algorithm"): the order-1 and order-2 models of Rosenbrock's function at a point,
   and the Newton step as the minimizer of the order-2 model.
2. Every minimizer of cr.optimize on Rosenbrock from (-1.2, 1), with its path and its counts
   next to scipy.optimize's matching method.
3. Seed 001: "Conjugate Gradient & Levenberg-Marquardt: effective for specific types of
   problems". LM trains a 1-8-1 tanh network on a 1-D regression to a lower loss than Adam
   given the same number of function evaluations.

Plots go to runs/examples/. CHAINRULE_QUICK=1 makes it a few-second smoke test.
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
from chainrule.optimize.problems import rosen

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
OUT = Path("runs/examples")
OUT.mkdir(parents=True, exist_ok=True)
X0 = np.array([-1.2, 1.0])

# ---- 1. Taylor models ----------------------------------------------------------------------
a = np.array([1.2, 1.25])
q1 = cr.optimize.taylor(rosen, a, order=1)
q2 = cr.optimize.taylor(rosen, a, order=2)
step = q2.newton_step()
print(f"Taylor at a = {a.tolist()}: f(a) = {q2.value:.4f}, grad = {q2.grad.round(3).tolist()}")
print(f"  Newton step = argmin of the order-2 model = {step.round(4).tolist()}; "
      f"f(a + step) = {float(rosen(a + step)):.4f}")
for h in (0.1, 0.01):
    d = h * np.array([1.0, -1.0])
    exact = float(rosen(a + d))
    e1, e2 = abs(q1(a + d).item() - exact), abs(q2(a + d).item() - exact)
    print(f"  |d| = {np.linalg.norm(d):.3f}: error of order-1 model {e1:.2e}, "
          f"of order-2 model {e2:.2e}")

t = np.linspace(-0.3, 0.3, 121)
line = a + t[:, None] * np.array([1.0, -1.0]) / np.sqrt(2)
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(t, [float(rosen(p)) for p in line], "k", lw=2, label="f (Rosenbrock)")
ax.plot(t, q1(line).numpy(), "--", label="order-1 Taylor model")
ax.plot(t, q2(line).numpy(), "-.", label="order-2 Taylor model")
ax.set(xlabel="t along (1, -1)/sqrt 2 from a", ylabel="f", title="Taylor models at a = (1.2, 1.25)")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "05_taylor.png", dpi=110)
plt.close(fig)

# ---- 2. every minimizer on Rosenbrock --------------------------------------------------------
runs = {
    "gd": dict(method="gd", maxiter=500 if QUICK else 20000, options={"lr": 1e-3}),
    "momentum": dict(method="momentum", maxiter=500 if QUICK else 20000,
                     options={"lr": 1e-3, "momentum": 0.9}),
    "cg": dict(method="cg"), "bfgs": dict(method="bfgs"), "lbfgs": dict(method="lbfgs"),
    "newton-cg": dict(method="newton-cg"), "newton": dict(method="newton"),
}
scipy_names = {"cg": "CG", "bfgs": "BFGS", "lbfgs": "L-BFGS-B", "newton-cg": "Newton-CG",
               "newton": "trust-exact"}
try:
    import scipy.optimize as so
except ImportError:  # scipy is optional: the comparison column is left out
    so = None
print(f"\n{'method':<10} {'nit':>6} {'nfev':>6}  {'|x - (1,1)|':>11}   scipy: nit nfev")
results = {}
for name, kw in runs.items():
    options = dict(kw.pop("options", {}), record_path=True)
    res = cr.optimize.minimize(rosen, X0, tol=1e-8, options=options, **kw)
    results[name] = res
    ref = ""
    if so is not None and name in scipy_names:
        extra = {}
        if name == "newton":
            extra["hess"] = lambda x: cr.hessian(rosen)(x).numpy()
        if name == "newton-cg":
            extra["hessp"] = lambda x, p: cr.hvp(rosen, x, p).numpy()
        r = so.minimize(lambda x: float(rosen(x)), X0, jac=lambda x: cr.grad(rosen)(x).numpy(),
                        method=scipy_names[name], tol=1e-8, **extra)
        ref = f"{scipy_names[name]:>11} {r.nit:>4} {r.nfev:>4}"
    print(f"{name:<10} {res.nit:>6} {res.nfev:>6}  {np.abs(res.x - 1).max():>11.1e}   {ref}")

u, v = np.meshgrid(np.linspace(-1.6, 1.6, 200), np.linspace(-0.6, 1.6, 200))
F = 100 * (v - u ** 2) ** 2 + (1 - u) ** 2
fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
groups = (("first order", ("gd", "momentum", "cg")),
          ("curvature", ("bfgs", "lbfgs", "newton-cg", "newton")))
for ax, (title, names) in zip(axes, groups):
    ax.contour(u, v, np.log10(F + 1e-3), levels=25, cmap="Greys", linewidths=0.6)
    for name in names:
        path = results[name].path
        ax.plot(path[:, 0], path[:, 1], ".-", ms=3, lw=1,
                label=f"{name} ({results[name].nit} it, {results[name].nfev} evals)")
    ax.plot(1, 1, "k*", ms=12)
    ax.set(title=f"Rosenbrock from (-1.2, 1): {title}", xlabel="x", ylabel="y")
    ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
fig.savefig(OUT / "05_rosenbrock_paths.png", dpi=110)
plt.close(fig)

# ---- 3. Levenberg-Marquardt vs Adam on a 1-8-1 tanh network ----------------------------------
nn = cr.nn
cr.manual_seed(0)
net = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1)).double()
rng = np.random.default_rng(0)
x = np.linspace(-3, 3, 40 if QUICK else 80)[:, None]
y = np.sin(x) + 0.5 * np.cos(2 * x) + 0.01 * rng.standard_normal(x.shape)
X, Y = cr.tensor(x), cr.tensor(y)
theta0 = nn.utils.parameters_to_vector(net.parameters()).detach()


def mse():
    return ((net(X) - Y) ** 2).mean()


lm_curve = []  # (evaluations so far, loss): one point per residual or Jacobian evaluation


def residuals():
    r = (net(X) - Y).reshape(-1)
    lm_curve.append(float((r.data ** 2).mean()))
    return r


res = cr.optimize.least_squares_module(net, residuals, max_nfev=40 if QUICK else 150)
lm_loss = mse().item()
evaluations = res.nfev + res.njev  # each Jacobian also costs (at least) one evaluation
nn.utils.vector_to_parameters(theta0, net.parameters())
adam_curves = {}
for lr in (0.01, 0.03, 0.1):
    nn.utils.vector_to_parameters(theta0, net.parameters())
    opt = cr.optim.Adam(net.parameters(), lr=lr)
    curve = []
    for _ in range(evaluations):
        opt.zero_grad()
        loss = mse()
        loss.backward()
        opt.step()
        curve.append(loss.item())
    adam_curves[lr] = curve
best_adam = min(c[-1] for c in adam_curves.values())
print(f"\n1-8-1 tanh network, {len(x)} points, {evaluations} evaluations each "
      f"(LM: {res.nfev} residual + {res.njev} Jacobian evaluations)")
print(f"  Levenberg-Marquardt: MSE {lm_loss:.5f}")
for lr, c in adam_curves.items():
    print(f"  Adam lr={lr:<5}      MSE {c[-1]:.5f}")
print(f"  LM reaches a {best_adam / lm_loss:.0f}x lower loss than the best Adam run")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.semilogy(np.arange(1, len(lm_curve) + 1), lm_curve, "k", lw=2, label="Levenberg-Marquardt")
for lr, c in adam_curves.items():
    ax1.semilogy(np.arange(1, len(c) + 1), c, label=f"Adam lr={lr}")
ax1.set(xlabel="function evaluations", ylabel="training MSE", title="LM vs Adam, same budget")
ax1.legend()
xx = np.linspace(-3, 3, 200)[:, None]
nn.utils.vector_to_parameters(cr.tensor(res.x), net.parameters())
ax2.plot(x, y, "k.", ms=4, label="data")
ax2.plot(xx, net(cr.tensor(xx)).numpy(), "k", lw=2, label="LM fit")
ax2.set(title="1-8-1 tanh network fitted by LM", xlabel="x")
ax2.legend()
fig.tight_layout()
fig.savefig(OUT / "05_lm_vs_adam.png", dpi=110)
plt.close(fig)
print(f"\nplots: {OUT}/05_taylor.png, 05_rosenbrock_paths.png, 05_lm_vs_adam.png")
