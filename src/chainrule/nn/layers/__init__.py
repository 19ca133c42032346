"""Layers by math family: affine, activations, normalization, dropout, embedding, containers,
losses."""

from chainrule.nn.layers.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Sin,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.nn.layers.container import ModuleDict, ModuleList, Sequential
from chainrule.nn.layers.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from chainrule.nn.layers.dropout import Dropout
from chainrule.nn.layers.embedding import Embedding
from chainrule.nn.layers.linear import Flatten, Identity, Linear, SineLayer
from chainrule.nn.layers.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from chainrule.nn.layers.normalization import BatchNorm1d, LayerNorm
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

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "ELU",
    "Embedding", "Flatten", "GELU", "HuberLoss", "Identity", "KLDivLoss", "L1Loss", "LayerNorm",
    "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "ModuleDict", "ModuleList", "NLLLoss",
    "ReLU", "Sequential", "SiLU", "Sigmoid", "Sin", "SineLayer", "SmoothL1Loss", "Softmax",
    "Softplus", "Tanh",
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
