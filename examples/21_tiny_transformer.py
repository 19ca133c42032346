"""A tiny causal Transformer language model, character level, trained on text that ships with
Python itself (the Zen of Python from the `this` module, decoded, and the standard library's
docstrings: no download). It prints the character unigram entropy (the loss of the best model
that ignores context), the train/validation cross-entropy and perplexity per epoch, samples
text, and plots the loss curves and the attention maps of both layers.

Claim (default size): the validation cross-entropy ends at most 0.75x the unigram entropy,
both in nats: the model uses its context.
"""

import codecs
import contextlib
import importlib
import io
import math
import os
import time
import warnings

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

quick = bool(os.environ.get("CHAINRULE_QUICK"))
out = "runs/examples/21_tiny_transformer"
os.makedirs(out, exist_ok=True)
cr.manual_seed(0)
rng = np.random.default_rng(0)

# ---- the text: the Zen of Python and stdlib docstrings ---------------------------------------
with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
    import this
zen = codecs.decode(this.s, "rot13")
MODULES = ["os", "re", "json", "collections", "functools", "itertools", "string", "textwrap",
           "argparse", "pathlib", "typing", "dataclasses", "inspect", "random", "statistics",
           "heapq", "bisect", "enum", "abc", "contextlib", "copy", "csv", "logging", "shutil",
           "tempfile", "fractions", "decimal", "datetime", "calendar", "difflib", "pprint",
           "glob", "fnmatch", "zipfile", "tarfile", "gzip", "base64", "hashlib", "hmac",
           "secrets", "uuid", "urllib.parse", "http.client", "email.message", "html", "socket",
           "threading", "queue", "subprocess", "unittest", "doctest", "pdb", "timeit",
           "traceback", "warnings", "weakref", "operator", "numbers", "io", "codecs", "locale",
           "gettext", "struct", "array", "sched", "selectors", "signal", "mmap", "ast", "dis",
           "tokenize", "keyword", "pickle", "shelve", "sqlite3", "configparser", "optparse"]
docs = [zen]
for name in MODULES:
    try:
        mod = importlib.import_module(name)
    except ImportError:
        continue
    docs.append(mod.__doc__ or "")
    for attr in sorted(vars(mod)):
        with warnings.catch_warnings():  # (typing.io and the like warn when touched)
            warnings.simplefilter("ignore")
            obj = getattr(mod, attr, None)
            doc = getattr(obj, "__doc__", None)
        if not attr.startswith("_") and isinstance(doc, str) and \
                getattr(obj, "__module__", None) == mod.__name__:
            docs.append(doc)
text = "\n\n".join(d.strip() for d in docs if d and d.strip())
text = "".join(c for c in text if c == "\n" or 32 <= ord(c) < 127)  # printable ASCII
limit = 60_000 if quick else 600_000
text = text[:limit]
chars = sorted(set(text))
vocab = len(chars)
index = {c: i for i, c in enumerate(chars)}
data = np.array([index[c] for c in text], dtype=np.int64)
split = int(0.9 * len(data))
train_data, val_data = data[:split], data[split:]
counts = np.bincount(train_data, minlength=vocab).astype(np.float64)
p_uni = counts / counts.sum()
unigram = float(-(p_uni[p_uni > 0] * np.log(p_uni[p_uni > 0])).sum())
print(f"text: {len(text)} characters ({len(train_data)} train, {len(val_data)} validation), "
      f"vocabulary {vocab}, from `this` and {len(MODULES)} stdlib modules' docstrings")
print(f"character unigram entropy H = {unigram:.3f} nats (the cross-entropy of the best "
      "context-free model)")

# ---- the model -------------------------------------------------------------------------------
T = 32 if quick else 64
D, HEADS, FF, LAYERS = (32, 2, 64, 2) if quick else (96, 4, 256, 3)
BATCH = 16 if quick else 32
EPOCHS, STEPS = (3, 25) if quick else (3, 300)


class CharLM(cr.nn.Module):
    """Embedding + sinusoidal positions -> causal pre-norm TransformerEncoder -> Linear."""

    def __init__(self):
        super().__init__()
        self.embed = cr.nn.Embedding(vocab, D)
        self.pos = cr.nn.SinusoidalPositionalEncoding(D, max_len=T)
        layer = cr.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, batch_first=True,
                                              norm_first=True, activation="gelu")
        self.encoder = cr.nn.TransformerEncoder(layer, LAYERS, norm=cr.nn.LayerNorm(D))
        self.head = cr.nn.Linear(D, vocab)
        self.mask = cr.nn.Transformer.generate_square_subsequent_mask(T)

    def forward(self, x):
        t = x.shape[1]
        h = self.pos(self.embed(x))  # N(0, 1) embeddings: the scale of PE
        h = self.encoder(h, mask=self.mask[:t, :t], is_causal=True)
        return self.head(h)


model = CharLM()
n_params = sum(p.numel() for p in model.parameters())
print(f"model: {LAYERS} pre-norm layers, d_model {D}, {HEADS} heads, feed-forward {FF}, context "
      f"{T}: {n_params} parameters")
opt = cr.optim.Adam(model.parameters(), lr=2e-3)
sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS * STEPS)


def batch_of(source, n, generator):
    starts = generator.integers(0, len(source) - T - 1, n)
    x = np.stack([source[s:s + T] for s in starts])
    y = np.stack([source[s + 1:s + T + 1] for s in starts])
    return cr.tensor(x), cr.tensor(y.reshape(-1))


def loss_of(x, y):
    return F.cross_entropy(model(x).reshape(-1, vocab), y)


def step(x, y):
    opt.zero_grad()
    loss = loss_of(x, y)
    loss.backward()
    opt.step()
    return loss


val_rng = np.random.default_rng(1)
val_batches = [batch_of(val_data, 64, val_rng) for _ in range(2 if quick else 8)]


def validation():
    with cr.no_grad():
        return float(np.mean([loss_of(x, y).item() for x, y in val_batches]))


history = []
print(f"{'epoch':>5} {'train CE':>9} {'val CE':>8} {'val ppl':>8} {'val/H':>6} {'s':>5}")
t0 = time.time()
for epoch in range(1, EPOCHS + 1):
    losses = []
    for _ in range(STEPS):
        losses.append(step(*batch_of(train_data, BATCH, rng)).item())
        sched.step()
    train, val = float(np.mean(losses)), validation()
    history.append((epoch, train, val))
    print(f"{epoch:>5} {train:>9.3f} {val:>8.3f} {math.exp(val):>8.2f} {val / unigram:>6.2f} "
          f"{time.time() - t0:>5.0f}", flush=True)
final = history[-1][2]
print(f"final validation cross-entropy {final:.3f} nats = {final / unigram:.2f} x the unigram "
      f"entropy {unigram:.3f} nats (claim at the default size: <= 0.75x: "
      f"{final <= 0.75 * unigram})")
print(f"train loss decreased every epoch: "
      f"{all(b[1] < a[1] for a, b in zip(history, history[1:]))}; validation loss decreased "
      f"from first to last epoch: {history[-1][2] < history[0][2]}")

# ---- sampling ----------------------------------------------------------------------------------
prompt = "Beautiful is better than"
ids = [index[c] for c in prompt]
sample_rng = np.random.default_rng(2)
with cr.no_grad():
    for _ in range(80 if quick else 300):
        ctx = cr.tensor(np.array([ids[-T:]]))
        logits = model(ctx)[0, -1].numpy().astype(np.float64) / 0.8  # temperature 0.8
        p = np.exp(logits - logits.max())
        ids.append(int(sample_rng.choice(vocab, p=p / p.sum())))
print("sample (temperature 0.8):")
print("".join(chars[i] for i in ids))

# ---- attention maps ----------------------------------------------------------------------------
snippet = zen[:T]
x = cr.tensor(np.array([[index.get(c, 0) for c in snippet]]))
maps = []
with cr.no_grad():
    h = model.pos(model.embed(x))
    for layer in model.encoder.layers:
        a = layer.norm1(h)
        _, w = layer.self_attn(a, a, a, attn_mask=model.mask, need_weights=True,
                               average_attn_weights=False)
        maps.append(w.numpy()[0])
        h = layer(h, src_mask=model.mask, is_causal=True)
upper = max(float(np.abs(np.triu(m, 1)).max()) for mp in maps for m in mp)
print(f"attention above the diagonal (the future) is {upper:.1e}: the mask holds")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(6, 4))
ep = [h[0] for h in history]
ax.plot(ep, [h[1] for h in history], "o-", label="train")
ax.plot(ep, [h[2] for h in history], "s-", label="validation")
ax.axhline(unigram, color="gray", ls="--", label=f"unigram entropy {unigram:.2f}")
ax.axhline(0.75 * unigram, color="gray", ls=":", label="0.75 x unigram")
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy (nats/char)")
ax.set_title("tiny character Transformer on Python's own text")
ax.legend()
fig.tight_layout()
fig.savefig(f"{out}/loss.png", dpi=100)
plt.close(fig)

heads = maps[0].shape[0]
fig, axes = plt.subplots(len(maps), heads, figsize=(2.6 * heads, 2.6 * len(maps)),
                         squeeze=False)
for li, mp in enumerate(maps):
    for hi in range(heads):
        ax = axes[li, hi]
        ax.imshow(mp[hi], cmap="viridis", vmin=0)
        ax.set_title(f"layer {li}, head {hi}", fontsize=8)
        ax.set_xlabel("key position", fontsize=7)
        ax.set_ylabel("query position", fontsize=7)
        ax.tick_params(labelsize=6)
fig.suptitle(f"attention on {snippet[:24]!r}...", fontsize=9)
fig.tight_layout()
fig.savefig(f"{out}/attention_maps.png", dpi=100)
plt.close(fig)
print(f"plots: {out}/loss.png, {out}/attention_maps.png")
