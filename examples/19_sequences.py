"""Sequences, shown: backpropagation through time vanishes in a vanilla RNN and much less in an
LSTM, the LSTM's gates on a memory task, and RNN vs LSTM accuracy as the memory gets longer.

1. BPTT: the gradient of a loss at the last of 100 steps with respect to the input at step t,
   ||dL/dx_t||, for an Elman RNN (tanh) and an LSTM: the RNN's falls by many orders of magnitude
   back through time (each step multiplies by W_hh^T diag(1 - h^2)), the LSTM's cell path
   multiplies by the forget gate f instead (plotted, log scale).
2. A toy memory task: a sequence whose first symbol (one of K) is followed by L - 1 distractor
   symbols; the answer is the first symbol, read from the last hidden state. RNN and LSTM are
   trained for each length L; accuracy vs L is plotted.
3. The trained LSTM's gates on one sequence, recomputed from its weights (and checked to give
   the layer's own output): the input gate opens at the first step, the forget gate stays
   near 1 to keep the symbol, the output gate decides when to show it.

CHAINRULE_QUICK=1 runs small sizes (a few seconds). Plots go to runs/examples/19_sequences/.
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule import nn  # noqa: E402

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
OUT = "runs/examples/19_sequences"
os.makedirs(OUT, exist_ok=True)

STEPS_BPTT, WIDTH = 100, 32
K, DISTRACT = 4, 4  # symbols to remember; distractor symbols (a separate set)
HIDDEN = 16 if QUICK else 32
LENGTHS = [5, 10] if QUICK else [10, 20, 40, 60, 80]
TRAIN_STEPS = 150 if QUICK else 1000
BATCH, LR, FORGET_BIAS = 64, 3e-3, 3.0


def set_forget_bias(lstm, value):
    """b_f = value (in b_ih; b_hh's forget part zeroed): f = sigma(value) ~ 1 at the start, so
    the cell keeps what it stores (Gers et al. 2000; Jozefowicz et al. 2015 use 1)."""
    H = lstm.hidden_size
    for layer in range(lstm.num_layers):
        for name, v in ((f"bias_ih_l{layer}", value), (f"bias_hh_l{layer}", 0.0)):
            b = getattr(lstm, name).data  # a detached view: writing it changes the parameter
            b[H:2 * H] = v  # gate order i, f, g, o (torch's)


# ---- 1. backpropagation through time ---------------------------------------------------------
x0 = np.random.default_rng(0).standard_normal((STEPS_BPTT, 8, 4))
grad_norms = {}
for label in ("RNN (tanh)", "LSTM", f"LSTM, forget bias {FORGET_BIAS:g}"):
    cr.manual_seed(0)
    model = (nn.RNN if label.startswith("RNN") else nn.LSTM)(4, WIDTH).double()
    if "forget bias" in label:
        set_forget_bias(model, FORGET_BIAS)
    x = cr.tensor(x0, requires_grad=True)
    out, _ = model(x)  # (T, B, H)
    loss = out[-1].sum()  # a loss at the last step only
    loss.backward()
    grad_norms[label] = np.linalg.norm(x.grad.numpy().reshape(STEPS_BPTT, -1), axis=1)
print(f"BPTT over {STEPS_BPTT} steps (hidden {WIDTH}, float64, torch's default init): "
      "||dL/dx_t|| for L at the last step")
for label, g in grad_norms.items():
    print(f"  {label:24s} t = {STEPS_BPTT - 1}: {g[-1]:.3e}   t = {STEPS_BPTT // 2}: "
          f"{g[STEPS_BPTT // 2]:.3e}   t = 0: {g[0]:.3e}")
rnn0, lstm0 = grad_norms["RNN (tanh)"][0], grad_norms["LSTM"][0]
biased0 = grad_norms[f"LSTM, forget bias {FORGET_BIAS:g}"][0]
print(f"at t = 0 the RNN's gradient is {lstm0 / rnn0:.2e} times smaller than the LSTM's "
      f"(forget bias {FORGET_BIAS:g}: {biased0 / rnn0:.2e})")
fig, ax = plt.subplots(figsize=(7, 4))
for label, g in grad_norms.items():
    ax.semilogy(np.arange(STEPS_BPTT), g, label=label)
ax.set_xlabel("input step t")
ax.set_ylabel("||dL/dx_t|| (log scale)")
ax.set_title(f"Backpropagation through time: loss at step {STEPS_BPTT - 1}")
ax.legend()
fig.tight_layout()
fig.savefig(f"{OUT}/bptt_gradients.png", dpi=110)
plt.close(fig)


# ---- 2. the memory task: remember the first symbol -------------------------------------------
def batch(rng, length, n):
    """One-hot sequences (n, length, K + DISTRACT): a symbol in [0, K), then distractors."""
    s = np.concatenate([rng.integers(0, K, (n, 1)),
                        K + rng.integers(0, DISTRACT, (n, length - 1))], 1)
    return cr.tensor(np.eye(K + DISTRACT, dtype=np.float32)[s]), cr.tensor(s[:, 0])


def train(kind, length, seed=0):
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = (nn.RNN if kind == "RNN" else nn.LSTM)(K + DISTRACT, HIDDEN, batch_first=True)
    if kind == "LSTM":
        set_forget_bias(model, FORGET_BIAS)
    head = nn.Linear(HIDDEN, K)
    opt = cr.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=LR)

    def step(x, y):
        opt.zero_grad()
        out, _ = model(x)
        loss = F.cross_entropy(head(out[:, -1]), y)  # read the answer at the last step
        loss.backward()
        opt.step()
        return loss

    step = cr.compile(step)  # a fixed-length step: traced twice, then replayed
    losses = [step(*batch(rng, length, BATCH)).item() for _ in range(TRAIN_STEPS)]
    x, y = batch(np.random.default_rng(10_000 + length), length, 1000)
    with cr.no_grad():
        out, _ = model(x)
        accuracy = float((head(out[:, -1]).numpy().argmax(1) == y.numpy()).mean())
    return model, head, losses, accuracy


print()
print(f"memory task: remember the first of L symbols ({K} symbols, then L - 1 of {DISTRACT} "
      f"distractors; chance {1 / K:.2f}); hidden {HIDDEN}, {TRAIN_STEPS} Adam steps "
      f"(lr {LR:g}, batch {BATCH}), LSTM forget bias {FORGET_BIAS:g}; test accuracy on 1000")
print(f"{'L':>4s} {'RNN':>6s} {'LSTM':>6s}   loss first 20 -> last 20 steps (RNN; LSTM)")
results, models = {"RNN": [], "LSTM": []}, {}
for length in LENGTHS:
    row = []
    for kind in ("RNN", "LSTM"):
        model, head, losses, acc = train(kind, length)
        results[kind].append(acc)
        models[kind, length] = (model, head)
        row.append((acc, np.mean(losses[:20]), np.mean(losses[-20:])))
    (ar, r0, r1), (al, l0, l1) = row
    print(f"{length:4d} {ar:6.3f} {al:6.3f}   {r0:.3f} -> {r1:.3f}; {l0:.3f} -> {l1:.3f}")
fig, ax = plt.subplots(figsize=(6, 4))
for kind, accs in results.items():
    ax.plot(LENGTHS, accs, "o-", label=kind)
ax.axhline(1 / K, color="gray", ls=":", label="chance")
ax.set_xlabel("sequence length L")
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1.05)
ax.set_title("Remember the first symbol: RNN vs LSTM")
ax.legend()
fig.tight_layout()
fig.savefig(f"{OUT}/memory_accuracy.png", dpi=110)
plt.close(fig)

# ---- 3. the LSTM's gates on one sequence -----------------------------------------------------
solved = [n for n, a in zip(LENGTHS, results["LSTM"]) if a > 0.9]
length = max(solved) if solved else LENGTHS[-1]
lstm, head = models["LSTM", length]
x, y = batch(np.random.default_rng(5), length, 1)
H = HIDDEN
W_ih, W_hh = lstm.weight_ih_l0.numpy(), lstm.weight_hh_l0.numpy()
b = lstm.bias_ih_l0.numpy() + lstm.bias_hh_l0.numpy()
h, c, gates, sig = np.zeros(H), np.zeros(H), [], lambda a: 1 / (1 + np.exp(-a))
hs = []
for t in range(length):  # the cell equations, by hand, with torch's gate order i, f, g, o
    a = W_ih @ x.numpy()[0, t] + W_hh @ h + b
    i, f, g, o = sig(a[:H]), sig(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), sig(a[3 * H:])
    c = f * c + i * g
    h = o * np.tanh(c)
    gates.append((i, f, o, c))
    hs.append(h)
with cr.no_grad():
    layer_out = lstm(x)[0].numpy()[0]
print()
print(f"LSTM gates at L = {length} (its longest solved length), recomputed from its weights: "
      f"max |h - layer output| = {np.abs(np.array(hs) - layer_out).max():.1e}")
i_gate = np.array([gt[0] for gt in gates])
f_gate = np.array([gt[1] for gt in gates])
o_gate = np.array([gt[2] for gt in gates])
cells = np.array([gt[3] for gt in gates])
print(f"  input gate, mean over units: step 0 {i_gate[0].mean():.3f}, later steps "
      f"{i_gate[1:].mean():.3f}")
print(f"  forget gate, mean over units and steps 1..{length - 1}: {f_gate[1:].mean():.3f} "
      f"(product over the sequence, median unit: {np.median(np.prod(f_gate[1:], 0)):.3f})")
print(f"  the answer: symbol {int(y.item())}, predicted "
      f"{int(head(cr.tensor(hs[-1].astype(np.float32))).numpy().argmax())}")
fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
for name, v in (("input gate i", i_gate), ("forget gate f", f_gate), ("output gate o", o_gate)):
    axes[0].plot(v.mean(1), label=f"{name} (mean over units)")
axes[0].set_ylabel("gate value")
axes[0].set_ylim(0, 1.05)
axes[0].legend(loc="lower right")
axes[0].set_title(f"LSTM gates on one sequence of the memory task (L = {length}, symbol "
                  f"{int(y.item())})")
im = axes[1].imshow(cells.T, aspect="auto", cmap="coolwarm", interpolation="nearest")
axes[1].set_xlabel("step t")
axes[1].set_ylabel("cell unit")
axes[1].set_title("cell state c_t per unit")
fig.colorbar(im, ax=axes, shrink=0.6)
fig.savefig(f"{OUT}/lstm_gates.png", dpi=110)
plt.close(fig)
print(f"plots: {OUT}/bptt_gradients.png, memory_accuracy.png, lstm_gates.png")
