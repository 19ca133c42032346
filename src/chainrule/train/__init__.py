"""cr.train: the fit loop, callbacks, metrics, progress and checkpoints (cr.save / cr.load).

    >>> import chainrule as cr, chainrule.nn.functional as F
    >>> _ = cr.manual_seed(0)
    >>> X, y = cr.data.make_xor(200, seed=0)
    >>> model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.Tanh(), cr.nn.Linear(16, 2))
    >>> opt = cr.optim.Adam(model.parameters(), lr=0.05)
    >>> history = cr.train.fit(model, F.cross_entropy, opt, (X, y), epochs=40, seed=0,
    ...                        metrics=["accuracy"], progress=False)
    >>> history["accuracy"][-1] > 0.9
    True
"""

from chainrule.train import metrics
from chainrule.train.callbacks import Callback, EarlyStopping, GradientFlowRecorder, ModelCheckpoint
from chainrule.train.checkpoint import load, save
from chainrule.train.fit import FitState, History, evaluate, fit, predict
from chainrule.train.liveplot import LivePlot
from chainrule.train.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
)
from chainrule.train.monitor import TrainingMonitor, TrainingWarning
from chainrule.train.progress import Progress

__all__ = [
    "Callback", "EarlyStopping", "FitState", "GradientFlowRecorder", "History",
    "ModelCheckpoint", "Progress", "TrainingMonitor", "TrainingWarning", "accuracy_score",
    "confusion_matrix", "evaluate",
    "f1_score", "fit", "load", "mean_absolute_error", "mean_squared_error", "metrics",
    "precision_score", "predict", "r2_score", "recall_score", "save",
]
__all__ += ["LivePlot"]
