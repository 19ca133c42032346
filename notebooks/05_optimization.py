# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Optimization: from gradient descent to Newton
#
# Gradient descent follows the slope; the curvature decides how large a step is safe. On a
# quadratic with Hessian eigenvalues $\lambda_i$, the step $w \leftarrow w - \eta\nabla f$
# multiplies the error along eigenvector $i$ by $1 - \eta\lambda_i$: it converges iff
# $\eta < 2/\lambda_{max}$, and slowly when $\lambda_{min}/\lambda_{max}$ is small.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
cr.set_default_dtype(np.float64)

Hq = cr.tensor([[10.0, 0.0], [0.0, 1.0]])
quad = lambda w: 0.5 * w @ Hq @ w


def descend(f, w0, lr, steps):
    w = cr.tensor(w0)
    path = [w.numpy().copy()]
    df = cr.grad(f)
    for _ in range(steps):
        w = w - lr * df(w)
        path.append(w.numpy().copy())
    return np.array(path)


# %% [markdown]
# ## Learning rates: below, near and above $2/\lambda_{max} = 0.2$

# %%
fig, ax = plt.subplots(figsize=(5, 4))
final = {}
for lr in (0.05, 0.18, 0.21):
    path = descend(quad, [1.0, 1.0], lr, 30)
    final[lr] = np.linalg.norm(path[-1])
    ax.plot(path[:, 0], path[:, 1], ".-", label=f"lr = {lr}: |w_30| = {final[lr]:.2g}")
ax.set_xlim(-2, 2)
ax.set_ylim(-0.2, 1.1)
ax.legend(fontsize=8)
plt.show()
assert final[0.05] < 0.3 and final[0.18] < 0.1 and final[0.21] > 1.0
s = cr.inspect.sharpness(lambda: quad(w_param), [w_param := cr.tensor([1.0, 1.0],
                                                                   requires_grad=True)],
                         lr=0.21)
s

# %%
assert np.isclose(s.lambda_max, 10.0) and np.isclose(s.max_stable_lr, 0.2) and not s.stable

# %% [markdown]
# ## Newton's method: divide by the curvature
# $w \leftarrow w - H^{-1}\nabla f$ rescales every direction by its own curvature: one step on a
# quadratic, and quadratic convergence near a minimum in general. On the Rosenbrock valley we
# compare plain GD, momentum (Adam) and Newton (`cr.optimize.minimize(method="newton-cg")`).

# %%
rosen = lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2
w = cr.tensor([-1.2, 1.0])
newton = w - cr.linalg.solve(cr.hessian(quad)(w), cr.grad(quad)(w))
assert np.allclose(newton.numpy(), 0.0)  # one Newton step solves the quadratic

res = cr.optimize.minimize(rosen, cr.tensor([-1.2, 1.0]), method="newton-cg")
print(np.asarray(res.x), res.nit, "iterations")
assert np.allclose(np.asarray(res.x), [1.0, 1.0], atol=1e-4)
gd = descend(rosen, [-1.2, 1.0], 1e-3, 300 if QUICK else 3000)
p = cr.tensor([-1.2, 1.0], requires_grad=True)
opt = cr.optim.Adam([p], lr=0.02)
adam = [p.detach().numpy().copy()]
for _ in range(300 if QUICK else 3000):
    opt.zero_grad()
    rosen(p).backward()
    opt.step()
    adam.append(p.detach().numpy().copy())
adam = np.array(adam)
g1, g2 = np.meshgrid(np.linspace(-1.5, 1.5, 120), np.linspace(-0.5, 1.5, 120))
plt.figure(figsize=(5.5, 4))
plt.contour(g1, g2, (1 - g1) ** 2 + 100 * (g2 - g1 ** 2) ** 2, levels=np.logspace(-1, 3, 15))
plt.plot(gd[:, 0], gd[:, 1], label="GD lr=1e-3")
plt.plot(adam[:, 0], adam[:, 1], label="Adam lr=0.02")
plt.plot([1], [1], "k*", ms=12, label="minimum")
plt.legend()
plt.show()
print(f"after {len(gd) - 1} steps: GD f = {rosen(cr.tensor(gd[-1])).item():.3g}, Adam f = "
      f"{rosen(cr.tensor(adam[-1])).item():.3g}; Newton-CG f = {res.fun:.2g} in {res.nit} its")
assert res.fun < rosen(cr.tensor(gd[-1])).item()

# %% [markdown]
# ## Saddles
# At a saddle the gradient vanishes but the Hessian has a negative eigenvalue: a descent
# direction exists. `critical_point` classifies with the Hessian's eigenvalues.

# %%
saddle = lambda v: v[0] ** 2 - v[1] ** 2
cp = cr.inspect.critical_point(saddle, cr.tensor([0.0, 0.0]))
cp

# %%
assert cp.kind == "saddle" and cp.index == 1 and np.allclose(sorted(cp.eigenvalues), [-2, 2])
path = descend(saddle, [1.0, 1e-6], 0.1, 60)
print("GD started 1e-6 off the ridge escapes: y =", path[-1, 1])
assert abs(path[-1, 1]) > 1e-2  # the negative curvature grows the tiny offset 1.2x per step
