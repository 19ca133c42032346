"""cr.nn: modules, layers, losses, initialisation and utilities with PyTorch's semantics.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> model = cr.nn.Sequential(cr.nn.Linear(2, 4), cr.nn.Sigmoid(), cr.nn.Linear(4, 1))
    >>> model(cr.zeros(3, 2)).shape
    (3, 1)
"""

from chainrule.nn import functional, init, penalties, utils
from chainrule.nn.layers import (
    ELU,
    GELU,
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    HuberLoss,
    Identity,
    KLDivLoss,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleDict,
    ModuleList,
    MSELoss,
    NLLLoss,
    ReLU,
    Sequential,
    Sigmoid,
    SiLU,
    Sin,
    SineLayer,
    SmoothL1Loss,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.nn.layers.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from chainrule.nn.layers.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from chainrule.nn.layers.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from chainrule.nn.layers.spatial import BatchNorm2d, Dropout2d, GroupNorm, Unflatten, Upsample
from chainrule.nn.module import Module, Parameter
from chainrule.nn.penalties import l1_penalty, l2_penalty, penalized

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "ELU",
    "Embedding", "Flatten", "GELU", "HuberLoss", "Identity", "KLDivLoss", "L1Loss", "LayerNorm",
    "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleDict", "ModuleList",
    "NLLLoss", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid", "Sin", "SineLayer",
    "SmoothL1Loss", "Softmax", "Softplus", "Tanh", "functional", "init", "l1_penalty",
    "l2_penalty", "penalized", "penalties", "utils",
]
__all__ += [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AvgPool1d", "AvgPool2d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose1d",
    "ConvTranspose2d", "Dropout2d", "GroupNorm", "MaxPool1d", "MaxPool2d", "Unflatten",
    "Upsample",
]
__all__ += ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]
from chainrule.nn.layers.loss import GaussianNLLLoss, PoissonNLLLoss  # noqa: E402

__all__ += ["GaussianNLLLoss", "PoissonNLLLoss"]
from chainrule.nn.penalties import gradient_penalty  # noqa: E402

__all__ += ["gradient_penalty"]
from chainrule.nn.layers.attention import (  # noqa: E402
    MultiheadAttention,
    RMSNorm,
    SinusoidalPositionalEncoding,
)
from chainrule.nn.layers.transformer import (  # noqa: E402
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ += [
    "MultiheadAttention", "RMSNorm", "SinusoidalPositionalEncoding", "Transformer",
    "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
]
