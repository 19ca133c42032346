"""The report's figures, each rendered with matplotlib's Agg canvas and returned as PNG bytes.

Figures are built with matplotlib.figure.Figure (never pyplot), so rendering touches no global
state and needs no display.
"""

import io

import numpy as np


def _figure(width=6.4, height=3.6):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def curves(history):
    """Loss and every metric per epoch, train and validation side by side -> PNG bytes."""
    h = history.history
    epochs = np.asarray(history.epoch)
    names = [k for k in h if not k.startswith("val_") and k not in ("lr", "time")]
    fig = _figure(4.2 * max(len(names), 1), 3.4)
    axes = fig.subplots(1, max(len(names), 1), squeeze=False)[0]
    for ax, name in zip(axes, names):
        ax.plot(epochs, _floats(h[name]), label="train", color="#2b7bba")
        if "val_" + name in h:
            ax.plot(epochs, _floats(h["val_" + name]), label="validation", color="#d35400")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        if name == "loss" and np.nanmin(_floats(h[name])) > 0:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    return _png(fig)


def learning_rate(history):
    """The learning rate per epoch -> PNG bytes."""
    fig = _figure(4.2, 2.8)
    ax = fig.subplots()
    ax.plot(history.epoch, _floats(history.history.get("lr", [])), color="#555")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3)
    return _png(fig)


def confusion(matrix, class_names=None):
    """Confusion matrix heat map, counts written in each cell -> PNG bytes."""
    C = np.asarray(matrix)
    k = C.shape[0]
    size = min(2.5 + 0.35 * k, 6)
    fig = _figure(size + 1, size)
    ax = fig.subplots()
    im = ax.imshow(C, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8)
    names = class_names if class_names is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=45 if k > 6 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = C.max() / 2 if C.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if C[i, j] > threshold else "black")
    return _png(fig)


def gradient_flow(records):
    """Per-layer gradient norm, weight norm and update ratio over training -> PNG bytes.

    `records` is GradientFlowRecorder.records (weights only are drawn), one colour per layer
    from input (dark) to output (light); a layer flagged vanishing at the last recording is
    dashed, exploding dash-dotted and thick. Up to 8 layers get a legend beside the panels;
    deeper nets a colour bar of the layer index and a legend of the flags, so nothing covers
    the curves.
    """
    layers = records[0]["layers"]
    # one curve per weight matrix (biases follow their weights and would double the legend)
    names = [layer["name"] for layer in layers if len(layer["shape"]) >= 2] or \
        [layer["name"] for layer in layers]
    steps = np.array([r["step"] for r in records])
    last = {layer["name"]: layer.get("flag", "ok") for layer in records[-1]["layers"]}
    many = len(names) > 8
    fig = _figure(13, 3.8)
    axes = fig.subplots(1, 3)
    titles = {"grad_norm": "gradient norm ‖∇W‖", "weight_norm": "weight norm ‖W‖",
              "ratio": "update ratio ‖ΔW‖/‖W‖"}
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    cmap = colormaps["viridis"]
    handles = {}
    for ax, key in zip(axes, titles):
        for i, name in enumerate(names):
            values = [_layer(r, name).get(key, np.nan) for r in records]
            flag = last.get(name, "ok")
            (line,) = ax.plot(steps, _floats(values), color=cmap(i / max(len(names) - 1, 1)),
                              **_STYLES[flag])
            handles.setdefault(name if flag == "ok" else f"{name} ({flag})", line)
        ax.set_yscale("log")
        ax.set_title(titles[key])
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3, which="both")
    if many:
        bar = fig.colorbar(ScalarMappable(Normalize(1, len(names)), cmap), ax=list(axes),
                           shrink=0.9, pad=0.01)
        bar.set_label("weight layer (1 = input side)")
        counts = {flag: sum(last.get(n, "ok") == flag for n in names) for flag in _STYLES}
        handles = {f"{flag}: {n} of {len(names)} layers": Line2D([], [], color="0.3",
                                                                 **_STYLES[flag])
                   for flag, n in counts.items() if n}
    fig.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize=7)
    return _png(fig)


_STYLES = {"ok": {"linestyle": "-"}, "vanishing": {"linestyle": "--"},
           "exploding": {"linestyle": "-.", "linewidth": 2.2}}


def _layer(record, name):
    for layer in record["layers"]:
        if layer["name"] == name:
            return layer
    return {}


def spectra(layer_spectra):
    """Singular values of each weight matrix, largest first, on a log scale -> PNG bytes.

    Up to 8 layers get the colour cycle and a legend (with each κ); deeper nets one colour per
    layer from input (dark) to output (light) and a colour bar, as in gradient_flow (the table
    under the figure lists every κ), so no colour stands for two layers and nothing covers the
    curves.
    """
    many = len(layer_spectra) > 8
    fig = _figure(7.2 if many else 6.4, 3.6)
    ax = fig.subplots()
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    cmap = colormaps["viridis"]
    for i, s in enumerate(layer_spectra):
        sv = np.asarray(s.singular_values, dtype=np.float64)
        colour = {"color": cmap(i / max(len(layer_spectra) - 1, 1))} if many else {}
        ax.plot(np.arange(1, sv.size + 1), np.maximum(sv, 1e-12), marker=".",
                label=f"{s.name} (κ = {s.condition_number:.3g})", **colour)
    ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("index i")
    ax.set_ylabel("singular value σᵢ")
    ax.grid(alpha=0.3, which="both")
    if many:
        bar = fig.colorbar(ScalarMappable(Normalize(1, len(layer_spectra)), cmap), ax=ax,
                           pad=0.01)
        bar.set_label("weight layer (1 = input side)")
    else:
        ax.legend(fontsize=7)
    return _png(fig)


def decision_boundary(predict, X, y, class_names=None, resolution=200):
    """Predicted class over the plane of the two features, with the points on top -> PNG bytes.

    `predict` maps an (N, 2) float32 array to (N,) class labels.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0) + 1e-9)
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
    Z = np.asarray(predict(grid)).reshape(gx.shape)
    classes = np.unique(np.concatenate([np.unique(y), np.unique(Z)]))
    fig = _figure(5.2, 4.6)
    ax = fig.subplots()
    from matplotlib import colormaps

    cmap = colormaps["coolwarm" if classes.size <= 2 else "tab10"]
    levels = np.arange(classes.min() - 0.5, classes.max() + 1.0)
    ax.contourf(gx, gy, Z, levels=levels, cmap=cmap, alpha=0.35)
    ax.contour(gx, gy, Z, levels=levels, colors="k", linewidths=0.6)
    for c in np.unique(y):
        pts = X[y == c]
        name = class_names[int(c)] if class_names is not None and int(c) < len(class_names) \
            else str(c)
        color = cmap((c - levels[0]) / max(levels[-1] - levels[0], 1))
        ax.scatter(pts[:, 0], pts[:, 1], s=10, color=color, edgecolors="k", linewidths=0.3,
                   label=f"class {name}")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.legend(fontsize=7, loc="upper right")
    return _png(fig)


def _floats(values):
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
