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
# # 03 · Calculus: gradients, Jacobians, Hessians, Taylor
#
# Training needs first derivatives; understanding training (step sizes, curvature, saddles) needs
# second derivatives. chainrule computes any order, because every op's derivative is written with
# differentiable ops.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
cr.set_default_dtype(np.float64)

# %% [markdown]
# ## The derivative as a slope (the seed's $f(x) = x^2$)
# $f'(x) = 2x$: at 3 it is 6 ("move right by 0.01 and f grows by about 0.06"), at 0 it is 0 (the
# minimum), at $-2$ it is $-4$.

# %%
f = lambda x: x ** 2
df = cr.grad(f)
for x0, want in ((3.0, 6.0), (0.0, 0.0), (-2.0, -4.0)):
    got = df(cr.tensor(x0)).item()
    print(f"f'({x0}) = {got}")
    assert got == want
print("f(3.01) - f(3) =", f(3.01) - f(3.0))
assert abs((f(3.01) - f(3.0)) - 0.06) < 1e-3

# %% [markdown]
# ## Finite differences agree with autodiff
# The central difference $(f(x+h) - f(x-h))/2h$ has error $O(h^2)$ until round-off, $O(\epsilon/h)$,
# takes over; autodiff has neither.

# %%
g = lambda x: cr.sin(x) * cr.exp(-x / 3)
x0 = cr.tensor(1.2)
exact = cr.grad(g)(x0).item()
hs = np.logspace(-12, -1, 12 if QUICK else 45)
err = [abs((g(cr.tensor(1.2 + h)).item() - g(cr.tensor(1.2 - h)).item()) / (2 * h) - exact)
       for h in hs]
fig, ax = plt.subplots(figsize=(5, 3))
ax.loglog(hs, np.maximum(err, 1e-17), "o-")
ax.set_xlabel("h")
ax.set_ylabel("|central difference - autodiff|")
plt.show()
assert min(err) < 1e-9

# %% [markdown]
# ## Jacobian and Hessian
# For $F(x) = (x_0 x_1, \sin x_0)$ the Jacobian is $\begin{bmatrix} x_1 & x_0 \\ \cos x_0 & 0
# \end{bmatrix}$. For a scalar $f$ the Hessian is the Jacobian of the gradient.

# %%
F = lambda x: cr.stack([x[0] * x[1], cr.sin(x[0])])
x = cr.tensor([0.5, 2.0])
J = cr.jacobian(F)(x)
print(J.numpy())
assert np.allclose(J.numpy(), [[2.0, 0.5], [np.cos(0.5), 0.0]])
rosen = lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2
H = cr.hessian(rosen)(cr.tensor([1.0, 1.0]))
print(H.numpy())
assert np.allclose(H.numpy(), [[802.0, -400.0], [-400.0, 200.0]])

# %% [markdown]
# ## Taylor models
# Near $x_0$, $f(x) \approx f(x_0) + g^\top \Delta + \tfrac12 \Delta^\top H \Delta$. The error of
# the first-order model shrinks like $\|\Delta\|^2$, of the second-order like $\|\Delta\|^3$.

# %%
x0 = cr.tensor([0.3, 0.2])
t1, t2 = cr.optimize.taylor(rosen, x0, order=1), cr.optimize.taylor(rosen, x0, order=2)
direction = cr.tensor([0.6, 0.8])
ts = np.logspace(-3, -1, 5 if QUICK else 20)
e1 = [abs(rosen(x0 + t * direction).item() - t1(x0 + t * direction).item()) for t in ts]
e2 = [abs(rosen(x0 + t * direction).item() - t2(x0 + t * direction).item()) for t in ts]
slope1 = np.polyfit(np.log(ts), np.log(e1), 1)[0]
slope2 = np.polyfit(np.log(ts), np.log(e2), 1)[0]
print(f"error slopes on log-log axes: first order {slope1:.2f}, second order {slope2:.2f}")
assert abs(slope1 - 2) < 0.15 and abs(slope2 - 3) < 0.15
fig, ax = plt.subplots(figsize=(5, 3))
ax.loglog(ts, e1, "o-", label="1st-order error")
ax.loglog(ts, e2, "s-", label="2nd-order error")
ax.set_xlabel("step length t")
ax.legend()
plt.show()
