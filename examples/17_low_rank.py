"""Seed 000's LoRA idea: a trained layer's weight matrix is close to low rank, and a fine-tune
can be a low-rank update A @ B on top of frozen weights.

1. Train the digits MLP (64 -> 128 -> 64 -> 10).
2. Replace each layer's W by its rank-r truncated SVD U_r diag(s_r) Vh_r (cr.linalg.svd):
   test accuracy and parameter count vs r (plot).
3. Freeze the rank-r0 model and fine-tune only a rank-r0 update W + A @ B per layer with
   autodiff: accuracy comes back with a fraction of the parameters.

Plots go to runs/examples/. CHAINRULE_QUICK=1 makes it a few-second smoke test.
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
OUT = Path("runs/examples")
OUT.mkdir(parents=True, exist_ok=True)
cr.manual_seed(0)

X, y = cr.data.load_digits()
X_train, X_test, y_train, y_test = cr.data.train_test_split(X, y, test_size=0.2, stratify=y,
                                                            seed=0)
X_train, mean, std = cr.data.standardize(X_train)
X_test, _, _ = cr.data.standardize(X_test, mean, std)

# ---- 1. the trained MLP ----------------------------------------------------------------------
model = cr.nn.Sequential(cr.nn.Linear(64, 128), cr.nn.ReLU(), cr.nn.Linear(128, 64),
                         cr.nn.ReLU(), cr.nn.Linear(64, 10))
cr.train.fit(model, F.cross_entropy, cr.optim.Adam(model.parameters(), lr=1e-3),
             (X_train, y_train), epochs=4 if QUICK else 30, batch_size=32, seed=0,
             progress=False)
layers = [m for m in model if isinstance(m, cr.nn.Linear)]
weights = [layer.weight.detach().clone() for layer in layers]
biases = [layer.bias.detach().clone() for layer in layers]


def accuracy(Ws, bs):
    h = cr.tensor(np.asarray(X_test, dtype=np.float32))
    for k, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W.mT + b
        if k < len(Ws) - 1:
            h = h.relu()
    return float((h.argmax(1).numpy() == np.asarray(y_test)).mean())


full_params = sum(W.numel() + b.numel() for W, b in zip(weights, biases))
full_acc = accuracy(weights, biases)
print(f"1. the trained MLP 64 -> 128 -> 64 -> 10: test accuracy {full_acc:.4f}, "
      f"{full_params} parameters")

# ---- 2. truncated SVD of every layer ---------------------------------------------------------
svds = [cr.linalg.svd(W, full_matrices=False) for W in weights]
for k, (W, (_, S, _)) in enumerate(zip(weights, svds)):
    energy = (S[:8] ** 2).sum().item() / (S ** 2).sum().item()
    print(f"   layer {k} ({W.shape[0]} x {W.shape[1]}): the top 8 of {S.shape[0]} singular "
          f"values hold {100 * energy:.1f}% of ||W||_F^2")


def truncated(r):
    Ws = [(U[:, :r] * S[:r]) @ Vh[:r] for U, S, Vh in svds]
    params = sum(min(r, S.shape[0]) * (W.shape[0] + W.shape[1]) + b.numel()
                 for (U, S, Vh), W, b in zip(svds, weights, biases))
    return Ws, params


ranks = [1, 2, 4, 8, 16, 32, 64]
curve = []
print("2. every layer replaced by its rank-r truncated SVD U_r diag(s_r) Vh_r:")
for r in ranks:
    Ws, params = truncated(r)
    acc = accuracy(Ws, biases)
    curve.append((r, acc, params))
    print(f"   rank {r:>2d}: test accuracy {acc:.4f}, {params} parameters "
          f"({100 * params / full_params:.1f}% of {full_params})")

even = [W.shape[0] * W.shape[1] / (W.shape[0] + W.shape[1]) for W in weights]
print("   (the factors U_r diag(s_r), Vh_r save parameters only while r < m n / (m + n): "
      + ", ".join(f"{e:.1f}" for e in even) + " for the three layers)")

fig, ax = plt.subplots(figsize=(7, 4.2))
ax.plot(ranks, [a for _, a, _ in curve], "C0o-", label="test accuracy")
ax.axhline(full_acc, color="C0", ls=":", label=f"full rank: {full_acc:.3f}")
ax.set(xscale="log", xlabel="rank r of every layer", ylabel="test accuracy",
       title="Truncated SVD of the digits MLP")
ax.set_xticks(ranks, [str(r) for r in ranks])
ax2 = ax.twinx()
ax2.plot(ranks, [p for _, _, p in curve], "C1s--", label="parameters")
ax2.axhline(full_params, color="C1", ls=":", label=f"dense layers: {full_params}")
ax2.set(ylabel="parameters")
ax.legend(loc="lower right", fontsize=8)
ax2.legend(loc="center right", fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "17_rank_vs_accuracy.png", dpi=110)
plt.close(fig)


# ---- 3. LoRA: frozen rank-r0 weights + a trained rank-r0 update A @ B ---------------------------
class LoRALinear(cr.nn.Module):
    """y = x (W + A B)^T + b with W, b frozen; only A (out x r) and B (r x in) train."""

    def __init__(self, W, b, r):
        super().__init__()
        self.W, self.b = W.detach(), b.detach()  # frozen: plain tensors, not parameters
        out_features, in_features = W.shape
        # as in LoRA: A starts at zero, so the update starts at zero and the model unchanged
        self.A = cr.nn.Parameter(cr.zeros(out_features, r))
        self.B = cr.nn.Parameter(cr.randn(r, in_features) * (1 / np.sqrt(in_features)))

    def forward(self, x):
        return x @ (self.W + self.A @ self.B).mT + self.b


r0 = 4
base, _ = truncated(r0)
before = accuracy(base, biases)
lora = cr.nn.Sequential(LoRALinear(base[0], biases[0], r0), cr.nn.ReLU(),
                        LoRALinear(base[1], biases[1], r0), cr.nn.ReLU(),
                        LoRALinear(base[2], biases[2], r0))
trainable = sum(p.numel() for p in lora.parameters())
history = cr.train.fit(lora, F.cross_entropy, cr.optim.Adam(lora.parameters(), lr=3e-3),
                       (X_train, y_train), epochs=4 if QUICK else 20, batch_size=32, seed=1,
                       progress=False)
after = accuracy([m.W + m.A @ m.B for m in lora if isinstance(m, LoRALinear)], biases)
print(f"3. LoRA on the frozen rank-{r0} model: test accuracy {before:.4f} -> {after:.4f} after "
      f"fine-tuning A @ B (rank {r0}) only: {trainable} trainable parameters, "
      f"{100 * trainable / full_params:.1f}% of the full model's {full_params}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(np.arange(1, len(history.history["loss"]) + 1), history.history["loss"], "C2o-")
ax.set(xlabel="epoch", ylabel="training cross-entropy",
       title=f"Fine-tuning a rank-{r0} update on frozen weights")
fig.tight_layout()
fig.savefig(OUT / "17_lora_loss.png", dpi=110)
plt.close(fig)
print(f"wrote {OUT}/17_rank_vs_accuracy.png and 17_lora_loss.png")
