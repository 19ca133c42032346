"""Seed 004: PCA is the eigenvectors of the covariance matrix, on the 8x8 digits.

1. The eigen-decomposition of S = X_c^T X_c / (n - 1) ('eig') and the SVD of X_c ('svd') give
   the same components; each eigenvalue is the variance of the data along its eigenvector.
2. Explained variance: how many of the 64 directions carry 90% / 95% of the variance.
3. The 2-D projection of the digits on the first two components, coloured by label.
4. Reconstructions of one digit from k components.

Plots go to runs/examples/. CHAINRULE_QUICK=1 makes it a few-second smoke test.
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
OUT = Path("runs/examples")
OUT.mkdir(parents=True, exist_ok=True)

digits = load_digits()
X, labels = digits.data, digits.target
if QUICK:
    X, labels = X[:600], labels[:600]
n, p = X.shape

# ---- 1. eig vs svd -------------------------------------------------------------------------
eig = cr.decomposition.PCA(solver="eig").fit(X)
svd = cr.decomposition.PCA(solver="svd").fit(X)
k = 10
diff = np.max(np.abs(eig.components_[:k] - svd.components_[:k]))
print(f"digits: {n} images of {p} pixels")
print(f"eigenvectors of the covariance vs right singular vectors of X_c, first {k}: "
      f"max |difference| = {diff:.1e}")
S = np.cov(X, rowvar=False)
v = svd.components_[0]
print(f"v1^T S v1 = {v @ S @ v:.4f} = explained_variance_[0] = {svd.explained_variance_[0]:.4f}")

# ---- 2. explained variance -----------------------------------------------------------------
ratio = svd.explained_variance_ratio_
cumulative = np.cumsum(ratio)
need = {q: int(np.searchsorted(cumulative, q) + 1) for q in (0.5, 0.9, 0.95, 0.99)}
for q, m in need.items():
    print(f"  {m:>2d} of {len(ratio)} components explain {100 * q:.0f}% of the variance")
assert cr.decomposition.PCA(0.9).fit(X).n_components_ == need[0.9]

fig, ax = plt.subplots(figsize=(7, 4))
ax.bar(np.arange(1, len(ratio) + 1), ratio, color="C0", label="per component")
ax2 = ax.twinx()
ax2.plot(np.arange(1, len(ratio) + 1), cumulative, "C1-", lw=2, label="cumulative")
for q in (0.9, 0.95):
    ax2.axhline(q, color="C1", ls=":", lw=1)
    ax2.plot([need[q]], [cumulative[need[q] - 1]], "o", color="C1")
    ax2.text(len(ratio), q - (0.05 if q < 0.95 else -0.015), f"{100 * q:.0f}%: {need[q]} "
             "components", color="C1", fontsize=8, ha="right")
ax.set(xlabel="component", ylabel="explained variance ratio",
       title="PCA on digits: explained variance")
ax2.set(ylabel="cumulative", ylim=(0, 1.02))
fig.tight_layout()
fig.savefig(OUT / "08_explained_variance.png", dpi=110)
plt.close(fig)

# ---- 3. 2-D projection ---------------------------------------------------------------------
Z = cr.decomposition.PCA(n_components=2).fit_transform(X)
fig, ax = plt.subplots(figsize=(6.5, 5.5))
scatter = ax.scatter(Z[:, 0], Z[:, 1], c=labels, cmap="tab10", s=8, alpha=0.8)
for d in range(10):
    cx, cy = np.median(Z[labels == d], axis=0)
    ax.text(cx, cy, str(d), fontsize=14, weight="bold", ha="center", va="center",
            bbox={"facecolor": "white", "alpha": 0.7, "lw": 0})
ax.set(xlabel=f"PC 1 ({100 * ratio[0]:.1f}% of variance)",
       ylabel=f"PC 2 ({100 * ratio[1]:.1f}%)", title="Digits projected on two components")
fig.colorbar(scatter, ax=ax, ticks=range(10))
fig.tight_layout()
fig.savefig(OUT / "08_digits_2d.png", dpi=110)
plt.close(fig)
print(f"2-D projection keeps {100 * cumulative[1]:.1f}% of the variance")

# ---- 4. reconstructions ----------------------------------------------------------------------
ks = (1, 2, 5, 10, 20, 40)
fig, axes = plt.subplots(1, len(ks) + 1, figsize=(1.6 * (len(ks) + 1), 2))
axes[0].imshow(X[0].reshape(8, 8), cmap="gray_r")
axes[0].set_title("original", fontsize=9)
for ax, m in zip(axes[1:], ks):
    model = cr.decomposition.PCA(m).fit(X)
    approx = model.inverse_transform(model.transform(X[:1]))[0]
    ax.imshow(approx.reshape(8, 8), cmap="gray_r")
    ax.set_title(f"k = {m}", fontsize=9)
    err = np.sum((X[0] - approx) ** 2)
    print(f"  k = {m:>2d}: squared reconstruction error of digit 0 = {err:8.1f}")
for ax in axes:
    ax.axis("off")
fig.tight_layout()
fig.savefig(OUT / "08_reconstructions.png", dpi=110)
plt.close(fig)
print(f"plots: {OUT / '08_explained_variance.png'}, {OUT / '08_digits_2d.png'}, "
      f"{OUT / '08_reconstructions.png'}")
