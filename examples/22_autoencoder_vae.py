"""Seeds 000 and 004: encoder-decoder networks, and the VAE's Gaussian prior and KL direction.

1. Autoencoders on digits (8x8, pixels scaled to [0, 1]): an MLP autoencoder and a
   convolutional one (Conv2d down, ConvTranspose2d up) against PCA with the same number k of
   components, k = 2, 8, 16. PCA is the best *linear* autoencoder (Eckart-Young: its rank-k
   reconstruction minimises the squared error over all rank-k linear maps), so a nonlinear
   autoencoder is worth something only if its held-out error is no worse than PCA's.
2. A VAE on digits binarised at half intensity: Gaussian encoder q(z|x) = N(mu(x), sigma(x)^2),
   Bernoulli decoder p(x|z), standard normal prior; ELBO = E_q[log p(x|z)] - beta KL(q || p),
   the expectation by the reparameterisation z = mu + sigma eps (Normal.rsample), the KL in
   closed form (cr.distributions.kl_divergence). Trained with cr.train.fit (progress, and a
   checkpoint of the best held-out loss, reloaded before the final numbers). Plots: the two
   ELBO terms per epoch, samples, reconstructions, the 2-D latent map coloured by digit and a
   latent traversal.
3. The KL direction in the latent space (seed 000, as examples/10_kl_direction.py in 1-D): fit
   one Gaussian to a bimodal prior in the 2-D latent space, then to the VAE's aggregate
   posterior of two digit classes (a mixture of the encoder's Gaussians). Forward KL(p || N) is
   minimised by moment matching: the Gaussian covers both modes. Reverse KL(N || p), minimised
   by gradient descent through rsample, seeks one mode.
Writes runs/examples/22_autoencoder_vae/*.png. CHAINRULE_QUICK=1: fewer epochs (seconds).
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
OUT = Path("runs/examples/22_autoencoder_vae")
OUT.mkdir(parents=True, exist_ok=True)
nn, D = cr.nn, cr.distributions
np.set_printoptions(precision=3, suppress=True)
AE_EPOCHS, VAE_EPOCHS, KL_STEPS = (25, 15, 150) if QUICK else (100, 120, 600)
BETA = 1.0

X, y = cr.data.load_digits()
X = (np.asarray(X) / 16.0).astype(np.float32)
Xtr, Xte, ytr, yte = (np.asarray(a) for a in cr.data.train_test_split(
    X, np.asarray(y), test_size=0.3, stratify=np.asarray(y), seed=0))
Xtr, Xte = Xtr.astype(np.float32), Xte.astype(np.float32)
print(f"digits: {len(Xtr)} training and {len(Xte)} held-out images of 8x8 pixels in [0, 1]")


# ---- 1. autoencoders vs PCA ------------------------------------------------------------------
def mlp_autoencoder(k):
    return nn.Sequential(nn.Linear(64, 256), nn.ELU(), nn.Linear(256, k),       # encoder
                         nn.Linear(k, 256), nn.ELU(), nn.Linear(256, 64))       # decoder


def conv_autoencoder(k):
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1), nn.ELU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ELU(), nn.Flatten(), nn.Linear(512, k),
        nn.Linear(k, 512), nn.ELU(), nn.Unflatten(1, (32, 4, 4)),
        nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ELU(),  # 4x4 -> 8x8
        nn.Conv2d(16, 1, 3, padding=1), nn.Flatten())


def heldout_mse(model):
    model.eval()
    with cr.no_grad():
        return float(F.mse_loss(model(cr.tensor(Xte)), cr.tensor(Xte)).item())


ks = (2, 8, 16)
errors = {"PCA": [], "MLP autoencoder": [], "conv autoencoder": []}
for k in ks:
    pca = cr.decomposition.PCA(n_components=k).fit(Xtr)
    R = np.asarray(pca.inverse_transform(pca.transform(Xte)))
    errors["PCA"].append(float(((R - Xte) ** 2).mean()))
    for name, build in (("MLP autoencoder", mlp_autoencoder), ("conv autoencoder",
                                                               conv_autoencoder)):
        cr.manual_seed(0)
        model = build(k)
        opt = cr.optim.Adam(model.parameters(), lr=2e-3)
        cr.train.fit(model, F.mse_loss, opt, (Xtr, Xtr), epochs=AE_EPOCHS, batch_size=64,
                     seed=0, progress=False)
        errors[name].append(heldout_mse(model))
print("held-out reconstruction error (mean squared error per pixel) vs bottleneck k:")
print(f"{'k':>4}" + "".join(f"{name:>19}" for name in errors))
for i, k in enumerate(ks):
    print(f"{k:>4}" + "".join(f"{errors[name][i]:>19.5f}" for name in errors))
for i, k in enumerate(ks):
    for name in ("MLP autoencoder", "conv autoencoder"):
        verdict = "no worse than" if errors[name][i] <= errors["PCA"][i] else "WORSE than"
        print(f"k = {k}: {name} {verdict} PCA ({errors[name][i]:.5f} vs "
              f"{errors['PCA'][i]:.5f})")

fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
for name, errs in errors.items():
    ax.plot(ks, errs, "o-", label=name)
ax.set(xlabel="bottleneck width k", ylabel="held-out MSE per pixel", yscale="log",
       title="Autoencoders vs PCA (the best linear autoencoder)")
ax.set_xticks(ks)
ax.legend()
fig.savefig(OUT / "reconstruction_vs_k.png", dpi=110)
plt.close(fig)


# ---- 2. the VAE ------------------------------------------------------------------------------
class VAE(nn.Module):
    """q(z|x) = N(mu(x), sigma(x)^2) with a 2-D latent; p(x|z) = Bernoulli(logits(z))."""

    def __init__(self, latent=2, hidden=256):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.ELU(), nn.Linear(hidden, hidden),
                                     nn.ELU())
        self.mu, self.log_sigma = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ELU(),
                                     nn.Linear(hidden, hidden), nn.ELU(), nn.Linear(hidden, 64))

    def posterior(self, x):
        h = self.encoder(x)
        return D.Normal(self.mu(h), self.log_sigma(h).exp())

    def forward(self, x):
        """(logits | mu | log sigma) side by side: one Tensor, as cr.train.fit expects."""
        h = self.encoder(x)
        mu, log_sigma = self.mu(h), self.log_sigma(h)
        z = D.Normal(mu, log_sigma.exp()).rsample()  # mu + sigma eps: gradients reach both
        return cr.cat([self.decoder(z), mu, log_sigma], 1)


prior = D.Normal(cr.zeros(2), cr.ones(2))


def elbo_terms(output, x):
    """(reconstruction -E_q log p(x|z), KL(q || prior)), each in nats per image."""
    logits, q = output[:, :64], D.Normal(output[:, 64:66], output[:, 66:].exp())
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    kl = D.kl_divergence(q, prior).sum() / x.shape[0]
    return recon, kl


def vae_loss(output, x):
    recon, kl = elbo_terms(output, x)
    return recon + BETA * kl


class ELBOTerms(cr.train.Callback):
    """Records the two ELBO terms on the training and the held-out images after each epoch."""

    def __init__(self):
        self.terms = {"train": [], "held-out": []}

    def on_epoch_end(self, state, logs):
        state.model.eval()
        with cr.no_grad():
            for split, data in (("train", Btr), ("held-out", Bte)):
                cr.manual_seed(state.epoch)
                r, k = elbo_terms(state.model(cr.tensor(data)), cr.tensor(data))
                self.terms[split].append((r.item(), k.item()))
        state.model.train()


def heldout_elbo(model, data, samples=20):
    """ELBO per image on `data`, the expectation averaged over `samples` draws of z."""
    model.eval()
    with cr.no_grad():
        x = cr.tensor(data)
        q = model.posterior(x)
        kl = D.kl_divergence(q, prior).sum(-1)
        ll = 0.0
        for _ in range(samples):
            logits = model.decoder(q.rsample())
            ll = ll - F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        elbo = ll / samples - kl
    return float(elbo.mean().item()), float((ll / samples).mean().item()), \
        float(kl.mean().item())


Btr, Bte = (Xtr > 0.5).astype(np.float32), (Xte > 0.5).astype(np.float32)
cr.manual_seed(0)
vae = VAE()
terms = ELBOTerms()
ckpt = OUT / "vae_best.safetensors"
history = cr.train.fit(
    vae, vae_loss, cr.optim.Adam(vae.parameters(), lr=1e-3), (Btr, Btr), epochs=VAE_EPOCHS,
    batch_size=64, val_data=(Bte, Bte), seed=0, progress=True,
    callbacks=[terms, cr.train.ModelCheckpoint(ckpt, monitor="val_loss", save_best_only=True,
                                               save_weights_only=True)])
best = int(np.argmin(history["val_loss"])) + 1
vae.load_state_dict(cr.load(ckpt))
cr.manual_seed(1)
elbo, ll, kl = heldout_elbo(vae, Bte)
bits = 64 * np.log(2)
print(f"VAE (2-D latent, beta = {BETA}), the checkpoint of epoch {best} of {VAE_EPOCHS}: "
      f"held-out ELBO = {elbo:.2f} nats per image (E_q log p(x|z) = {ll:.2f}, KL = {kl:.2f}); "
      f"a coin per pixel would score -64 log 2 = {-bits:.2f}")
cr.manual_seed(1)
train_elbo = heldout_elbo(vae, Btr)[0]
print(f"training ELBO = {train_elbo:.2f} nats per image")

epochs = np.arange(1, VAE_EPOCHS + 1)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
for split, style in (("train", "-"), ("held-out", "--")):
    t = np.array(terms.terms[split])
    axes[0].plot(epochs, t[:, 0], style, label=f"reconstruction ({split})")
    axes[1].plot(epochs, t[:, 1], style, label=f"KL(q(z|x) || p(z)) ({split})")
axes[0].set(xlabel="epoch", ylabel="nats per image", title="-E_q log p(x|z)")
axes[1].set(xlabel="epoch", ylabel="nats per image", title="KL term")
for a in axes:
    a.legend()
fig.savefig(OUT / "elbo_terms.png", dpi=110)
plt.close(fig)

vae.eval()
with cr.no_grad():
    cr.manual_seed(2)
    samples = F.sigmoid(vae.decoder(cr.randn(16, 2))).numpy()
    q = vae.posterior(cr.tensor(Bte))
    recon = F.sigmoid(vae.decoder(q.loc)).numpy()
    grid = np.linspace(-2.5, 2.5, 9)
    traversal = F.sigmoid(vae.decoder(cr.tensor(
        np.array([[a, b] for b in grid[::-1] for a in grid], np.float32)))).numpy()
    mu_test = q.loc.numpy()
fig, axes = plt.subplots(3, 16, figsize=(12, 2.6), layout="constrained")
for i in range(16):
    for row, img in enumerate((Bte[i], recon[i], samples[i])):
        axes[row, i].imshow(img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[row, i].axis("off")
axes[0, 0].set_title("held-out", loc="left", fontsize=8)
axes[1, 0].set_title("reconstruction (z = mu)", loc="left", fontsize=8)
axes[2, 0].set_title("samples z ~ N(0, I)", loc="left", fontsize=8)
fig.savefig(OUT / "vae_samples_reconstructions.png", dpi=110)
plt.close(fig)

fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
sc = ax.scatter(mu_test[:, 0], mu_test[:, 1], c=yte, cmap="tab10", s=8)
fig.colorbar(sc, ax=ax, label="digit")
ax.set(xlabel="z1", ylabel="z2", title="VAE latent means of held-out digits")
fig.savefig(OUT / "latent_map.png", dpi=110)
plt.close(fig)

tiles = traversal.reshape(9, 9, 8, 8).transpose(0, 2, 1, 3).reshape(72, 72)
fig, ax = plt.subplots(figsize=(4.5, 4.5), layout="constrained")
ax.imshow(tiles, cmap="gray_r", extent=(-2.5, 2.5, -2.5, 2.5))
ax.set(xlabel="z1", ylabel="z2", title="decoder means along a grid of z (traversal)")
fig.savefig(OUT / "latent_traversal.png", dpi=110)
plt.close(fig)
print(f"wrote {OUT}/reconstruction_vs_k.png, elbo_terms.png, vae_samples_reconstructions.png, "
      "latent_map.png, latent_traversal.png")


# ---- 3. forward vs reverse KL in the latent space --------------------------------------------
cr.set_default_dtype(np.float64)


def mixture(mus, sigmas):
    """The equal-weight mixture of the diagonal Gaussians N(mus[n], diag(sigmas[n]^2))."""
    n = len(mus)
    return D.MixtureSameFamily(D.Categorical(probs=cr.tensor(np.full(n, 1 / n))),
                               D.Independent(D.Normal(cr.tensor(mus), cr.tensor(sigmas)), 1))


def forward_fit(mus, sigmas):
    """argmin KL(mixture || N(m, S)): N's moments match the mixture's (mode covering)."""
    m = mus.mean(0)
    return m, (np.einsum("ni,nj->ij", mus - m, mus - m) + np.diag((sigmas ** 2).sum(0))) \
        / len(mus)


def reverse_fit(target, mean, sd, steps=KL_STEPS, seed=3):
    """argmin KL(N(m, diag s^2) || target) by Adam through rsample (pathwise gradients)."""
    mu = cr.tensor(np.asarray(mean, np.float64), requires_grad=True)
    log_s = cr.tensor(np.log(np.asarray(sd, np.float64)), requires_grad=True)
    opt = cr.optim.Adam([mu, log_s], lr=0.05)
    cr.manual_seed(seed)
    for _ in range(steps):
        q = D.Independent(D.Normal(mu, log_s.exp()), 1)
        z = q.rsample((256,))
        loss = (q.log_prob(z) - target.log_prob(z)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return mu.numpy(), np.exp(log_s.numpy())


def within(points, mean, cov, r=2.0):
    """Fraction of `points` inside the Gaussian's r-sigma ellipse."""
    d = points - mean
    return float((np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d) <= r * r).mean())


# (a) a bimodal prior p(z) = N((-2, 0), 0.5^2 I)/2 + N((2, 0), 0.5^2 I)/2
modes, spread = np.array([[-2.0, 0.0], [2.0, 0.0]]), np.full((2, 2), 0.5)
bimodal = mixture(modes, spread)
m_f, S_f = forward_fit(modes, spread)
m_r, s_r = reverse_fit(bimodal, [0.5, 0.0], [0.3, 0.3])  # started narrow, off-centre
near = modes[np.argmin(np.linalg.norm(modes - m_r, axis=1))]
print("fitting one Gaussian to the bimodal prior N((-2,0), 0.25 I)/2 + N((2,0), 0.25 I)/2:")
print(f"forward KL(p || q): mean {np.round(m_f, 3)}, sd {np.round(np.sqrt(np.diag(S_f)), 3)} "
      "(moment matching: covers both modes, sd_1 = sqrt(4 + 0.25) = 2.062)")
print(f"reverse KL(q || p): mean {np.round(m_r, 3)}, sd {np.round(s_r, 3)} (mode seeking: "
      f"{np.linalg.norm(m_r - near):.3f} from the mode at {near}, whose sd is 0.5)")

# (b) the VAE's aggregate posterior of the two digit classes whose clusters are farthest apart
with cr.no_grad():
    post = vae.posterior(cr.tensor(Btr))
    all_mu = post.loc.numpy().astype(np.float64)
    all_sigma = post.scale.numpy().astype(np.float64)
centres = np.array([all_mu[ytr == c].mean(0) for c in range(10)])
spreads = np.array([all_mu[ytr == c].std(0).mean() for c in range(10)])
score = np.linalg.norm(centres[:, None] - centres[None], axis=-1) / \
    (spreads[:, None] + spreads[None])
pair = tuple(int(c) for c in np.unravel_index(np.argmax(score), score.shape))
sel = np.isin(ytr, pair)
mus, sigmas, labels = all_mu[sel], all_sigma[sel], ytr[sel]
agg = mixture(mus, sigmas)
m_fwd, S_fwd = forward_fit(mus, sigmas)
start = m_fwd + 0.5 * (centres[pair[0]] - m_fwd)  # narrow, nudged toward the first cluster
m_rev, s_rev = reverse_fit(agg, start, np.full(2, spreads[pair[0]]))
cov_f = [within(mus[labels == c], m_fwd, S_fwd) for c in pair]
cov_r = [within(mus[labels == c], m_rev, np.diag(s_rev ** 2)) for c in pair]
print(f"fitting one Gaussian to the VAE's aggregate posterior of digits {pair[0]} and {pair[1]} "
      f"(the best-separated pair; centres {np.round(centres[pair[0]], 2)} and "
      f"{np.round(centres[pair[1]], 2)}):")
print(f"forward KL: mean {np.round(m_fwd, 2)}, sd {np.round(np.sqrt(np.diag(S_fwd)), 2)}; "
      f"within 2 sd: {cov_f[0]:.0%} of the {pair[0]}s, {cov_f[1]:.0%} of the {pair[1]}s")
print(f"reverse KL: mean {np.round(m_rev, 2)}, sd {np.round(s_rev, 2)}; within 2 sd: "
      f"{cov_r[0]:.0%} of the {pair[0]}s, {cov_r[1]:.0%} of the {pair[1]}s")

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
t = np.linspace(0, 2 * np.pi, 200)
circle = np.stack([np.cos(t), np.sin(t)])
cr.manual_seed(4)
prior_samples = bimodal.sample((600,)).numpy()
axes[0].scatter(*prior_samples.T, s=4, color="0.6", label="samples of the bimodal prior")
for c, colour in zip(pair, ("tab:blue", "tab:orange")):
    axes[1].scatter(*mus[labels == c].T, s=6, color=colour, label=f"digit {c}: encoder means")
for ax, fits in ((axes[0], ((m_f, S_f), (m_r, np.diag(s_r ** 2)))),
                 (axes[1], ((m_fwd, S_fwd), (m_rev, np.diag(s_rev ** 2))))):
    for (mean, cov), name, style in zip(fits, ("forward KL fit (covers)",
                                               "reverse KL fit (seeks)"), ("k-", "r--")):
        ax.plot(*(mean[:, None] + 2 * np.linalg.cholesky(cov) @ circle), style,
                label=f"{name}, 2 sd")
    ax.set(xlabel="z1", ylabel="z2")
    ax.legend(fontsize=7)
axes[0].set_title("a Gaussian fitted to a bimodal prior")
axes[1].set_title("... to the VAE's aggregate posterior of two digits")
fig.savefig(OUT / "kl_direction_latent.png", dpi=110)
plt.close(fig)
print(f"wrote {OUT}/kl_direction_latent.png")
