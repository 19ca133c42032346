"""Seed 000's linear algebra, computed with cr.linalg (differentiable, torch.linalg's names).

1. Eigenvalues of a weight matrix decide whether a signal (and its gradient) explodes or vanishes
   through repeated layers: ||W^L x|| follows rho(W)^L.
2. The SVD of a 2-D map is rotation-scale-rotation: the unit circle goes to an ellipse whose
   semi-axes are the singular values.
3. The condition number of X^T X (= cond(X)^2) bounds how far the normal-equation solution moves
   when the data move a tiny bit.
4. The gradient of the least-squares solution with respect to the data, through
   cr.linalg.solve, checked against finite differences.

Plots go to runs/examples/. CHAINRULE_QUICK=1 makes it a few-second smoke test.
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
OUT = Path("runs/examples")
OUT.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
L = cr.linalg

# ---- 1. eigenvalues vs exploding / vanishing signals ---------------------------------------
n, layers = 16, 30 if QUICK else 60
Q = L.qr(cr.tensor(rng.standard_normal((n, n)))).Q  # a random orthogonal basis
x0 = cr.tensor(rng.standard_normal(n))
fig, ax = plt.subplots(figsize=(7, 4.5))
print(f"1. a symmetric W = Q diag(lambda) Q^T ({n} x {n}), x_(k+1) = W x_k, {layers} layers")
for rho in (0.9, 1.0, 1.1):
    lam = np.linspace(0.3, 1.0, n) * rho * np.where(np.arange(n) % 2, 1, -1)
    W = Q @ cr.tensor(np.diag(lam)) @ Q.mT
    spectral = L.eigvalsh(W).abs().max().item()  # the eigenvalues, computed back from W
    x = x0.clone().requires_grad_()
    h, norms = x, [x.norm().item()]
    for _ in range(layers):
        h = W @ h
        norms.append(h.norm().item())
    grad = cr.autograd.grad(h.sum(), x)[0]  # backprop multiplies by W^T = W each layer
    ratio = norms[-1] / norms[0]
    per_layer = (norms[-1] / norms[-11]) ** 0.1
    print(f"   max |eigenvalue| = {spectral:.3f}: ||x_{layers}|| / ||x_0|| = {ratio:.3e} "
          f"<= rho^{layers} = {spectral ** layers:.3e}; growth per layer over the last 10: "
          f"{per_layer:.3f}; ||d sum(x_{layers}) / dx_0|| = {grad.norm().item():.3e}")
    ax.semilogy(norms, label=f"max |eigenvalue| = {spectral:.1f}")
    ax.semilogy(norms[0] * spectral ** np.arange(layers + 1), ":", color=ax.lines[-1].get_color())
ax.set(xlabel="layer k", ylabel="||x_k|| (log scale)",
       title="Signal norm through repeated layers (dotted: rho^k)")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "16_eigenvalues_growth.png", dpi=110)
plt.close(fig)

# ---- 2. SVD: rotation, scale, rotation ------------------------------------------------------
M = cr.tensor([[2.0, 1.0], [0.5, 1.5]], dtype=cr.float64)
U, S, Vh = L.svd(M)
theta = np.linspace(0, 2 * np.pi, 200)
circle = cr.tensor(np.stack([np.cos(theta), np.sin(theta)]))
steps = [("unit circle", circle), ("Vh: rotate", Vh @ circle),
         ("S Vh: scale", S.unsqueeze(-1) * (Vh @ circle)),
         ("U S Vh = M: rotate", U @ (S.unsqueeze(-1) * (Vh @ circle)))]
image = M @ circle
radii = (image * image).sum(0).sqrt().numpy()
err = (steps[-1][1] - image).abs().max().item()
angle_v = np.degrees(np.arctan2(Vh[0, 1].item(), Vh[0, 0].item()))
angle_u = np.degrees(np.arctan2(U[1, 0].item(), U[0, 0].item()))
print(f"2. M = [[2, 1], [0.5, 1.5]]: singular values {S[0].item():.4f}, {S[1].item():.4f}; "
      f"rotations by {angle_v:.1f} and {angle_u:.1f} degrees")
print(f"   the image of the unit circle: longest radius {radii.max():.4f}, shortest "
      f"{radii.min():.4f}; max |U S Vh x - M x| = {err:.1e}")
fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
for ax, (title, pts) in zip(axes, steps):
    p = pts.numpy()
    ax.plot(p[0], p[1], "C0-")
    ax.plot(p[0, :1], p[1, :1], "C3o", label="the point (1, 0)")
    ax.set(title=title, xlabel="x1", ylabel="x2", xlim=(-2.6, 2.6), ylim=(-2.6, 2.6),
           aspect="equal")
axes[0].legend(fontsize=7, loc="lower left")
fig.suptitle(f"SVD of a 2-D map: semi-axes = singular values {S[0].item():.2f}, "
             f"{S[1].item():.2f}")
fig.tight_layout()
fig.savefig(OUT / "16_svd_circle.png", dpi=110)
plt.close(fig)

# ---- 3. the condition number of X^T X --------------------------------------------------------
m = 50
t = rng.uniform(-1, 1, m)
results = {}
print("3. normal equations w = solve(X^T X, b), b = X^T y, and perturbations of relative size 1e-8")
for name, second in (("well-conditioned", rng.uniform(-1, 1, m)),
                     ("nearly collinear", t + 1e-3 * rng.standard_normal(m))):
    X = cr.tensor(np.stack([np.ones(m), t, second], 1))
    y = X @ cr.tensor([1.0, 2.0, -1.0]) + cr.tensor(0.1 * rng.standard_normal(m))
    XtX = X.mT @ X
    kappa = L.cond(XtX).item()
    b = X.mT @ y
    w = L.solve(XtX, b)
    dy = cr.tensor(rng.standard_normal(m))
    dy = dy * (1e-8 * y.norm() / dy.norm())
    random = ((L.solve(XtX, X.mT @ (y + dy)) - w).norm() / w.norm()).item() \
        / ((X.mT @ dy).norm() / b.norm()).item()
    # the worst direction for b: the eigenvector of the smallest eigenvalue of X^T X
    v = L.eigh(XtX).eigenvectors[:, 0]
    db = v * (1e-8 * b.norm())
    worst = ((L.solve(XtX, b + db) - w).norm() / w.norm()).item() / 1e-8
    results[name] = (kappa, random, worst)
    print(f"   {name}: cond(X) = {L.cond(X).item():.3e}, cond(X^T X) = {kappa:.3e} "
          f"(= cond(X)^2); relative change of w / relative change of b: {random:.3e} (y moved "
          f"at random), {worst:.3e} (b moved along the smallest eigenvector), both <= "
          f"cond(X^T X)")
fig, ax = plt.subplots(figsize=(6, 4))
names = list(results)
ax.bar(np.arange(2) - 0.27, [results[k][0] for k in names], 0.27, label="cond(X^T X)")
ax.bar(np.arange(2), [results[k][2] for k in names], 0.27,
       label="amplification, b along the smallest eigenvector")
ax.bar(np.arange(2) + 0.27, [results[k][1] for k in names], 0.27,
       label="amplification, y moved at random")
ax.set_yscale("log")
ax.set_xticks(range(2), names)
ax.set(ylabel="factor (log scale)", title="Normal equations: conditioning bounds the damage")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "16_condition_number.png", dpi=110)
plt.close(fig)

# ---- 4. d(least-squares solution) / d(data), through solve -------------------------------------
X0 = rng.standard_normal((8, 3))
y0 = cr.tensor(rng.standard_normal(8))
c = cr.tensor([1.0, -2.0, 0.5])


def objective(X):
    return (L.solve(X.mT @ X, X.mT @ y0) * c).sum()  # c . w(X), w the least-squares solution


X = cr.tensor(X0, requires_grad=True)
(g,) = cr.autograd.grad(objective(X), X)
eps = 1e-6
fd = np.zeros_like(X0)
for i in range(X0.shape[0]):
    for j in range(X0.shape[1]):
        plus, minus = X0.copy(), X0.copy()
        plus[i, j] += eps
        minus[i, j] -= eps
        fd[i, j] = (objective(cr.tensor(plus)).item() - objective(cr.tensor(minus)).item()) \
            / (2 * eps)
diff = np.abs(g.numpy() - fd).max()
print(f"4. d(c . w)/dX through cr.linalg.solve vs central differences: max |difference| = "
      f"{diff:.1e} (of gradients up to {np.abs(fd).max():.2f})")
print(f"   the same against lstsq: max |w_solve - w_lstsq| = "
      f"{(L.solve(X.mT @ X, X.mT @ y0) - L.lstsq(X, y0).solution).abs().max().item():.1e}")
print(f"wrote {OUT}/16_eigenvalues_growth.png, 16_svd_circle.png, 16_condition_number.png")
