"""W7, one training step of a causal 2-layer Transformer encoder language model: the workload's
model, initial weights and data, shared by every peer (the same float32 arrays from fixed
seeds, so the losses agree before anything is timed).

  tokens (16, 32) from a vocabulary of 64 -> Embedding 64 + the sinusoidal positions ->
  2 x TransformerEncoderLayer(d_model 64, 4 heads, dim_feedforward 256, dropout 0, relu,
  post-norm, batch_first) with the causal mask -> Linear 64 -> cross-entropy of the next
  token over all 16 x 32 positions; Adam (lr 1e-3)
"""

import zlib

import numpy as np

VOCAB, D_MODEL, HEADS, FF, LAYERS, SEQ, BATCH = 64, 64, 4, 256, 2, 32, 16


def initial_value(name, shape):
    """The shared float32 start of parameter `name` (torch's state_dict names): LayerNorm
    weight 1 and bias 0, other biases and weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the
    embedding N(0, 1); seeded by the name."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if "norm" in name:
        return (np.ones if name.endswith("weight") else np.zeros)(shape, dtype=np.float32)
    if name.startswith("embed"):
        return rng.standard_normal(shape, dtype=np.float32)
    fan_in = shape[-1] if len(shape) > 1 else D_MODEL
    bound = 1 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def positions():
    """(SEQ, D_MODEL) float32 sinusoidal table PE(pos, 2i) = sin(pos / 10000^(2i/d)), ..."""
    pos = np.arange(SEQ)[:, None]
    freq = 10000.0 ** (-np.arange(0, D_MODEL, 2) / D_MODEL)
    pe = np.zeros((SEQ, D_MODEL))
    pe[:, 0::2], pe[:, 1::2] = np.sin(pos * freq), np.cos(pos * freq)
    return pe.astype(np.float32)


def causal_mask():
    """(SEQ, SEQ) float32: 0 on and below the diagonal, -inf above."""
    return np.triu(np.full((SEQ, SEQ), -np.inf, dtype=np.float32), 1)


def w7_data(batch=BATCH, seed=7):
    """(input tokens (batch, SEQ), next tokens flattened (batch * SEQ,)), int64."""
    tokens = np.random.default_rng(seed).integers(0, VOCAB, (batch, SEQ + 1))
    return tokens[:, :-1].copy(), tokens[:, 1:].reshape(-1).copy()


def language_model(nn, tensor):
    """The W7 model from a PyTorch-style `nn` namespace (torch.nn or cr.nn); `tensor` makes
    the library's constant tensors (the positions and the causal mask)."""

    class CausalLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, D_MODEL)
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0,
                                               batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = nn.Linear(D_MODEL, VOCAB)
            self.pe, self.mask = tensor(positions()), tensor(causal_mask())

        def forward(self, x):
            h = self.embed(x) + self.pe
            h = self.encoder(h, mask=self.mask, is_causal=True)
            return self.head(h).reshape(-1, VOCAB)

    model = CausalLM()
    for name, p in model.named_parameters():
        p.data[...] = tensor(initial_value(name, tuple(p.shape)))
    return model
