"""Loss landscapes and curvature of a trained MLP (Li et al., 2018; seeds 000/002/004).

Trains a small tanh MLP on two interleaved half-moons, then draws the loss along a
filter-normalised random direction (1-D), on a plane of two such directions (2-D), and on the
straight line from the initial to the trained parameters. The curvature at the trained point:
the top Hessian eigenvalues (Lanczos on Hessian-vector products), the trace, the spectral density
(stochastic Lanczos quadrature), and lambda_max beside 2/lr, gradient descent's stability bound.
Then gradient descent is run from the trained point at an lr inside the bound and one outside
it, with lambda_max measured at every step: what happens beyond 2/lr is computed, not assumed
(a quadratic would diverge; a network can catapult, Lewkowycz et al. 2020, or train at the edge
of stability, Cohen et al. 2021). Plots go to runs/examples/12_*.png.
"""

import copy
import os
import pathlib

import matplotlib

matplotlib.use("Agg")

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.inspect import plot


def plt_figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    return fig, fig.subplots(1, 2)


OUT = pathlib.Path("runs/examples")
OUT.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
cr.set_default_dtype(np.float64)  # curvature is read to many digits
cr.manual_seed(0)


def moons(n, noise=0.15, seed=0):
    """Two interleaved half circles, labels 0 and 1."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.where(label, 1 - np.cos(t), np.cos(t))
    y = np.where(label, 0.5 - np.sin(t), np.sin(t))
    return np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2)), label


X_np, y_np = moons(128 if QUICK else 400)
X, y = cr.tensor(X_np), cr.tensor(y_np)
model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                      nn.Linear(16, 2))
start = nn.utils.parameters_to_vector(model.parameters()).numpy().copy()
loss_fn = nn.functional.cross_entropy
opt = cr.optim.Adam(model.parameters(), lr=0.02)
for _ in range(80 if QUICK else 400):
    opt.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    opt.step()
with cr.no_grad():
    accuracy = (model(X).numpy().argmax(axis=1) == y_np).mean()
n_params = sum(p.size for p in model.parameters())
print(f"trained a {n_params}-parameter MLP: loss {loss.item():.4f}, accuracy {accuracy:.1%}")

steps = 11 if QUICK else 41
line = cr.inspect.loss_landscape(model, loss_fn, (X, y), dim=1, steps=steps, span=1.0)
print(f"1-D slice: loss {line.losses.min():.4f} at alpha = {line.alphas[line.losses.argmin()]:+.2f}"
      f", {line.losses[0]:.3f} at -1 and {line.losses[-1]:.3f} at +1")
plane = cr.inspect.loss_landscape(model, loss_fn, (X, y), dim=2, steps=9 if QUICK else 31,
                                  span=1.0)
print(f"2-D slice: {plane.losses.shape} grid, loss {plane.losses.min():.4f} .. "
      f"{plane.losses.max():.3f}")
path = cr.inspect.interpolate(model, loss_fn, (X, y), start, model, steps=steps)
inside = path.losses[(path.alphas >= 0) & (path.alphas <= 1)]
print(f"init -> trained along a straight line: loss {inside[0]:.3f} -> {inside[-1]:.4f}, "
      f"monotone decrease: {bool(np.all(np.diff(inside) < 0))}")
plot.save(plot.plot_landscape(line, title="Loss along a filter-normalised direction"),
          OUT / "12_landscape_1d.png")
plot.save(plot.plot_landscape(plane), OUT / "12_landscape_2d.png")
fig = plot.plot_landscape(path, title="Loss from the initial (t=0) to the trained (t=1) weights")
plot.save(fig, OUT / "12_interpolation.png")

# curvature at the trained point: H is touched only through Hessian-vector products
closure = lambda: loss_fn(model(X), y)
top = cr.inspect.hessian_eigs(closure, model.parameters(), k=5, which="LA")
bottom = cr.inspect.hessian_eigs(closure, model.parameters(), k=3, which="SA")
trace = cr.inspect.hessian_trace(closure, model.parameters(), num_probes=60 if QUICK else 150)
print(f"Hessian ({n_params} x {n_params}, never formed): top eigenvalues "
      f"{np.array2string(top[::-1], precision=4)}, bottom {np.array2string(bottom, precision=4)}"
      f", trace ~ {trace:.4f}")


def gd_run(lr, steps, every):
    """Full-batch GD from the trained point, on a copy: the loss at every step, lambda_max at
    every `every`-th (Lanczos on Hessian-vector products)."""
    net = copy.deepcopy(model)
    params = list(net.parameters())
    sgd = cr.optim.SGD(params, lr=lr)
    losses, sharp = [], []
    loss_now = lambda: loss_fn(net(X), y)
    for t in range(steps + 1):
        losses.append(float(loss_now().item()))
        if not np.isfinite(losses[-1]):
            break
        if t % every == 0 or t == steps:
            lam = cr.inspect.hessian_eigs(loss_now, params, k=1, max_steps=30, tol=1e-6)[0]
            sharp.append((t, float(lam)))
        sgd.zero_grad()
        loss_now().backward()
        sgd.step()
    return np.array(losses), np.array(sharp)


runs = {}
STEPS = 120 if QUICK else 200
for lr in (0.1, 2.0):
    s = cr.inspect.sharpness(closure, model.parameters(), lr=lr)
    losses, sharp = runs[lr] = gd_run(lr, STEPS, 6 if QUICK else 4)
    peak = int(np.nanargmax(losses))
    if not np.isfinite(losses).all() or (losses[peak] > 10 * losses[0]
                                         and losses[-1] > 0.1 * losses[peak]):
        what = f"diverges: the loss goes {losses[0]:.3g} -> {losses[-1]:.3g}"
    elif losses[peak] > 10 * losses[0]:
        first, last = sharp[0, 1], sharp[-1, 1]
        what = (f"catapults: the loss goes {losses[0]:.2g} -> {losses[peak]:.3g} (step {peak}) "
                f"-> {losses[-1]:.2g} (step {len(losses) - 1}), the overshoot along the "
                f"sharpest direction growing by |1 - lr lambda_max| = {abs(1 - lr * first):.3g} "
                f"per step at first; lambda_max goes from "
                f"{first:.3g} to {last:.3g}, {'below' if last < 2 / lr else 'still above'} "
                f"2/lr = {2 / lr:.3g}: GD moved to a flatter region where its step is stable")
    else:
        what = (f"stays stable: the loss goes {losses[0]:.2g} -> {losses[-1]:.2g}, lambda_max "
                f"{sharp[0, 1]:.3g} -> {sharp[-1, 1]:.3g}")
    print(f"GD with lr = {lr}: lambda_max = {s.lambda_max:.4f} vs 2/lr = {s.bound:.4g}, so the "
          f"local quadratic model says {'stable' if s.stable else 'unstable'}; run for "
          f"{len(losses) - 1} steps, it {what}")
fig, (ax1, ax2) = plt_figure()
for lr, (losses, sharp) in runs.items():
    (line,) = ax1.semilogy(losses, "-", label=f"lr = {lr}")
    ax2.semilogy(sharp[:, 0], sharp[:, 1], ".-", color=line.get_color(),
                 label=f"lambda_max, lr = {lr}")
    ax2.axhline(2 / lr, color=line.get_color(), linestyle="--", label=f"2/lr = {2 / lr:g}")
ax1.set(xlabel="GD step from the trained point", ylabel="loss", title="Loss")
ax2.set(xlabel="GD step from the trained point", ylabel="lambda_max",
        title="Sharpness against the stability bound 2/lr")
ax1.legend(fontsize=8)
ax2.legend(fontsize=8)
plot.save(fig, OUT / "12_catapult.png")
density = cr.inspect.hessian_density(closure, model.parameters(), num_probes=2 if QUICK else 8,
                                     steps=30 if QUICK else 80)
plot.save(plot.plot_hessian_density(density, eigenvalues=np.r_[bottom, top]),
          OUT / "12_hessian_density.png")
for name, f in (("x^2 - y^2", lambda v: v[0] ** 2 - v[1] ** 2),
                ("x^2 + y^2", lambda v: v[0] ** 2 + v[1] ** 2)):
    cp = cr.inspect.critical_point(f, [0.0, 0.0])
    print(f"critical point of {name} at 0: {cp.kind} (Hessian eigenvalues {cp.eigenvalues})")
print(f"plots: {sorted(str(p) for p in OUT.glob('12_*.png'))}")
