"""The functional forms of the image layers, re-exported by chainrule.nn.functional:
group_norm and dropout2d."""

import numpy as np

from chainrule.core.backend import xp_of
from chainrule.core.tensor import from_array
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.compare import DropoutMask


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each sample's channels in num_groups groups: (x - mean_g) / sqrt(var_g + eps)
    over the group's channels and positions (biased variance), then weight_c x + bias_c."""
    x = to_tensor(input)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: num_groups={num_groups} must divide the channels of an "
                         f"(N, C, ...) input; got shape {tuple(x.shape)}")
    n, c = x.shape[:2]
    grouped = x.reshape(n, num_groups, -1)
    mean = grouped.mean(2, keepdim=True)
    d = grouped - mean
    var = (d * d).mean(2, keepdim=True)
    y = (d / (var + eps).sqrt()).reshape(x.shape)
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) with probability p and scale the kept ones by
    1/(1-p); a 3-D input is (N, C, L), channels of 1-D maps (as torch 2.x does, with a warning
    that it may change)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: probability p must be in [0, 1]; got {p}")
    x = to_tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input; got "
                         f"shape {tuple(x.shape)}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * from_array(xp_of(x).zeros((), dtype=x.dtype))
    # the mask is drawn per channel: an op on a constant of that shape, so compile replays it
    shape = from_array(np.broadcast_to(xp_of(x).zeros((), dtype=x.dtype),
                                       x.shape[:2] + (1,) * (x.ndim - 2)))
    return x * DropoutMask(p)(shape)
