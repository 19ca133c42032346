"""Plots for the instruments (matplotlib, imported lazily; no pyplot state, so no display needed).

Each function draws on ``ax`` when given, otherwise on a new Figure, and returns the Figure;
``save(fig, path)`` writes it (creating folders). Requires ``pip install chainrule[plot]``.
"""

import os

import numpy as np

# flag markers: colours outside matplotlib's default line cycle (tab:blue, tab:orange, ...), and
# a shape each, so a flag never reads as one of the lines
_FLAGS = {"ok": ("#2b7a3b", "o"), "vanishing": ("#d08c00", "v"), "exploding": ("#8e1b10", "^")}


def _axes(ax, figsize=(6.4, 4.0), projection=None):
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is an optional extra
        raise ImportError("chainrule.inspect.plot needs matplotlib: pip install "
                          "chainrule[plot]") from None
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot(projection=projection)


def save(fig, path, dpi=120):
    """Write the figure to path (png, svg, pdf by extension), creating missing folders."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def plot_gradient_flow(flows, ax=None, title="Gradient norm per layer"):
    """||dL/dW|| per weight on a log axis; a dict {label: flows} draws one line per model."""
    fig, ax = _axes(ax)
    series = flows if isinstance(flows, dict) else {"": flows}
    shown = set()
    for label, fl in series.items():
        fl = [f for f in fl if len(f.shape) >= 2] or list(fl)
        depth = np.arange(1, len(fl) + 1)
        norms = np.array([max(f.grad_norm, 1e-300) for f in fl])
        ax.semilogy(depth, norms, "-", label=label or None, alpha=0.7)
        for flag, (color, marker) in _FLAGS.items():
            mask = np.array([f.flag == flag for f in fl])
            if mask.any():
                ax.scatter(depth[mask], norms[mask], color=color, marker=marker, zorder=3,
                           s=22, label=None if flag in shown else f"flag: {flag}")
                shown.add(flag)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("weight, from input to output")
    ax.set_ylabel("||dL/dW||")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_weight_spectra(spectra, ax=None, title="Singular values per weight"):
    """Each weight's singular values, largest first, on a log axis."""
    fig, ax = _axes(ax)
    for s in spectra:
        ax.semilogy(np.arange(1, len(s.singular_values) + 1), s.singular_values, ".-",
                    label=f"{s.name} (cond {s.condition_number:.3g})")
    ax.set_xlabel("index i")
    ax.set_ylabel("singular value s_i")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return fig


def plot_jacobian_spectrum(singular_values, ax=None, bins=40,
                           title="Singular values of the input-output Jacobian"):
    """Histogram of log10 of jacobian_spectrum(...) values; a dict {label: values} overlays.

    All series share one set of bin edges (over their joint range), so each bar is as wide as
    every other and counts compare; with per-series bins a narrow series would be drawn as a
    few needles and a wide one as a low smear.
    """
    fig, ax = _axes(ax)
    series = singular_values if isinstance(singular_values, dict) else {"": singular_values}
    logs = {label: np.log10(np.maximum(np.asarray(v, dtype=np.float64).reshape(-1), 1e-300))
            for label, v in series.items()}
    edges = np.histogram_bin_edges(np.concatenate(list(logs.values())), bins=bins)
    for label, values in logs.items():
        ax.hist(values, bins=edges, alpha=0.6, label=label or None)
    ax.set_xlabel("log10 singular value")
    ax.set_ylabel("count")
    ax.set_title(title)
    if len(series) > 1 or "" not in series:
        ax.legend(fontsize=8)
    return fig


def plot_matrix_powers(norms, ax=None, title="||A^k x|| under repeated multiplication"):
    """{label: matrix_power_norms(...)} as lines on a log axis."""
    fig, ax = _axes(ax)
    for label, values in norms.items():
        ax.semilogy(np.arange(len(values)), np.maximum(values, 1e-300), label=label)
    ax.set_xlabel("k")
    ax.set_ylabel("||A^k x||")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_hessian_density(density, eigenvalues=None, ax=None, title="Hessian spectral density",
                         log=True):
    """The SLQ density on a log axis (outliers are rare but matter), eigenvalues as a rug."""
    fig, ax = _axes(ax)
    floor = 1e-6 * density.density.max() if log else 0.0
    ax.plot(density.grid, np.maximum(density.density, floor), label="SLQ density")
    if log:
        ax.set_yscale("log")
    if eigenvalues is not None:
        ax.plot(eigenvalues, np.full(len(eigenvalues), max(floor, 1e-300) if log else 0.0), "|",
                color="k", markersize=12, label="eigenvalues")
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_landscape(landscape, ax=None, title=None, levels=30):
    """A 1-D landscape as a curve, a 2-D one as filled contours with the centre marked."""
    if landscape.betas is None:
        fig, ax = _axes(ax)
        ax.plot(landscape.alphas, landscape.losses, ".-")
        ax.set_xlabel("step along the direction")
        ax.set_ylabel("loss")
        ax.set_title(title or "Loss along a line")
        return fig
    fig, ax = _axes(ax, figsize=(5.6, 4.8))
    A, B = np.meshgrid(landscape.alphas, landscape.betas, indexing="ij")
    Z = np.log10(np.maximum(landscape.losses, 1e-12))
    cs = ax.contourf(A, B, Z, levels=levels, cmap="viridis")
    ax.contour(A, B, Z, levels=levels, colors="k", linewidths=0.3)
    fig.colorbar(cs, ax=ax, label="log10 loss")
    ax.plot([0], [0], "r*", markersize=10)
    ax.set_xlabel("direction 1")
    ax.set_ylabel("direction 2")
    ax.set_title(title or "Loss on a plane (filter-normalised directions)")
    return fig
