"""Activation modules: the nonlinearities that keep stacked layers from collapsing into one
linear map (one hyperplane). Each wraps the function of the same name in cr.nn.functional."""

from chainrule.nn import functional as F
from chainrule.nn.module import Module


class ReLU(Module):
    """max(x, 0);  derivative 1 for x > 0, else 0."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x if x > 0 else alpha (e^x - 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GELU(Module):
    """x Phi(x) via erf; approximate='tanh': x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh'; got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x sigmoid(x)."""

    def forward(self, input):
        return F.silu(input)


class Sigmoid(Module):
    """1 / (1 + e^-x);  derivative s (1 - s)."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """tanh x;  derivative 1 - tanh^2 x."""

    def forward(self, input):
        return F.tanh(input)


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, linear above threshold;  derivative sigmoid(beta x)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """e^(x_i) / sum_j e^(x_j) along dim (default -1; PyTorch's implicit-dim legacy is not kept)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x_i - logsumexp(x) along dim (default -1)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, input):
        return F.log_softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Sin(Module):
    """sin(w0 x), the SIREN activation; pair it with Linear layers initialised by
    init.siren_uniform_ (or use SineLayer, which does both, with w0 = 30)."""

    def __init__(self, w0=1.0):
        super().__init__()
        self.w0 = w0

    def forward(self, input):
        return F.sin(input, self.w0)

    def extra_repr(self):
        return f"w0={self.w0}"
