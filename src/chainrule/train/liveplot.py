"""LivePlot: a training plot that redraws once per epoch in a notebook (matplotlib, Agg).

In Jupyter the figure is shown once and updated in place (IPython's display handle); outside a
notebook nothing is displayed, and ``path`` (if given) receives the final PNG either way.
"""

import os

from chainrule.train.callbacks import Callback


def _in_notebook():
    import sys

    ip = sys.modules.get("IPython")
    shell = ip.get_ipython() if ip is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LivePlot(Callback):
    """Callback: plot `keys` (default: every logged loss and metric) against the epoch, redrawn
    after each epoch; losses on the left panel (log scale when positive), metrics on the right."""

    order = 50

    def __init__(self, keys=None, path=None, figsize=(9, 3.2)):
        self.keys, self.path, self.figsize = keys, path, figsize
        self.draws = 0
        self._handle = None
        self._fig = None

    def on_epoch_end(self, state, logs):
        self._draw(state.history)

    def on_train_end(self, state):
        if self.path is not None and self._fig is not None:
            folder = os.path.dirname(os.path.abspath(os.fspath(self.path)))
            os.makedirs(folder, exist_ok=True)
            self._fig.savefig(self.path, dpi=100)

    def _draw(self, history):
        from matplotlib.figure import Figure

        keys = self.keys or [k for k in history.history if k != "lr"]
        missing = [k for k in keys if k not in history]
        if missing:
            raise ValueError(f"LivePlot: keys {missing} are not logged; available: "
                             f"{sorted(history.history)}")
        if self._fig is None:
            self._fig = Figure(figsize=self.figsize)
        fig = self._fig
        fig.clear()
        losses = [k for k in keys if k.endswith("loss")]
        metrics = [k for k in keys if not k.endswith("loss")]
        panels = [p for p in (losses, metrics) if p]
        for i, group in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), i + 1)
            for k in group:
                pts = [(e, v) for e, v in zip(history.epoch, history[k]) if v is not None]
                ax.plot([e for e, _ in pts], [v for _, v in pts], marker=".", label=k)
            if group is losses and all(v is None or v > 0 for k in group for v in history[k]):
                ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_ylabel("loss" if group is losses else "metric")
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        self.draws += 1
        if _in_notebook():
            import io

            from IPython.display import Image, display

            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            image = Image(data=buf.getvalue(), format="png")
            if self._handle is None:
                self._handle = display(image, display_id=True)
            else:
                self._handle.update(image)
