"""First-order optimizers and learning-rate schedules, with PyTorch's names, defaults and formulas.

    >>> import chainrule as cr
    >>> w = cr.tensor([3.0], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.25)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> w.item()                      # each step: w <- w - 0.25 * 2w = w / 2
    0.75
"""

from chainrule.optim import lr_scheduler
from chainrule.optim.adadelta import Adadelta
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam
from chainrule.optim.adamax import Adamax
from chainrule.optim.adamw import AdamW
from chainrule.optim.lbfgs import LBFGS
from chainrule.optim.nadam import NAdam
from chainrule.optim.optimizer import Optimizer, required
from chainrule.optim.radam import RAdam
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler",
           "required", "Adadelta", "Adamax", "LBFGS", "NAdam", "RAdam"]
