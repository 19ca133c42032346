"""torch.nn.utils: clipping, flat parameter vectors, rnn packing, parametrize, spectral_norm."""

from chainrule.nn.utils import parametrizations, parametrize, rnn  # noqa: F401
from chainrule.nn.utils.clip import (  # noqa: F401
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)
from chainrule.nn.utils.legacy_spectral_norm import (  # noqa: E402, F401
    remove_spectral_norm,
    spectral_norm,
)
