"""Affine layers: Linear (x W^T + b), SineLayer (SIREN, sin(w0 (x W^T + b))), Identity, Flatten."""

import math

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter


def _empty(*shape):
    import numpy as np

    return np.empty(shape, dtype=_mode.state.default_dtype)


class Identity(Module):
    """y = x (accepts and ignores any constructor arguments, as PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features).

    Initialised as PyTorch: W by kaiming_uniform_(a=sqrt 5), i.e. U(-1/sqrt(in), 1/sqrt(in)),
    and b ~ U(-1/sqrt(in), 1/sqrt(in)); parameters take the default dtype (float32).
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ValueError(f"Linear: {name} must be a non-negative integer; got {n!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_empty(out_features, in_features))
        self.bias = Parameter(_empty(out_features)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Redraw W ~ kaiming_uniform(a=sqrt 5) and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class SineLayer(Linear):
    """SIREN layer y = sin(w0 (x W^T + b)) (Sitzmann et al. 2020), with W initialised
    U(-1/in, 1/in) for the first layer and U(-sqrt(6/in)/w0, sqrt(6/in)/w0) otherwise;
    b keeps Linear's default. w0 = 30 as in the paper."""

    def __init__(self, in_features, out_features, bias=True, is_first=False, w0=30.0):
        self.is_first, self.w0 = is_first, w0
        super().__init__(in_features, out_features, bias)

    def reset_parameters(self):
        super().reset_parameters()
        init.siren_uniform_(self.weight, w0=self.w0, is_first=self.is_first)

    def forward(self, input):
        return F.sin(F.linear(input, self.weight, self.bias), self.w0)

    def extra_repr(self):
        return super().extra_repr() + f", is_first={self.is_first}, w0={self.w0}"


class Flatten(Module):
    """Merge axes start_dim..end_dim into one (default: all but the batch axis)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        if not isinstance(input, Tensor):
            input = Tensor(input)
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
