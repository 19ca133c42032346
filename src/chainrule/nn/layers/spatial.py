"""Layers for images and feature maps: BatchNorm2d, GroupNorm, Dropout2d, Upsample, Unflatten."""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor
from chainrule.nn import functional as F
from chainrule.nn.functional_spatial import dropout2d, group_norm
from chainrule.nn.layers.normalization import BatchNorm1d
from chainrule.nn.module import Module, Parameter
from chainrule.ops.arithmetic import to_tensor


class BatchNorm2d(BatchNorm1d):
    """Batch normalization of (N, C, H, W) per channel c over N, H and W:
    y = gamma_c (x - mean_c) / sqrt(var_c + eps) + beta_c (running statistics as BatchNorm1d)."""

    def forward(self, input):
        shape = getattr(input, "shape", np.shape(input))
        if len(shape) != 4 or shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: expected input of shape (N, {self.num_features}, H, "
                             f"W); got {tuple(shape)}")
        return _batch_norm(self, input)


def _batch_norm(bn, input):
    """BatchNorm1d.forward's arithmetic, for any (N, C, ...) input (its checks done already)."""
    factor = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:
            factor = 1.0 / bn.num_batches_tracked.astype(bn.running_mean.dtype)
    use_batch = bn.training or bn.running_mean is None
    track = not bn.training or bn.track_running_stats
    return F.batch_norm(input, bn.running_mean if track else None,
                        bn.running_var if track else None, bn.weight, bn.bias, use_batch,
                        factor, bn.eps)


class GroupNorm(Module):
    """Group normalization (Wu and He 2018): per sample, channels in num_groups groups are
    normalized together; affine weight (1s) and bias (0s) per channel."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups={num_groups} must divide "
                             f"num_channels={num_channels}")
        self.num_groups, self.num_channels, self.eps, self.affine = \
            num_groups, num_channels, eps, affine
        dtype = _mode.state.default_dtype
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            self.bias = Parameter(np.zeros(num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        shape = getattr(input, "shape", np.shape(input))
        if len(shape) < 2 or shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input of shape (N, {self.num_channels}, ...); "
                             f"got {tuple(shape)}")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class Dropout2d(Module):
    """Channel dropout: in training each (sample, channel) map is zeroed with probability p and
    the rest scaled by 1/(1-p); identity in eval mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout2d: probability p must be in [0, 1]; got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return dropout2d(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Upsample(Module):
    """Resize feature maps by size or scale_factor (F.interpolate: nearest, linear, bilinear)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else \
            f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class Unflatten(Module):
    """Split dimension dim into unflattened_size: (N, 64) -> (N, 1, 8, 8) with (1, 8, 8)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        x = input if isinstance(input, Tensor) else to_tensor(input)
        dim = self.dim % x.ndim
        n = int(np.prod([s for s in self.unflattened_size if s != -1]))
        known = -1 not in self.unflattened_size
        if (known and n != x.shape[dim]) or (not known and (n == 0 or x.shape[dim] % n)):
            raise ValueError(f"Unflatten: dimension {self.dim} of size {x.shape[dim]} cannot be "
                             f"split into {self.unflattened_size}; input shape "
                             f"{tuple(x.shape)}")
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
