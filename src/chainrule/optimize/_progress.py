"""Progress bars for the long computations (minimize with disp, the curvature instruments).

One convention everywhere, tqdm's: `progress=None` shows a bar only when stderr is a terminal
(tqdm's `disable=None`), so tests, CI logs and pipes stay silent; True forces it on, False off.
tqdm is optional: without it there is no bar.
"""

import sys


class _Silent:
    """The bar's interface, doing nothing."""

    def update(self, n=1):
        pass

    def set_postfix_str(self, text, refresh=True):
        pass

    def close(self):
        pass


def progress_bar(total, desc, progress=None, unit="it"):
    """A tqdm bar on stderr (or a silent stand-in): progress None = on a terminal only."""
    if progress is False:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Silent()
    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True,
                file=sys.stderr, disable=None if progress is None else False)
