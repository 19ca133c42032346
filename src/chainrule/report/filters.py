"""The report's CNN figures: a convolution's learned filters and one input's feature maps, as
PNG bytes (matplotlib's Agg canvas, no pyplot)."""

import math

import numpy as np

from chainrule.report.plots import _figure, _png


def _grid(n):
    cols = min(n, 8)
    return math.ceil(n / cols), cols


def filters(W):
    """Each filter W[c] (C, kh, kw) as a small image on a diverging scale shared by all (blue
    negative, red positive, white zero) -> PNG bytes."""
    W = np.asarray(W, dtype=np.float64)
    rows, cols = _grid(len(W))
    fig = _figure(1.1 * cols + 1.0, 1.1 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    bound = float(np.abs(W).max()) or 1.0
    image = None
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i < len(W):
            image = ax.imshow(W[i], cmap="RdBu_r", vmin=-bound, vmax=bound)
            ax.set_title(f"{i}", fontsize=8)
        else:
            ax.axis("off")
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    return _png(fig)


def feature_maps(image, maps):
    """The input image (H, W) then each feature map maps[c] (C, H, W) it produces -> PNG bytes."""
    maps = np.asarray(maps, dtype=np.float64)
    rows, cols = _grid(len(maps) + 1)
    fig = _figure(1.1 * cols + 0.4, 1.2 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i == 0:
            ax.imshow(image, cmap="gray_r")
            ax.set_title("input", fontsize=8)
        elif i <= len(maps):
            ax.imshow(maps[i - 1], cmap="viridis")
            ax.set_title(f"map {i - 1}", fontsize=8)
        else:
            ax.axis("off")
    return _png(fig)
