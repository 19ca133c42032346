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
# # 01 · Functions and the chain rule
#
# A network is a composition of small functions. To improve it we need to know how the output
# moves when a weight moves, and the weight usually reaches the output only *through* other
# functions. The chain rule says that sensitivities along a path multiply.
#
# We use seed 002's example: an inner function $z = f(x, w_1) = x w_1 + b_1$ feeds an outer one
# $L = g(z, w_2) = z w_2 + b_2$, with $x = 2$, $b_1 = 1$, $b_2 = 0.5$, $w_1 = 0.5$, $w_2 = 1.5$.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
cr.set_default_dtype(np.float64)

x, b1, b2 = cr.tensor(2.0), cr.tensor(1.0), cr.tensor(0.5)
w1 = cr.tensor(0.5, requires_grad=True)
w2 = cr.tensor(1.5, requires_grad=True)
z = x * w1 + b1
L = z * w2 + b2
print(f"z = {z.item()},  L = {L.item()}")
assert (z.item(), L.item()) == (2.0, 3.5)

# %% [markdown]
# By hand: $\partial L/\partial z = w_2 = 1.5$ and $\partial z/\partial w_1 = x = 2$, so
# $\partial L/\partial w_1 = 1.5 \times 2 = 3$; $w_2$ touches $L$ directly, $\partial L/\partial
# w_2 = z = 2$. `cr.inspect.explain` reads the same derivation off the recorded graph, with the
# numbers at every step (in Jupyter it is typeset; `print` shows the text form).

# %%
derivation = cr.inspect.explain(L)
derivation

# %%
L.backward()
print(f"dL/dw1 = {w1.grad.item()},  dL/dw2 = {w2.grad.item()}")
assert (w1.grad.item(), w2.grad.item()) == (3.0, 2.0)

# %% [markdown]
# The graph that autodiff walked backwards: tensors are boxes, operations ellipses; each box
# carries its value and its gradient.

# %%
w1 = cr.tensor(0.5, requires_grad=True)
w2 = cr.tensor(1.5, requires_grad=True)
z = x * w1 + b1
L = z * w2 + b2
cr.inspect.to_dot(L)

# %% [markdown]
# ## Using the gradient
# The target is $L = 5$. Both gradients are positive, so raising both weights raises $L$. The
# seed takes one step *uphill* on $L$ with step size $\alpha = 0.2$:
# $w \leftarrow w + \alpha\,\partial L/\partial w$, which gives $w_1 = 1.1$, $w_2 = 1.9$.

# %%
step = cr.inspect.explain_step(L, lr=0.2, maximize=True)
print(step.splitlines()[-1])
new_w1, new_w2 = 0.5 + 0.2 * 3.0, 1.5 + 0.2 * 2.0
L_new = (x * new_w1 + b1) * new_w2 + b2
print(f"w1 = {new_w1:.2f}, w2 = {new_w2:.2f}, L = {L_new.item():.3f}")
assert np.isclose(new_w1, 1.1) and np.isclose(new_w2, 1.9)
assert np.isclose(L_new.item(), 6.58)  # overshoots the target 5: the step was too large

# %% [markdown]
# The first-order prediction was $3.5 + 0.2\,(3^2 + 2^2) = 6.1$; the true value is 6.58
# because $L$ is not linear in $(w_1, w_2)$ jointly (the term $x w_1 w_2$ is a product). A smaller
# step lands closer to the prediction: the linear model is a *local* statement.

# %%
alphas = np.linspace(0.0, 0.25, 6 if QUICK else 26)
actual = [((x * (0.5 + a * 3) + b1) * (1.5 + a * 2) + b2).item() for a in alphas]
linear = 3.5 + alphas * (3.0 ** 2 + 2.0 ** 2)
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(alphas, actual, "o-", label="L after the step")
ax.plot(alphas, linear, "--", label="first-order prediction")
ax.axhline(5.0, color="gray", lw=0.8, label="target")
ax.set_xlabel("step size α")
ax.set_ylabel("L")
ax.legend()
plt.show()
gap = np.array(actual) - linear
assert np.allclose(gap, 6 * alphas ** 2 * 2.0)  # the exact remainder: x·Δw1·Δw2 = 2·3α·2α
