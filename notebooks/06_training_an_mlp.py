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
# # 06 · Training an MLP, and debugging it with `diagnose`
#
# We train a small multilayer perceptron on the two-moons data, watch the loss with a live plot,
# and then break the same network in two classic ways (a sigmoid stack too deep for its
# gradient, a learning rate far too high) and let `cr.inspect.diagnose` tell us what went wrong.

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
warnings.simplefilter("ignore", RuntimeWarning)  # the broken runs overflow on purpose
cr.manual_seed(0)
X, y = cr.data.make_moons(400, noise=0.15, seed=0)
X_tr, X_te, y_tr, y_te = cr.data.train_test_split(X, y, test_size=0.25, seed=0)

# %% [markdown]
# ## A healthy run
# `LivePlot` redraws after every epoch in a notebook; the returned `History` displays itself as
# a plot too.

# %%
model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
opt = cr.optim.Adam(model.parameters(), lr=0.02)
history = cr.train.fit(model, F.cross_entropy, opt, (X_tr, y_tr), epochs=15 if QUICK else 60,
                       batch_size=32, val_data=(X_te, y_te), metrics=["accuracy"], seed=0,
                       progress=False, callbacks=[cr.train.LivePlot()])
history

# %%
acc = history["val_accuracy"][-1]
print(f"validation accuracy {acc:.3f}, final loss {history['loss'][-1]:.3f}")
assert acc > 0.9 and history["loss"][-1] < history["loss"][0] / 3

# %%
g1, g2 = np.meshgrid(np.linspace(-2, 3, 150), np.linspace(-1.5, 2, 150))
grid = cr.tensor(np.c_[g1.ravel(), g2.ravel()].astype(X.dtype))
pred = np.asarray(cr.train.predict(model, grid)).argmax(1).reshape(g1.shape)
plt.figure(figsize=(5, 3.5))
plt.contourf(g1, g2, pred, alpha=0.3, cmap="coolwarm")
plt.scatter(*X_te.T, c=y_te, s=10, cmap="coolwarm")
plt.title("decision boundary on held-out points")
plt.show()

# %% [markdown]
# A trained network gets a clean bill of health (or only notes of type *info*):

# %%
healthy = cr.inspect.diagnose(model, F.cross_entropy, (X_tr, y_tr))
healthy

# %%
assert not healthy.by_severity("error")

# %% [markdown]
# ## Failure 1: a deep sigmoid stack
# $\sigma'(z) \le 1/4$, so twenty sigmoid layers shrink the gradient by up to $4^{-20}$ on its way
# back to the first layer: the first layers do not learn.

# %%
def mlp(widths, activation):
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


cr.manual_seed(0)
deep = mlp([2] + [32] * 19 + [2], nn.Sigmoid)
d1 = cr.inspect.diagnose(deep, F.cross_entropy, (X_tr, y_tr))
d1

# %%
F.cross_entropy(deep(cr.tensor(X_tr)), cr.tensor(y_tr)).backward()
norms = [f.grad_norm for f in cr.inspect.gradient_flow(deep) if f.name.endswith("weight")]
print(f"||dL/dW|| first layer {norms[0]:.2e}, last layer {norms[-1]:.2e}")
assert "vanishing_gradients" in d1.codes and norms[0] < 1e-4 * norms[-1]

# %% [markdown]
# ## Failure 2: a learning rate far too high
# `diagnose` takes a few steps on copies of the model and optimizer and measures how far each
# step moves the weights relative to their size.

# %%
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
d2 = cr.inspect.diagnose(model, F.cross_entropy, (X_tr, y_tr),
                         optimizer=cr.optim.SGD(model.parameters(), lr=50.0))
d2

# %%
assert "learning_rate_too_high" in d2.codes and d2.findings[0].severity == "error"
