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
# # 07 · Convolutional networks
#
# A convolution slides one small kernel over the image: the same weights at every position
# (translation equivariance) and far fewer parameters than a dense layer. We check a convolution
# by hand, look at what an edge kernel does, then train a small CNN on 8x8 digits.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
cr.manual_seed(0)

# %% [markdown]
# ## A convolution by hand
# Output pixel $(i, j)$ is $\sum_{a,b} K_{ab}\, X_{i+a, j+b}$ (deep learning's "convolution" is a
# cross-correlation: the kernel is not flipped).

# %%
Xi = cr.arange(16.0).reshape(1, 1, 4, 4)
K = cr.tensor([[[[1.0, 0.0], [0.0, -1.0]]]])
out = F.conv2d(Xi, K)
manual = np.array([[Xi.numpy()[0, 0, i, j] - Xi.numpy()[0, 0, i + 1, j + 1] for j in range(3)]
                   for i in range(3)])
print(out.numpy()[0, 0])
assert np.array_equal(out.numpy()[0, 0], manual) and (manual == -5).all()

# %% [markdown]
# ## Edges and shifts
# A Sobel kernel responds to vertical edges; shifting the input shifts the output (equivariance).

# %%
X, y = cr.data.load_digits()
img = cr.tensor((X[0].reshape(1, 1, 8, 8) / 16).astype(np.float32))
sobel = cr.tensor(np.array([[[[1, 0, -1], [2, 0, -2], [1, 0, -1]]]], dtype=np.float32))
edges = F.conv2d(img, sobel, padding=1)
shifted = F.conv2d(cr.roll(img, 1, dims=3), sobel, padding=1)
assert np.allclose(shifted.numpy()[..., 2:-1], cr.roll(edges, 1, dims=3).numpy()[..., 2:-1])
fig, axes = plt.subplots(1, 2, figsize=(5, 2.5))
axes[0].imshow(img.numpy()[0, 0], cmap="gray")
axes[0].set_title("digit")
axes[1].imshow(edges.numpy()[0, 0], cmap="RdBu")
axes[1].set_title("Sobel response")
plt.show()

# %% [markdown]
# ## A small CNN on digits
# conv(1→8, 3x3) → ReLU → max-pool 2 → conv(8→16, 3x3) → ReLU → flatten → linear(10).
# It has fewer weights than a one-hidden-layer MLP of width 64 on the same inputs.

# %%
n = 600 if QUICK else len(X)
Xs = (X[:n] / 16).astype(np.float32).reshape(-1, 1, 8, 8)
ys = y[:n]
X_tr, X_te, y_tr, y_te = cr.data.train_test_split(Xs, ys, test_size=0.25, stratify=ys, seed=0)
cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Flatten(),
                    nn.Linear(16 * 4 * 4, 10))
mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
count = lambda m: sum(p.numel() for p in m.parameters())
print("parameters: CNN", count(cnn), " MLP", count(mlp))
h = cr.train.fit(cnn, F.cross_entropy, cr.optim.Adam(cnn.parameters(), lr=0.01), (X_tr, y_tr),
                 epochs=6 if QUICK else 15, batch_size=32, val_data=(X_te, y_te),
                 metrics=["accuracy"], seed=0, progress=False)
h

# %%
print(f"CNN test accuracy {h['val_accuracy'][-1]:.3f}")
assert h["val_accuracy"][-1] > 0.85

# %%
W = cnn[0].weight.detach().numpy()
fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
for k, ax in enumerate(axes):
    ax.imshow(W[k, 0], cmap="RdBu")
    ax.axis("off")
fig.suptitle("the eight learned 3x3 kernels of the first layer")
plt.show()
