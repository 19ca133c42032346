"""Dropout: a regulariser that zeroes random activations while training."""

from chainrule.nn import functional as F
from chainrule.nn.module import Module


class Dropout(Module):
    """Inverted dropout: in training, y = x m / (1 - p) with m ~ Bernoulli(1 - p) drawn from
    chainrule's generator, so E[y] = x; in eval mode y = x."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability p must be in [0, 1]; got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
