"""Seed 000: ridge shrinks every coefficient, lasso sets some exactly to zero.

1. Coefficient paths on load_diabetes (standardised): ridge's coefficients glide toward 0 as
   alpha grows but never reach it; lasso's hit 0 one by one (lasso_path, coordinate descent).
2. Sparse ground truth, 5 of 50 features relevant: lasso recovers exactly those 5, ridge keeps
   all 50 non-zero.
3. Why the normal equation needs help: two identical columns make X^T X singular; the 'normal'
   solver warns with the condition number, while QR, SVD and ridge (X^T X + alpha I) are fine.

Plots go to runs/examples/. CHAINRULE_QUICK=1 makes it a few-second smoke test.
"""

import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
OUT = Path("runs/examples")
OUT.mkdir(parents=True, exist_ok=True)
N_ALPHAS = 25 if QUICK else 100

# ---- 1. coefficient paths on diabetes -------------------------------------------------------
data = load_diabetes()
X = (data.data - data.data.mean(0)) / data.data.std(0)
y = data.target - data.target.mean()
n = len(y)

ridge_alphas = np.geomspace(1e-2, 1e5, N_ALPHAS)
ridge_coefs = np.array([cr.linear.Ridge(alpha=a).fit(X, y).coef_ for a in ridge_alphas])
lasso_alphas, lasso_coefs, _ = cr.linear.lasso_path(X, y, alphas=N_ALPHAS, eps=1e-3)

print("Ridge minimises ||y - Xw||^2 + alpha ||w||^2; lasso (1/2n)||y - Xw||^2 + alpha ||w||_1")
print(f"{'':>24}{'alpha':>10}{'zero coefs':>12}{'|w|_2':>10}")
for k in (0, N_ALPHAS // 2, N_ALPHAS - 1):
    r, a = ridge_coefs[k], ridge_alphas[k]
    print(f"{'ridge':>24}{a:>10.3g}{np.sum(r == 0):>12d}{np.linalg.norm(r):>10.2f}")
for k in (N_ALPHAS - 1, N_ALPHAS // 2, 0):
    c, a = lasso_coefs[:, k], lasso_alphas[k]
    print(f"{'lasso':>24}{a:>10.3g}{np.sum(c == 0):>12d}{np.linalg.norm(c):>10.2f}")
entry = {data.feature_names[j]: lasso_alphas[np.flatnonzero(lasso_coefs[j])[0]]
         for j in range(X.shape[1]) if np.any(lasso_coefs[j])}
first = sorted(entry, key=entry.get, reverse=True)
print("lasso: features enter the model in the order", ", ".join(first))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for j, name in enumerate(data.feature_names):
    axes[0].plot(ridge_alphas, ridge_coefs[:, j], label=name)
    axes[1].plot(lasso_alphas, lasso_coefs[j], label=name)
axes[0].set(xscale="log", xlabel="alpha", ylabel="coefficient",
            title="Ridge: shrinks toward 0, never reaches it")
axes[1].set(xscale="log", xlabel="alpha", title="Lasso: coefficients hit exactly 0")
for ax in axes:
    ax.axhline(0, color="k", lw=0.5)
    ax.invert_xaxis()  # strong penalty on the left, weak on the right
axes[1].legend(fontsize=7, ncol=2)
fig.tight_layout()
fig.savefig(OUT / "07_coefficient_paths.png", dpi=110)
plt.close(fig)

# ---- 2. sparse ground truth: 5 of 50 --------------------------------------------------------
rng = np.random.default_rng(0)
Xs = rng.normal(size=(100, 50))
w_true = np.zeros(50)
support = np.array([3, 11, 24, 37, 45])
w_true[support] = [3.0, -2.0, 1.5, 2.5, -1.0]
ys = Xs @ w_true + 0.5 + 0.1 * rng.normal(size=100)
lasso = cr.linear.Lasso(alpha=0.1).fit(Xs, ys)
ridge = cr.linear.Ridge(alpha=10.0).fit(Xs, ys)
print("\nSparse truth, 5 of 50 features relevant:")
print(f"  true support            {support.tolist()}")
print(f"  lasso (alpha=0.1)       non-zero at {np.flatnonzero(lasso.coef_).tolist()}")
print(f"  ridge (alpha=10)        {np.count_nonzero(ridge.coef_)} non-zero; smallest |w_j| = "
      f"{np.min(np.abs(ridge.coef_)):.2e}")

fig, ax = plt.subplots(figsize=(10, 3.6))
idx = np.arange(50)
ax.stem(idx - 0.2, w_true, linefmt="k-", markerfmt="ko", basefmt=" ", label="truth")
ax.stem(idx, lasso.coef_, linefmt="C1-", markerfmt="C1o", basefmt=" ", label="lasso")
ax.stem(idx + 0.2, ridge.coef_, linefmt="C0-", markerfmt="C0.", basefmt=" ", label="ridge")
ax.axhline(0, color="k", lw=0.5)
ax.set(xlabel="feature", ylabel="coefficient",
       title="5 of 50 features matter: lasso finds them, ridge keeps all 50")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "07_sparse_truth.png", dpi=110)
plt.close(fig)

# ---- 3. identical columns ------------------------------------------------------------------
Xd = np.column_stack([X[:, 2], X[:, 2], X[:, 3]])
print("\nTwo identical columns (bmi, bmi, bp):")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", cr.linear.ConditioningWarning)
    normal = cr.linear.LinearRegression(solver="normal").fit(Xd, y)
print(f"  normal  warns: {str(caught[0].message)[:120]}...")
for solver in ("qr", "svd"):
    coef = cr.linear.LinearRegression(solver=solver).fit(Xd, y).coef_
    print(f"  {solver:<7} w = {np.round(coef, 4).tolist()}  (minimum norm: bmi's weight split "
          "in two)")
print(f"  ridge   w = {np.round(cr.linear.Ridge(alpha=1.0).fit(Xd, y).coef_, 4).tolist()}")
print(f"\nplots: {OUT / '07_coefficient_paths.png'}, {OUT / '07_sparse_truth.png'}")
