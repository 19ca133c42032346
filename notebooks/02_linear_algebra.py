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
# # 02 · Linear algebra: what a weight matrix does to space
#
# A layer computes $Wx + b$. Everything we want to know about how it treats its input (which
# directions it stretches, which it crushes, how much it amplifies errors) is in $W$'s eigen- and
# singular-value decompositions.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
cr.set_default_dtype(np.float64)
cr.manual_seed(0)

# %% [markdown]
# ## Vectors, dot products (the seed's numbers)
# $\|[3, 4]\| = 5$, and a prediction is a dot product: with features $[5.9, 160, 25]$ and weights
# $[0.5, 0.3, 0.2]$ it is $2.95 + 48 + 5 = 55.95$.

# %%
v = cr.tensor([3.0, 4.0])
features, weights = cr.tensor([5.9, 160.0, 25.0]), cr.tensor([0.5, 0.3, 0.2])
print(cr.linalg.norm(v).item(), (features @ weights).item())
assert cr.linalg.norm(v).item() == 5.0
assert np.isclose((features @ weights).item(), 55.95)

# %% [markdown]
# ## Eigenvectors: directions that are only scaled
# For a symmetric $A$, $A = Q \Lambda Q^\top$: $A$ stretches its eigenvector $q_i$ by $\lambda_i$
# and does not rotate it. Repeated application $A^k x$ lines $x$ up with the top eigenvector and
# grows like $\lambda_{max}^k$: the picture behind exploding and vanishing gradients through many
# identical layers.

# %%
A = cr.tensor([[2.0, 1.0], [1.0, 2.0]])
lam, Q = cr.linalg.eigh(A)
print("eigenvalues", lam.numpy(), "\neigenvectors\n", Q.numpy())
assert np.allclose(lam.numpy(), [1.0, 3.0])
assert np.allclose((A @ Q).numpy(), (Q * lam).numpy())  # A q_i = lambda_i q_i

theta = np.linspace(0, 2 * np.pi, 100)
circle = cr.tensor(np.stack([np.cos(theta), np.sin(theta)]))
image = A @ circle
fig, ax = plt.subplots(figsize=(4, 4))
ax.plot(*circle.numpy(), label="unit circle")
ax.plot(*image.numpy(), label="A · circle")
for k in range(2):
    q = Q.numpy()[:, k] * lam.numpy()[k]
    ax.annotate("", q, (0, 0), arrowprops=dict(arrowstyle="->", color="C3"))
ax.set_aspect("equal")
ax.legend(loc="lower right")
ax.set_title("A maps the circle to an ellipse along its eigenvectors")
plt.show()

# %% [markdown]
# ## SVD and the best low-rank approximation
# Any matrix is $U \Sigma V^\top$. Keeping the top $r$ singular values gives the closest rank-$r$
# matrix (Eckart-Young), with Frobenius error $\sqrt{\sum_{i>r} s_i^2}$.

# %%
M = cr.randn(30, 20) @ cr.diag(cr.tensor(0.7 ** np.arange(20))) @ cr.randn(20, 20)
U, S, Vh = cr.linalg.svd(M, full_matrices=False)
errors = []
for r in range(1, 21):
    Mr = U[:, :r] @ cr.diag(S[:r]) @ Vh[:r]
    errors.append(cr.linalg.norm(M - Mr).item())
    assert np.isclose(errors[-1], np.sqrt((S[r:] ** 2).sum().item()), atol=1e-8)
fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(range(1, 21), S.numpy(), "o-", label="singular values $s_i$")
ax.semilogy(range(1, 20), errors[:-1], "s--", label="error of best rank-r")
ax.set_xlabel("i (or rank r)")
ax.legend()
plt.show()

# %% [markdown]
# ## Condition number: how much a solve amplifies errors
# $\kappa(A) = s_{max}/s_{min}$ bounds how much a relative error in $b$ can grow in the solution
# of $Ax = b$. We perturb $b$ and measure.

# %%
def amplification(A, trials=20):
    x = cr.linalg.solve(A, cr.ones(A.shape[0]))
    worst = 0.0
    for _ in range(trials):
        db = 1e-8 * cr.randn(A.shape[0])
        dx = cr.linalg.solve(A, db)
        rel = (cr.linalg.norm(dx) / cr.linalg.norm(x)) / (cr.linalg.norm(db) /
                                                         cr.linalg.norm(cr.ones(A.shape[0])))
        worst = max(worst, rel.item())
    return worst


for eps in (1.0, 1e-2, 1e-4):
    A2 = cr.tensor([[1.0, 1.0], [1.0, 1.0 + eps]])
    kappa = cr.linalg.cond(A2).item()
    amp = amplification(A2)
    print(f"eps={eps:g}: cond = {kappa:.3g}, measured amplification <= {amp:.3g}")
    assert amp <= kappa * (1 + 1e-6)

# %% [markdown]
# ## LoRA: fine-tuning in a low-rank subspace
# LoRA freezes a pretrained $W$ and learns $\Delta W = BA$ with $B \in \mathbb{R}^{m\times r}$,
# $A \in \mathbb{R}^{r \times n}$: $r(m + n)$ numbers instead of $mn$. If the needed change is
# (close to) low rank, gradient descent on $A, B$ finds it, and SVD tells us the best it could do.

# %%
m, n, r = 24, 16, 2
W0 = cr.randn(m, n)
target_delta = cr.randn(m, r) @ cr.randn(r, n) + 0.01 * cr.randn(m, n)
X = cr.randn(200, n)
Y = X @ (W0 + target_delta).T
B = cr.zeros(m, r, requires_grad=True)  # LoRA's init: B = 0, so training starts at W0
A_ = (0.1 * cr.randn(r, n)).requires_grad_()
opt = cr.optim.Adam([A_, B], lr=0.05)
losses = []
for _ in range(150 if QUICK else 600):
    opt.zero_grad()
    loss = ((X @ (W0 + B @ A_).T - Y) ** 2).mean()
    loss.backward()
    opt.step()
    losses.append(loss.item())
s = cr.linalg.svdvals(target_delta)
best = cr.linalg.norm(target_delta - (lambda U, S, Vh: U[:, :r] @ cr.diag(S[:r]) @ Vh[:r])(
    *cr.linalg.svd(target_delta, full_matrices=False))).item()
got = cr.linalg.norm(target_delta - (B @ A_).detach()).item()
print(f"params: full {m * n}, LoRA {r * (m + n)};  ||dW - BA|| = {got:.3f}, "
      f"best rank-{r} = {best:.3f}, ||dW|| = {cr.linalg.norm(target_delta).item():.2f}")
assert got < 0.2 * cr.linalg.norm(target_delta).item()
plt.figure(figsize=(5, 3))
plt.semilogy(losses)
plt.xlabel("step")
plt.ylabel("training loss")
plt.title(f"LoRA rank {r}")
plt.show()
