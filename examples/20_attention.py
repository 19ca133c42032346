"""Attention, shown: softmax(Q K^T / sqrt(d)) V as a soft lookup with the numbers of a 3-token
case; why divide by sqrt(d) (the score variance grows with d: measured); the sinusoidal
positional encodings of seed 004 (plotted, with the correct position-1 values) and their dot
products as a function of the offset; RoPE's relative-position property; and the attention
maps of a small trained model (it learns to look one token back)."""

import os

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

quick = bool(os.environ.get("CHAINRULE_QUICK"))
out = "runs/examples/20_attention"
os.makedirs(out, exist_ok=True)
np.set_printoptions(precision=4, suppress=True)
cr.set_default_dtype(np.float64)

# ---- 1. a soft lookup: three tokens ------------------------------------------------------------
Q = cr.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])   # what each token looks for
K = cr.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])   # what each token offers
V = cr.tensor([[10.0, 0.0], [0.0, 10.0], [5.0, 5.0]])  # what each token carries
d = Q.shape[-1]
scores = Q @ K.T / np.sqrt(d)
weights = scores.softmax(-1)
print("scores Q K^T / sqrt(2):")
print(scores.numpy())
print("weights softmax(scores) (each row sums to 1):")
print(weights.numpy())
print("output weights @ V (a weighted average of the values):")
print((weights @ V).numpy())
fused = F.scaled_dot_product_attention(Q, K, V)
print(f"F.scaled_dot_product_attention gives the same: "
      f"{np.allclose(fused.numpy(), (weights @ V).numpy(), rtol=1e-14)}")

# ---- 2. why divide by sqrt(d) -------------------------------------------------------------------
rng = np.random.default_rng(0)
n = 2000 if quick else 20000
print(f"\nscores q.k of N(0, 1) vectors, {n} pairs per d:")
print(f"{'d':>6} {'var(q.k)':>10} {'var/d':>7} {'var(q.k/sqrt d)':>16} "
      f"{'max weight, unscaled':>21} {'scaled':>7}")
dims = [4, 16, 64, 256, 1024]
variances = []
for dd in dims:
    q, k = rng.standard_normal((n, dd)), rng.standard_normal((n, dd))
    s = (q * k).sum(1)
    variances.append(s.var())
    # softmax over 16 keys: unscaled scores saturate (one weight near 1) as d grows
    qq, kk = rng.standard_normal((200, 1, dd)), rng.standard_normal((200, 16, dd))
    raw = (qq * kk).sum(-1)
    top_raw = cr.tensor(raw).softmax(-1).numpy().max(-1).mean()
    top_scaled = cr.tensor(raw / np.sqrt(dd)).softmax(-1).numpy().max(-1).mean()
    print(f"{dd:>6} {s.var():>10.1f} {s.var() / dd:>7.2f} {(s / np.sqrt(dd)).var():>16.2f} "
          f"{top_raw:>21.3f} {top_scaled:>7.3f}")
print("var(q.k) = d for unit-variance entries (a sum of d unit-variance products); dividing by "
      "sqrt(d) keeps it 1, so the softmax does not saturate and its gradient does not vanish")

# ---- 3. sinusoidal positional encodings ------------------------------------------------------
dim = 64
pe = F.sinusoidal_positional_encoding(100, dim).numpy()
pos, i = np.meshgrid(np.arange(100), np.arange(dim // 2), indexing="ij")
formula_err = max(np.abs(pe[:, 0::2] - np.sin(pos / 10000 ** (2 * i / dim))).max(),
                  np.abs(pe[:, 1::2] - np.cos(pos / 10000 ** (2 * i / dim))).max())
print(f"\nPE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...), d = {dim}: max "
      f"difference from the formula {formula_err:.1e}")
print(f"PE(1, 0:4) = {pe[1, :4]}  (sin 1 = {np.sin(1):.4f}, cos 1 = {np.cos(1):.4f})")
print(f"note: seed 004 says the position-1 values are about 0.0001; that is wrong: "
      f"PE(1, 0) = sin(1) = {pe[1, 0]:.3f}. 0.0001 = 1/10000 is only the slowest frequency's "
      f"limit (1/10000^((d-2)/d) = {1 / 10000 ** ((dim - 2) / dim):.6f} at the last pair)")
offsets = np.arange(0, 50)
dots = {p0: [pe[p0] @ pe[p0 + k] for k in offsets] for p0 in (0, 10, 40)}
spread = max(np.ptp([dots[p0][k] for p0 in dots]) for k in range(len(offsets)))
print(f"PE(p) . PE(p + k) depends only on the offset k (sum of cos(k w_i)): largest spread "
      f"over p = 0, 10, 40 is {spread:.1e}; at k = 0 it is d/2 = {dots[0][0]:.1f}, and it "
      f"falls with |k| ({dots[0][1]:.1f} at k=1, {dots[0][10]:.1f} at k=10)")

# ---- 4. rotary embeddings (RoPE, half-split convention) ------------------------------------------
q, k = rng.standard_normal(16), rng.standard_normal(16)
Tn = 20
rq = F.rotary_embedding(cr.tensor(np.tile(q, (Tn, 1)))).numpy()
rk = F.rotary_embedding(cr.tensor(np.tile(k, (Tn, 1)))).numpy()
G = rq @ rk.T  # G[m, n] = <R(m) q, R(n) k>
rel = max(np.ptp(np.diagonal(G, o)) for o in range(-Tn + 1, Tn))
print(f"\nRoPE: <R(m) q, R(n) k> depends only on m - n: largest spread along a diagonal "
      f"{rel:.1e} (it does vary with m - n: {np.ptp(G[:, 0]):.2f})")

# ---- 5. a trained model's attention: look one token back ---------------------------------------
cr.set_default_dtype(np.float32)
cr.manual_seed(0)
VOC, L, E = 12, 10, 32
mha = cr.nn.MultiheadAttention(E, 2, batch_first=True)
embed, head = cr.nn.Embedding(VOC, E), cr.nn.Linear(E, VOC)
posenc = cr.nn.SinusoidalPositionalEncoding(E, max_len=L)
params = list(mha.parameters()) + list(embed.parameters()) + list(head.parameters())
opt = cr.optim.Adam(params, lr=1e-2)
mask = cr.nn.Transformer.generate_square_subsequent_mask(L)


def predict(x):
    h = posenc(embed(x))
    y, w = mha(h, h, h, attn_mask=mask, average_attn_weights=True)
    return head(y + h), w


task_rng = np.random.default_rng(1)
steps = 60 if quick else 400
curve = []
for _ in range(steps):
    x = task_rng.integers(0, VOC, (32, L))
    target = np.concatenate([np.zeros((32, 1), np.int64), x[:, :-1]], 1)  # the previous token
    logits, _ = predict(cr.tensor(x))
    loss = F.cross_entropy(logits[:, 1:].reshape(-1, VOC), cr.tensor(target[:, 1:].ravel()))
    opt.zero_grad()
    loss.backward()
    opt.step()
    curve.append(loss.item())
x = task_rng.integers(0, VOC, (256, L))
with cr.no_grad():
    logits, w = predict(cr.tensor(x))
acc = (logits.numpy()[:, 1:].argmax(-1) == x[:, :-1]).mean()
w = w.numpy()
back = np.mean([w[:, t, t - 1].mean() for t in range(1, L)])
uniform = np.mean([1 / (t + 1) for t in range(1, L)])
print(f"\ntask: output the previous token; {steps} Adam steps: loss {curve[0]:.3f} -> "
      f"{curve[-1]:.3f}, accuracy {acc:.3f}; mean attention on the previous position {back:.3f}"
      f" (uniform over the allowed keys would give {uniform:.3f})")

# ---- plots --------------------------------------------------------------------------------------
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for j in (0, 2, 8, 20):
    axes[0].plot(pe[:, j], label=f"dim {j} (sin, w = 1/10000^({j}/{dim}))")
axes[0].set_xlabel("position")
axes[0].set_ylabel("PE(pos, dim)")
axes[0].set_title("sinusoidal positional encodings (seed 004)")
axes[0].legend(fontsize=7)
im = axes[1].imshow(pe.T, aspect="auto", cmap="RdBu", origin="lower")
axes[1].set_xlabel("position")
axes[1].set_ylabel("dimension")
axes[1].set_title("PE table")
fig.colorbar(im, ax=axes[1])
for p0, v in dots.items():
    axes[2].plot(offsets, v, label=f"p = {p0}", ls="-" if p0 == 0 else "--")
axes[2].set_xlabel("offset k")
axes[2].set_ylabel("PE(p) . PE(p + k)")
axes[2].set_title("dot products depend only on the offset")
axes[2].legend()
fig.tight_layout()
fig.savefig(f"{out}/positional_encodings.png", dpi=100)
plt.close(fig)

fig, axes = plt.subplots(1, 3, figsize=(14, 4))
axes[0].plot(dims, variances, "o-", label="measured var(q.k)")
axes[0].plot(dims, dims, "k--", label="d")
axes[0].set_xscale("log")
axes[0].set_yscale("log")
axes[0].set_xlabel("d")
axes[0].set_ylabel("score variance")
axes[0].set_title("unscaled score variance grows like d")
axes[0].legend()
axes[1].plot(curve)
axes[1].set_xlabel("step")
axes[1].set_ylabel("cross-entropy")
axes[1].set_title("training: predict the previous token")
im = axes[2].imshow(w[:8].mean(0), cmap="viridis")
axes[2].set_xlabel("key position")
axes[2].set_ylabel("query position")
axes[2].set_title("learned attention (mean over heads, 8 inputs)")
fig.colorbar(im, ax=axes[2])
fig.tight_layout()
fig.savefig(f"{out}/attention.png", dpi=100)
plt.close(fig)
print(f"plots: {out}/positional_encodings.png, {out}/attention.png")
