"""cr.nn.functional (imported as F): the stateless forms of the layers and losses.

Argument names follow torch.nn.functional (`input`, `dim`, `training`, ...). The losses live
in chainrule.nn.losses and are re-exported here.
"""

import numpy as np

from chainrule import ops as _ops
from chainrule.core import mode as _mode
from chainrule.core.backend import to_host, xp_of
from chainrule.core.tensor import Tensor, from_array
from chainrule.nn.losses import (  # noqa: F401  (re-exported)
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gaussian_nll_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)
from chainrule.ops import nn_ops as _nn_ops
from chainrule.ops.arithmetic import const, to_tensor
from chainrule.ops.compare import DropoutMask
from chainrule.ops.normalization import layer_norm_op as _layer_norm_op

# ---- activations ---------------------------------------------------------------------------


def relu(input, inplace=False):
    """max(x, 0).  (inplace is accepted for PyTorch compatibility; the result is a new tensor.)"""
    return _ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x."""
    return _ops.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha (e^x - 1)."""
    return _ops.elu(input, alpha)


def gelu(input, approximate="none"):
    """x Phi(x) = x/2 (1 + erf(x / sqrt 2)); approximate='tanh' uses the tanh form."""
    return _ops.gelu(input, approximate)


def silu(input, inplace=False):
    """x sigmoid(x) (swish)."""
    input = to_tensor(input)
    return input * _ops.sigmoid(input)


def sigmoid(input):
    """1 / (1 + e^-x)."""
    return _ops.sigmoid(input)


def tanh(input):
    """tanh x."""
    return _ops.tanh(input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (as PyTorch)."""
    input = to_tensor(input)
    y = _ops.softplus(input, beta)
    return _ops.where(input * beta > threshold, input, y)  # the branch is an op: compiles


def sin(input, w0=1.0):
    """sin(w0 x), the SIREN activation."""
    input = to_tensor(input)
    return _ops.sin(input if w0 == 1 else input * w0)


def softmax(input, dim=-1):
    """e^(x_i) / sum_j e^(x_j) along dim (max-shifted, cannot overflow)."""
    return _ops.softmax(input, dim)


def log_softmax(input, dim=-1):
    """x_i - logsumexp(x) along dim."""
    return _ops.log_softmax(input, dim)


# ---- linear, dropout, embedding ------------------------------------------------------------


def linear(input, weight, bias=None):
    """y = x W^T + b with W of shape (out_features, in_features); one graph node."""
    input = to_tensor(input)
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input's last dimension must equal in_features; got input "
                         f"{input.shape} and weight {weight.shape} (out_features, in_features)")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},); got {bias.shape}")
    if input.dtype != weight.dtype:  # torch refuses mixed dtypes too (no silent float64)
        raise TypeError(f"linear: input dtype {input.dtype} differs from weight dtype "
                        f"{weight.dtype}; convert the input (x.to({weight.dtype}), x.float()) "
                        f"or the model (model.to({input.dtype}), model.double())")
    return _nn_ops.linear(input, weight, bias)


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability p must be in [0, 1]; got {p}")
    input = to_tensor(input)
    if not training or p == 0:
        return input
    if p == 1:
        return input * from_array(xp_of(input).zeros((), dtype=input.dtype))
    return input * DropoutMask(p)(input)  # 1/(1-p) where kept, so that E[y] = x


def one_hot(tensor, num_classes=-1):
    """int64 tensor with a trailing axis of num_classes: 1 at each label, 0 elsewhere."""
    labels = tensor if isinstance(tensor, Tensor) else from_array(np.asarray(tensor))
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers; got dtype {labels.dtype}")
    if num_classes == -1:  # (read from the values, as torch: give num_classes to compile it)
        num_classes = int(labels.max().item()) + 1 if labels.numel() else 0
    labels = _nn_ops.check_labels("one_hot", labels, num_classes, None)
    classes = const(np.arange(num_classes), labels)  # (on the labels' device)
    return (labels.unsqueeze(-1) == classes).long()


def embedding(input, weight, padding_idx=None):
    """Rows of weight (num_embeddings, dim) picked by integer indices; padding_idx gets no grad."""
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers; got dtype {idx.dtype}")
    n = weight.shape[0]
    idx = input if isinstance(input, Tensor) else from_array(idx)  # ops on it: compile replays them
    idx = _nn_ops.CheckIndex("embedding", n)(idx)
    rows = weight[idx]
    if padding_idx is None:
        return rows
    at_pad = (idx == padding_idx % n).unsqueeze(-1)  # PyTorch allows a negative padding_idx
    return _ops.where(at_pad, weight.detach()[idx], rows)  # same values, no gradient at padding


# ---- normalization -------------------------------------------------------------------------


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing normalized_shape axes
    (biased variance, as PyTorch)."""
    input = to_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.shape[input.ndim - k:] != shape:
        raise ValueError(f"layer_norm: the input's trailing dimensions must be normalized_shape "
                         f"{shape}; got input shape {input.shape}")
    fused = all(t is None or (t.shape == shape and t.dtype == input.dtype)
                for t in (weight, bias))
    if fused and input.dtype.kind == "f":  # one node forward, one fused pass backward
        return _layer_norm_op(input, k, weight, bias, eps)
    axes = tuple(range(input.ndim - k, input.ndim))
    y = _normalize(input, axes, eps)[0]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _normalize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) with the biased variance; also returns mean and var."""
    mean = x.mean(axes, keepdims=True)
    d = x - mean
    var = (d * d).mean(axes, keepdims=True)
    return d / (var + eps).sqrt(), mean, var


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (axis 1) of (N, C) or (N, C, L) input by batch statistics when
    training (and update the running ones in place), else by running_mean and running_var.

    The batch is normalized with its biased variance; the running estimate takes the unbiased
    one: running = (1 - momentum) running + momentum * batch (PyTorch's convention).
    """
    input = to_tensor(input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C) or (N, C, L); got shape {input.shape}")
    axes = (0,) + tuple(range(2, input.ndim))
    bshape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if training:
        n = input.numel() // input.shape[1]
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training; got input of shape {input.shape}")
        y, mean, var = _normalize(input, axes, eps)
        if running_mean is not None:
            _blend(running_mean, mean, momentum)
        if running_var is not None:
            _blend(running_var, var, momentum, n / (n - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when not "
                             "training")
        # ops on the buffers themselves: a compiled eval step reads their current values
        mean = _stat(running_mean, input).detach().reshape(bshape)
        var = _stat(running_var, input).detach().reshape(bshape)
        if mean.dtype != input.dtype:
            mean, var = mean.astype(input.dtype), var.astype(input.dtype)
        y = (input - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def _blend(running, batch, momentum, scale=1.0):
    """running <- (1 - momentum) running + momentum scale batch, in place (batch: a Tensor)."""
    with _mode.no_grad():
        batch = batch.detach().reshape(-1)
        if scale != 1.0:
            batch = batch * scale
        if isinstance(momentum, Tensor):  # (BatchNorm's cumulative average, momentum=None)
            running.mul_(1 - momentum).add_(batch * momentum)
        elif isinstance(running, Tensor):  # in-place ops: a compiled step replays the update
            running.mul_(1 - momentum).add_(batch, alpha=momentum)
        else:  # an ndarray on the host: the batch statistic copied there
            running *= 1 - momentum
            running += momentum * to_host(batch._data)


def _stat(running, input):
    """A running statistic as a Tensor; an ndarray given with a device input is copied there."""
    if isinstance(running, Tensor) or type(input._data) is np.ndarray:
        return to_tensor(running)
    return const(np.asarray(running), input)

# ---- convolution, pooling, padding and resampling (registered in chainrule.ops) ------------
from chainrule.nn.functional_spatial import dropout2d, group_norm  # noqa: E402, F401
from chainrule.ops.conv import (  # noqa: E402, F401  (re-exported)
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
    fold,
    unfold,
)
from chainrule.ops.pool import (  # noqa: E402, F401  (re-exported)
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from chainrule.ops.resample import interpolate, pad  # noqa: E402, F401  (re-exported)

# ---- attention, RMS normalization, positional encodings (chainrule.nn.functional_attention) -
# isort: split
from chainrule.nn.functional_attention import (  # noqa: E402, F401  (re-exported)
    apply_rotary_pos_emb,
    multi_head_attention_forward,
    rms_norm,
    rotary_embedding,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)
