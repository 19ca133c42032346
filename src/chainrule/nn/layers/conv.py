"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, with PyTorch's
arguments, weight layouts ((out, in/groups, *k); transposed: (in, out/groups, *k)),
initialisation and state_dict names."""

import math

import numpy as np

from chainrule.core import mode as _mode
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter
from chainrule.ops.conv import _ints

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared by the convolutions: checks, parameters and torch's initialisation."""

    nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, output_padding=0):
        super().__init__()
        name, nd = type(self).__name__, self.nd
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError(f"{name}: {what} must be a positive int; got {n!r}")
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive int; got {groups!r}")
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if n % groups:
                raise ValueError(f"{name}: groups={groups} must divide {what}={n}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}; got "
                             f"{padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self.transposed:
                raise ValueError(f"{name}: padding must be an int, a tuple of {nd} ints"
                                 f"{'' if self.transposed else ', same or valid'}; got "
                                 f"{padding!r}")
            if padding == "same" and any(s != 1 for s in _ints(name, "stride", stride, nd)):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions; got stride {stride}")
            self.padding = padding
        else:
            self.padding = _ints(name, "padding", padding, nd, low=0)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ints(name, "kernel_size", kernel_size, nd)
        self.stride = _ints(name, "stride", stride, nd)
        self.dilation = _ints(name, "dilation", dilation, nd)
        self.output_padding = _ints(name, "output_padding", output_padding, nd, low=0)
        self.padding_mode = padding_mode
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported; got "
                             f"{padding_mode!r}")
        shape = (in_channels, out_channels // groups) if self.transposed else \
            (out_channels, in_channels // groups)
        dtype = _mode.state.default_dtype
        self.weight = Parameter(np.empty(shape + self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """W ~ kaiming_uniform(a=sqrt 5), b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (as PyTorch)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _padded(self, input):
        """(input, padding) with a non-zeros padding_mode applied by F.pad first."""
        if self.padding_mode == "zeros":
            return input, self.padding
        if self.padding == "valid":
            return input, 0
        if self.padding == "same":
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in total]
        else:
            pairs = [(p, p) for p in self.padding]
        pad = tuple(v for lo_hi in reversed(pairs) for v in lo_hi)
        return F.pad(input, pad, mode=self.padding_mode), 0

    def _output_padding(self, input, output_size):
        """output_padding, or the one that makes the output output_size (as torch: each size
        between the smallest output and that plus stride - 1)."""
        if output_size is None:
            return self.output_padding
        nd, name = self.nd, type(self).__name__
        size = tuple(output_size)[-nd:]
        spatial = tuple(input.shape[-nd:])
        out = []
        for a in range(nd):
            low = ((spatial[a] - 1) * self.stride[a] - 2 * self.padding[a]
                   + self.dilation[a] * (self.kernel_size[a] - 1) + 1)
            if len(size) != nd or not low <= size[a] <= low + self.stride[a] - 1:
                raise ValueError(f"{name}: output_size {tuple(output_size)} is not reachable "
                                 f"from input of shape {tuple(input.shape)}: each size must be "
                                 f"between the smallest output and that plus stride - 1")
            out.append(size[a] - low)
        return tuple(out)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self.nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """y[n,o,l] = b_o + sum_{c,i} W[o,c,i] x_pad[n, c, l s + i d]; W (out, in/groups, k)."""

    nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)

    def forward(self, input):
        x, padding = self._padded(input)
        return F.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class Conv2d(_ConvNd):
    """y[n,o,h,w] = b_o + sum_{c,i,j} W[o,c,i,j] x_pad[n, c, h s + i d, w s + j d];
    W (out, in/groups, kh, kw), initialised as PyTorch (kaiming_uniform, a = sqrt 5)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)

    def forward(self, input):
        x, padding = self._padded(input)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class ConvTranspose1d(_ConvNd):
    """The adjoint of Conv1d in its input (an upsampling layer); W (in, out/groups, k)."""

    nd, transposed = 1, True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding)

    def forward(self, input, output_size=None):
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose2d(_ConvNd):
    """The adjoint of Conv2d in its input (an upsampling layer); W (in, out/groups, kh, kw)."""

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding)

    def forward(self, input, output_size=None):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)
