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
# # 08 · Sequence models and attention
#
# Two ways to let a network read a sequence. A recurrent cell carries a state from step to step;
# its gradient must travel back through every step (backpropagation through time), and it
# shrinks or grows geometrically on the way. Attention lets every position look at every other
# position directly, in one step, with weights computed from the data. We build both from
# chainrule ops, so every piece is visible, and check the library's modules against them when
# they are present.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
cr.set_default_dtype(np.float64)
cr.manual_seed(0)

# %% [markdown]
# ## An RNN cell by hand
# $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$ (PyTorch's `nn.RNN` formula and
# weight names).

# %%
H, D, T = 16, 3, 40


def rnn(x, W_ih, W_hh, b_ih, b_hh, h0):
    """x: (T, N, D) -> all states (T, N, H), like nn.RNN with batch_first=False."""
    h, states = h0, []
    for t in range(x.shape[0]):
        h = cr.tanh(x[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        states.append(h)
    return cr.stack(states)


def weights(scale):
    W_hh = cr.randn(H, H)
    W_hh = W_hh * (scale / cr.linalg.matrix_norm(W_hh, ord=2))  # spectral norm = scale
    return (0.5 * cr.randn(H, D), W_hh, 0.1 * cr.randn(H), 0.1 * cr.randn(H))


x = cr.randn(T, 1, D)
params = weights(0.9)
states = rnn(x, *params, cr.zeros(1, H))
print("states", tuple(states.shape))
assert states.shape == (T, 1, H) and (states.abs() < 1).all().item()

# %% [markdown]
# ## Backpropagation through time: why gradients vanish
# $\partial h_T/\partial h_t = \prod_{s=t+1}^{T} \mathrm{diag}(1 - h_s^2)\, W_{hh}$, so its norm is
# at most $\|W_{hh}\|_2^{T-t}$. With $\|W_{hh}\|_2 < 1$ the influence of early inputs on the final
# state decays geometrically: the cell cannot learn long-range dependencies.

# %%
def sensitivity(params, T=T):
    """||d h_T / d x_t|| for every t, by autodiff through the unrolled loop."""
    xs = cr.randn(T, 1, D, requires_grad=True)
    hT = rnn(xs, *params, cr.zeros(1, H))[-1]
    rows = []
    for k in range(H if not QUICK else 4):  # rows of the Jacobian d h_T[k] / d x
        (g,) = cr.autograd.grad(hT[0, k], [xs], retain_graph=True)
        rows.append(g.numpy()[:, 0, :])
    J = np.stack(rows, 1)  # (T, rows, D)
    return np.linalg.norm(J, axis=(1, 2))


fig, ax = plt.subplots(figsize=(5.5, 3.2))
decay = {}
for scale in (0.5, 0.9, 1.5):
    w = weights(scale)
    s = sensitivity(w)
    decay[scale] = s
    if scale == 0.5:
        W_ih_norm = cr.linalg.matrix_norm(w[0], ord=2).item()
    ax.semilogy(np.arange(T)[::-1], s, label=f"||W_hh||_2 = {scale}")
ax.set_xlabel("steps back from the end, T - t")
ax.set_ylabel("||dh_T / dx_t||")
ax.legend()
plt.show()
steps_back = T - 1 - np.arange(T)
# ||dh_T/dx_t||_F <= sqrt(D) ||dh_T/dx_t||_2 <= sqrt(D) ||W_hh||^(T-t) ||W_ih|| (|tanh'| <= 1)
bound = np.sqrt(D) * 0.5 ** steps_back * W_ih_norm
assert (decay[0.5] <= bound * (1 + 1e-9)).all()
assert decay[0.5][0] < 1e-8 * decay[0.5][-1]
print(f"||W_hh|| = 0.5: the first input's influence is {decay[0.5][0] / decay[0.5][-1]:.1e} "
      "of the last one's")

# %%
# the library's cr.nn.RNN gives the same numbers
layer = cr.nn.RNN(D, H)
with cr.no_grad():
    for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                           params):
        getattr(layer, name).copy_(value.to(getattr(layer, name).dtype))
out, h_n = layer(x.to(layer.weight_ih_l0.dtype))
assert np.allclose(out.numpy(), states.numpy(), atol=1e-5)
print("cr.nn.RNN agrees with the hand-built cell")

# %% [markdown]
# ## Scaled dot-product attention
# $\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top/\sqrt{d})\,V$: each query takes a
# weighted average of the values, weighted by how well it matches each key.

# %%
def attention(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1) / np.sqrt(Q.shape[-1])
    if mask is not None:
        scores = cr.where(mask, scores, cr.full_like(scores, -np.inf))
    A = cr.softmax(scores, dim=-1)
    return A @ V, A


L, d = 6, 8
Q, K, V = cr.randn(L, d), cr.randn(L, d), cr.randn(L, d)
out, A = attention(Q, K, V)
assert np.allclose(A.sum(-1).numpy(), 1.0) and (A.numpy() > 0).all()
causal = cr.tensor(np.tril(np.ones((L, L), dtype=bool)))
out_c, A_c = attention(Q, K, V, causal)
assert np.allclose(np.triu(A_c.numpy(), 1), 0.0)  # no position looks ahead
assert np.allclose(out_c[0].numpy(), V[0].numpy())  # the first can only see itself
fig, axes = plt.subplots(1, 2, figsize=(6, 3))
axes[0].imshow(A.numpy(), cmap="viridis")
axes[0].set_title("attention weights")
axes[1].imshow(A_c.numpy(), cmap="viridis")
axes[1].set_title("with a causal mask")
plt.show()

# the library's fused op gives the same numbers
lib = F.scaled_dot_product_attention(Q[None], K[None], V[None])
assert np.allclose(lib.numpy()[0], out.numpy(), atol=1e-6)
lib_c = F.scaled_dot_product_attention(Q[None], K[None], V[None], is_causal=True)
assert np.allclose(lib_c.numpy()[0], out_c.numpy(), atol=1e-6)
print("F.scaled_dot_product_attention agrees with the hand-built attention")

# %% [markdown]
# ## Why divide by $\sqrt{d}$
# If the entries of $q$ and $k$ are independent with variance 1, $q\cdot k$ has variance $d$. Large
# scores push softmax into saturation (one weight near 1, the rest near 0), where its gradient
# vanishes. Dividing by $\sqrt d$ keeps the score variance at 1 whatever the width.

# %%
rows = []
for d in (4, 64, 512):
    q, k = cr.randn(4000, d), cr.randn(4000, d)
    dots = (q * k).sum(-1)
    raw, scaled = dots.var().item(), (dots / np.sqrt(d)).var().item()
    A_raw = cr.softmax(cr.randn(200, 16, d) @ cr.randn(200, d, 1) / 1.0, dim=1)
    A_sc = cr.softmax(cr.randn(200, 16, d) @ cr.randn(200, d, 1) / np.sqrt(d), dim=1)
    rows.append((d, raw, scaled, A_raw.max(1).values.mean().item(),
                 A_sc.max(1).values.mean().item()))
    print(f"d = {d:4d}: var(q.k) = {raw:7.1f}, var(q.k/sqrt d) = {scaled:.2f}; mean max "
          f"weight of 16: unscaled {rows[-1][3]:.2f}, scaled {rows[-1][4]:.2f}")
    assert abs(raw / d - 1) < 0.15 and abs(scaled - 1) < 0.15
assert rows[-1][3] > 0.9 and rows[-1][4] < 0.6  # unscaled softmax saturates at large d

# %% [markdown]
# ## Sinusoidal positions
# Attention is blind to order, so positions are added to the inputs:
# $PE(p, 2i) = \sin(p / 10000^{2i/d})$, $PE(p, 2i+1) = \cos(p / 10000^{2i/d})$. Position 0 is
# $[0, 1, 0, 1, \dots]$; and for each frequency, moving $k$ positions is a fixed rotation, so
# relative offsets are linear functions of the encoding.

# %%
def positions(n, d):
    p = cr.arange(n, dtype=cr.float64)[:, None]
    freq = 1.0 / 10000 ** (cr.arange(0, d, 2, dtype=cr.float64) / d)
    pe = cr.zeros(n, d)
    pe[:, 0::2] = cr.sin(p * freq)
    pe[:, 1::2] = cr.cos(p * freq)
    return pe, freq


pe, freq = positions(50, 16)
assert np.allclose(pe[0].numpy(), np.tile([0.0, 1.0], 8))
k = 7
for i in range(8):
    c, s = np.cos(k * freq[i].item()), np.sin(k * freq[i].item())
    R = np.array([[c, -s], [s, c]])  # [sin, cos](p + k) = [sin, cos](p) @ R
    assert np.allclose(pe[:, 2 * i:2 * i + 2].numpy()[:-k] @ R, pe[k:, 2 * i:2 * i + 2].numpy())
plt.figure(figsize=(6, 2.8))
plt.imshow(pe.numpy().T, aspect="auto", cmap="RdBu")
plt.xlabel("position")
plt.ylabel("dimension")
plt.colorbar()
plt.show()

# %%
# the library's MultiheadAttention is heads of the same attention
E, heads = 8, 2
mha = cr.nn.MultiheadAttention(E, heads, batch_first=True)
x = cr.randn(1, 5, E).to(mha.in_proj_weight.dtype)
got, _ = mha(x, x, x)
Wq, Wk, Wv = mha.in_proj_weight.detach().chunk(3)
bq, bk, bv = mha.in_proj_bias.detach().chunk(3)
q, k_, v = x[0] @ Wq.T + bq, x[0] @ Wk.T + bk, x[0] @ Wv.T + bv
dh = E // heads
outs = [attention(q[:, h * dh:(h + 1) * dh], k_[:, h * dh:(h + 1) * dh],
                  v[:, h * dh:(h + 1) * dh])[0] for h in range(heads)]
want = cr.cat(outs, dim=-1) @ mha.out_proj.weight.detach().T + mha.out_proj.bias.detach()
assert np.allclose(got.detach().numpy()[0], want.numpy(), atol=1e-5)
print("cr.nn.MultiheadAttention agrees with heads of the hand-built attention")
