"""Sequences, shown: backpropagation through time vanishes in a vanilla RNN and much less in an
LSTM, the LSTM's gates on a memory task, and RNN vs LSTM accuracy as the memory gets longer.

1. BPTT: the gradient of a loss at the last of 100 steps with respect to the input at step t,
   ||dL/dx_t||, for an Elman RNN (tanh) and an LSTM: the RNN's falls by many orders of magnitude
   back through time (each step multiplies by W_hh^T diag(1 - h^2)), the LSTM's cell path
   multiplies by the forget gate f instead (plotted, log scale).
2. A toy memory task: a sequence whose first symbol (one of K) is followed by L - 1 distractor
   symbols; the answer is the first symbol, read from the last hidden state. RNN and LSTM are
   trained for each length L; accuracy vs L is plotted.
3. The trained LSTM's gates, recomputed by hand from its weights (and checked to give the
   layer's own output), on K sequences that differ only in their first symbol: how much the
   state still depends on that symbol, step by step, for the LSTM's cell (kept: its forget
   gates are near 1) and for the RNN's hidden state (forgotten), and the forget gates of the
   units that carry it.

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

# ---- 3. the LSTM's gates, and where the first symbol is kept ---------------------------------
# K sequences with the same distractors that differ only in their first symbol: the spread of a
# state over the K runs is what the state still knows about that symbol
solved = [n for n, a in zip(LENGTHS, results["LSTM"]) if a > 0.9]
length = max(solved) if solved else LENGTHS[-1]
lstm, head = models["LSTM", length]
rnn, rnn_head = models["RNN", length]
x, _ = batch(np.random.default_rng(5), length, 1)
seqs = np.repeat(x.numpy(), K, 0)
seqs[:, 0] = np.eye(K + DISTRACT, dtype=np.float32)[:K]  # first symbol 0, 1, ..., K - 1
H = HIDDEN
W_ih, W_hh = lstm.weight_ih_l0.numpy(), lstm.weight_hh_l0.numpy()
b = lstm.bias_ih_l0.numpy() + lstm.bias_hh_l0.numpy()
h, c, sig = np.zeros((K, H)), np.zeros((K, H)), lambda a: 1 / (1 + np.exp(-a))
i_gate, f_gate, o_gate, cells, hs = [], [], [], [], []
for t in range(length):  # the cell equations, by hand, with torch's gate order i, f, g, o
    a = seqs[:, t] @ W_ih.T + h @ W_hh.T + b
    i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
    c = f * c + i * g
    h = o * np.tanh(c)
    for store, v in ((i_gate, i), (f_gate, f), (o_gate, o), (cells, c), (hs, h)):
        store.append(v)
i_gate, f_gate, o_gate, cells, hs = map(np.array, (i_gate, f_gate, o_gate, cells, hs))  # (L, K, H)
with cr.no_grad():
    layer_out = lstm(cr.tensor(seqs))[0].numpy().transpose(1, 0, 2)
    rnn_out = rnn(cr.tensor(seqs))[0].numpy().transpose(1, 0, 2)
    answers = head(cr.tensor(hs[-1].astype(np.float32))).numpy().argmax(1)
    rnn_answers = rnn_head(rnn(cr.tensor(seqs))[0][:, -1]).numpy().argmax(1)


def spread(states):
    """||std over the K runs||, per step: how much the state depends on the first symbol."""
    return np.linalg.norm(states.std(1), axis=1)


print()
print(f"LSTM gates at L = {length} (its longest solved length), recomputed from its weights: "
      f"max |h - layer output| = {np.abs(hs - layer_out).max():.1e}")
print(f"{K} sequences that differ only in the first symbol: answers LSTM {answers.tolist()}, "
      f"RNN {rnn_answers.tolist()} (right: {list(range(K))})")
keep = np.argsort(cells[-1].std(0))[-4:]  # the units that carry the symbol at the end
print(f"spread of the state over the {K} first symbols, step 0 -> {length - 1}: "
      f"LSTM cell c {spread(cells)[0]:.3f} -> {spread(cells)[-1]:.3f}, "
      f"LSTM h {spread(hs)[0]:.3f} -> {spread(hs)[-1]:.3f}, "
      f"RNN h {spread(rnn_out)[0]:.3f} -> {spread(rnn_out)[-1]:.2e}")
print(f"  input gate at step 0 (mean over units) {i_gate[0].mean():.3f}; forget gate over steps "
      f"1..{length - 1}: all units {f_gate[1:].mean():.3f}, the 4 units that carry the symbol "
      f"{f_gate[1:, :, keep].mean():.4f}")
fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
for name, v in (("input gate i", i_gate), ("forget gate f", f_gate), ("output gate o", o_gate)):
    axes[0].plot(v.mean((1, 2)), label=f"{name} (mean over units)")
axes[0].plot(f_gate[:, :, keep].mean((1, 2)), "--", label="forget gate of the 4 units that "
             "carry the symbol")
axes[0].set_ylabel("gate value")
axes[0].set_ylim(0, 1.05)
axes[0].legend(loc="lower right", fontsize=8)
axes[0].set_title(f"Trained LSTM on the memory task (L = {length})")
for label, states in (("LSTM cell c_t", cells), ("LSTM h_t", hs), ("RNN h_t", rnn_out)):
    axes[1].semilogy(spread(states) + 1e-12, label=label)
axes[1].set_xlabel("step t")
axes[1].set_ylabel(f"spread over the {K} first symbols")
axes[1].set_title("What the state still knows about the first symbol")
axes[1].legend(fontsize=8)
fig.tight_layout()
fig.savefig(f"{OUT}/lstm_gates.png", dpi=110)
plt.close(fig)
print(f"plots: {OUT}/bptt_gradients.png, memory_accuracy.png, lstm_gates.png")
