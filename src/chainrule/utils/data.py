"""torch.utils.data under its torch name: the same objects as chainrule.data."""

import sys

from chainrule import data as _data

sys.modules[__name__] = _data  # `import chainrule.utils.data as D` and `from ... import X`
