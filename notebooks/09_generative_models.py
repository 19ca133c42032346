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
# # 09 · Generative models
#
# A generative model learns the data's distribution well enough to produce new samples. We go in
# three steps: an autoencoder (compress and reconstruct) next to PCA, which is its linear special
# case; a variational autoencoder, which makes the code a distribution and can sample; and the
# reason GANs moved from the Jensen-Shannon divergence to the Wasserstein distance.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
cr.set_default_dtype(np.float64)
cr.manual_seed(0)
X_all, y_all = cr.data.load_digits()
n = 500 if QUICK else len(X_all)
X = cr.tensor(X_all[:n].astype(np.float64) / 16.0)
Xc = X - X.mean(0)

# %% [markdown]
# ## A linear autoencoder finds PCA's subspace
# With a linear encoder $z = Ex$, decoder $\hat x = Dz$ and squared error, the best rank-$k$
# reconstruction is the projection onto the top $k$ principal components (Eckart-Young), so
# training should reach PCA's error, and not beat it.

# %%
k = 8
pca = cr.decomposition.PCA(k).fit(Xc.numpy())
pca_err = ((Xc.numpy() - pca.inverse_transform(pca.transform(Xc.numpy()))) ** 2).sum(1).mean()
ae = nn.Sequential(nn.Linear(64, k, bias=False), nn.Linear(k, 64, bias=False))
opt = cr.optim.Adam(ae.parameters(), lr=0.01)
losses = []
for _ in range(400 if QUICK else 1500):
    opt.zero_grad()
    loss = ((ae(Xc) - Xc) ** 2).sum(1).mean()
    loss.backward()
    opt.step()
    losses.append(loss.item())
print(f"PCA error {pca_err:.3f}, linear autoencoder error {losses[-1]:.3f}")
assert pca_err <= losses[-1] * (1 + 1e-6) and losses[-1] < 1.05 * pca_err
plt.figure(figsize=(5, 3))
plt.semilogy(losses, label="linear autoencoder")
plt.axhline(pca_err, color="k", ls="--", label=f"PCA, k = {k}")
plt.xlabel("step")
plt.ylabel("reconstruction error")
plt.legend()
plt.show()

# %% [markdown]
# ## A variational autoencoder
# The encoder outputs a Gaussian $q(z|x) = N(\mu(x), \mathrm{diag}\,\sigma(x)^2)$; the loss is the
# negative ELBO, reconstruction plus $KL(q(z|x)\,\|\,N(0, I))$. Sampling $z = \mu + \sigma\odot
# \epsilon$ with $\epsilon \sim N(0, I)$ (reparameterisation) keeps the path from $\mu, \sigma$ to
# the loss differentiable. Note the shapes: $\epsilon$ has exactly the shape of $\mu$, (batch, k).

# %%
zdim = 2
enc = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 2 * zdim))
dec = nn.Sequential(nn.Linear(zdim, 64), nn.Tanh(), nn.Linear(64, 64))


def vae_loss(x):
    h = enc(x)
    mu, log_var = h[:, :zdim], h[:, zdim:]
    std = cr.exp(0.5 * log_var)
    eps = cr.randn(*mu.shape, dtype=mu.dtype)
    assert eps.shape == mu.shape == (x.shape[0], zdim)
    z = mu + std * eps
    logits = dec(z)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    kl = (0.5 * (mu ** 2 + std ** 2 - 1 - log_var)).sum() / x.shape[0]
    return recon + kl, recon, kl, mu, std


opt = cr.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=3e-3)
history = []
for _ in range(15 if QUICK else 60):
    for idx in cr.randperm(n).split(100):
        opt.zero_grad()
        loss, recon, kl, _, _ = vae_loss(X[idx])
        loss.backward()
        opt.step()
    history.append((loss.item(), recon.item(), kl.item()))
history = np.array(history)
print(f"negative ELBO {history[0, 0]:.1f} -> {history[-1, 0]:.1f} (KL term {history[-1, 2]:.2f})")
assert history[-1, 0] < 0.8 * history[0, 0] and history[-1, 2] > 0

# %% [markdown]
# The KL term above is the closed form $\tfrac12\sum(\mu^2 + \sigma^2 - 1 - \log\sigma^2)$; it
# agrees with the distributions library. KL is not symmetric: $KL(N(0,1)\,\|\,q)$ is a different
# number (it punishes $q$ being narrow where the prior has mass).

# %%
_, _, _, mu, std = vae_loss(X[:5])
q = cr.distributions.Normal(mu.detach(), std.detach())
prior = cr.distributions.Normal(cr.zeros_like(mu), cr.ones_like(mu))
kl_qp = cr.distributions.kl_divergence(q, prior).sum(1)
closed = (0.5 * (mu ** 2 + std ** 2 - 1 - cr.log(std ** 2))).detach().sum(1)
kl_pq = cr.distributions.kl_divergence(prior, q).sum(1)
print("KL(q||p) =", np.round(kl_qp.numpy(), 3), "\nKL(p||q) =", np.round(kl_pq.numpy(), 3))
assert np.allclose(kl_qp.numpy(), closed.numpy())
assert np.allclose(kl_pq.numpy(), (cr.log(std) + (1 + mu ** 2) / (2 * std ** 2) - 0.5)
                   .detach().sum(1).numpy())

# %%
with cr.no_grad():
    mu_all = enc(X)[:, :zdim].numpy()
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 8), np.linspace(-2, 2, 8)), -1).reshape(-1, 2)
    samples = cr.sigmoid(dec(cr.tensor(grid))).numpy()
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
sc = axes[0].scatter(mu_all[:, 0], mu_all[:, 1], c=y_all[:n], cmap="tab10", s=6)
axes[0].set_title("codes mu(x), coloured by digit")
fig.colorbar(sc, ax=axes[0])
mosaic = samples.reshape(8, 8, 8, 8).transpose(0, 2, 1, 3).reshape(64, 64)
axes[1].imshow(mosaic, cmap="gray_r")
axes[1].set_title("decoded from a grid of z")
axes[1].axis("off")
plt.show()

# %% [markdown]
# ## Disjoint supports: JS is flat, W1 is not
# A GAN's generator starts far from the data. Model the data as $N(0, 0.1^2)$ and the generator as
# $N(\theta, 0.1^2)$ with $\theta = 4$: their supports barely overlap. The Jensen-Shannon divergence
# is then $\approx \log 2$ whatever $\theta$ is, so its gradient is essentially zero and the
# generator gets no signal; the Wasserstein-1 distance is $|\theta|$, with gradient 1.

# %%
grid = cr.tensor(np.linspace(-2, 6, 801))
# (floored at 1e-200: far tails underflow to subnormals, where (p + q) / 2 would round to 0)
density = lambda m: cr.exp(-0.5 * ((grid - m) / 0.1) ** 2).clip(min=1e-200)
data_samples = 0.1 * cr.randn(2000)
out = []
for t in (4.0, 2.0, 1.0):
    theta = cr.tensor(t, requires_grad=True)
    p, q = density(0.0), density(theta)
    js = cr.info.js_divergence(p / p.sum(), q / q.sum())
    (g_js,) = cr.autograd.grad(js, [theta])
    theta2 = cr.tensor(t, requires_grad=True)
    w1 = cr.info.wasserstein_distance(theta2 + 0.1 * cr.randn(2000), data_samples)
    (g_w1,) = cr.autograd.grad(w1, [theta2])
    out.append((t, js.item(), g_js.item(), w1.item(), g_w1.item()))
    print(f"theta = {t}: JS = {js.item():.4f} (log 2 = {np.log(2):.4f}), dJS/dtheta = "
          f"{g_js.item():.1e};  W1 = {w1.item():.3f}, dW1/dtheta = {g_w1.item():.3f}")
for t, js, g_js, w1, g_w1 in out:
    assert abs(js - np.log(2)) < 1e-4 and abs(g_js) < 1e-3  # flat: (almost) no signal
    assert abs(w1 - t) < 0.05 and abs(g_w1 - 1.0) < 1e-6  # W1 = |theta|, slope 1
