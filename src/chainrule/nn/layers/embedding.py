"""Embedding: a lookup table of learned vectors, one row per token id."""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter


class Embedding(Module):
    """y[...] = W[idx[...]], W of shape (num_embeddings, embedding_dim) ~ N(0, 1); the row at
    padding_idx starts at zero and receives no gradient (as PyTorch)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, _weight=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                 f"{num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim),
                                             dtype=_mode.state.default_dtype))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight must have shape ({num_embeddings}, "
                                 f"{embedding_dim}); got {tuple(_weight.shape)}")
            self.weight = Parameter(_weight)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding whose weight is a copy of `embeddings` (frozen by default)."""
        data = np.array(getattr(embeddings, "_data", embeddings))
        m = cls(data.shape[0], data.shape[1], padding_idx, _weight=data)
        m.weight.requires_grad_(not freeze)
        return m

    def reset_parameters(self):
        """W ~ N(0, 1), padding row zeroed."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
