"""Training progress: a tqdm bar per epoch on a terminal, one clean line per epoch otherwise."""

import sys


def format_logs(logs, keys=None):
    """'loss 0.1234  accuracy 0.9712  lr 0.001  0.21s' from an epoch's logs."""
    parts = []
    for k in keys or logs:
        v = logs.get(k)
        if v is None or k in ("epoch", "time"):
            continue
        if k == "lr":
            parts.append(f"lr {v:.3g}")
        elif isinstance(v, float):
            parts.append(f"{k} {v:.4f}")
        else:
            parts.append(f"{k} {v}")
    if logs.get("time") is not None:
        parts.append(f"{logs['time']:.2f}s")
    return "  ".join(parts)


class Progress:
    """Reports training progress; mode "bar" (tqdm, terminals), "lines", or "off".

    `enabled=True` picks "bar" when `file` is a terminal and tqdm is installed, else "lines"
    (CI logs get one line per epoch, no carriage returns).
    """

    def __init__(self, epochs, batches_per_epoch, enabled=True, file=None):
        self.epochs, self.batches = epochs, batches_per_epoch
        self.file = file if file is not None else sys.stdout
        self.bar = None
        self._tqdm = None
        if not enabled:
            self.mode = "off"
            return
        self.mode = "lines"
        if _isatty(sys.stderr) and _isatty(self.file):
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.mode, self._tqdm = "bar", tqdm

    def epoch_begin(self, epoch):
        """Open the bar for `epoch` (1-based)."""
        if self.mode == "bar":
            self.bar = self._tqdm(total=self.batches, desc=self._label(epoch), leave=False,
                                  unit="batch", dynamic_ncols=True, file=sys.stderr,
                                  disable=None)

    def batch_end(self, loss):
        """Advance the bar by one batch, showing the running loss."""
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)

    def epoch_end(self, epoch, logs):
        """Close the bar and print the epoch's summary line."""
        if self.mode == "off":
            return
        self._close()
        self.write(f"{self._label(epoch)}  {format_logs(logs)}")

    def write(self, text):
        """Print a line without breaking an open bar."""
        if self.mode == "off":
            return
        if self._tqdm is not None:
            self._tqdm.write(text, file=self.file)
        else:
            print(text, file=self.file, flush=True)

    def close(self):
        """Close any open bar (on normal end and on interruption)."""
        self._close()

    def _close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _label(self, epoch):
        width = len(str(self.epochs))
        return f"epoch {epoch:>{width}}/{self.epochs}"


def _isatty(f):
    try:
        return f.isatty()
    except (AttributeError, ValueError):
        return False
