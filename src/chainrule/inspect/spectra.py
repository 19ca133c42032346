"""Spectra: singular values and condition numbers of weights and of input-output Jacobians.

A layer multiplies a vector's length by between s_min and s_max (its extreme singular values), so
a product of layers can stretch by up to prod s_max: repeated multiplication by a matrix of
spectral radius rho grows like rho^k, exploding for rho > 1 and vanishing for rho < 1 (seed 004).
"""

from dataclasses import dataclass

import numpy as np

from chainrule.core.tensor import Tensor


@dataclass
class LayerSpectrum:
    """Singular values s_1 >= ... of one weight W (as a matrix), ||W||_2 = s_1, cond = s_1/s_n."""

    name: str
    shape: tuple
    singular_values: np.ndarray
    spectral_norm: float
    condition_number: float
    eigenvalues: np.ndarray | None = None  # when W is square, sorted by |lambda| descending

    def _repr_html_(self):  # rich display in Jupyter: chainrule.inspect._repr
        from chainrule.inspect import _repr as reprs

        return reprs.spectrum_html(self)


def _as_matrix(a):
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[0], -1)  # conv kernels (out, in, kh, kw) act as (out, in*kh*kw)


def spectrum(W, name=""):
    """LayerSpectrum of one matrix (a Tensor or array; ndim > 2 is flattened to (out, -1))."""
    data = W.numpy() if isinstance(W, Tensor) else np.asarray(W)
    if data.ndim < 2:
        raise ValueError(f"spectrum: expected a matrix (ndim >= 2); got shape {data.shape}")
    M = _as_matrix(data)
    s = np.linalg.svd(M, compute_uv=False)
    cond = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")  # = numpy.linalg.cond(M)
    eig = None
    if M.shape[0] == M.shape[1]:
        eig = np.linalg.eigvals(M)
        eig = eig[np.argsort(-np.abs(eig), kind="stable")]
        if np.all(eig.imag == 0):
            eig = eig.real
    return LayerSpectrum(name, tuple(data.shape), s, float(s[0]), cond, eig)


def weight_spectra(model):
    """One LayerSpectrum per parameter with ndim >= 2 (the weights), in named_parameters() order.

        >>> import chainrule as cr
        >>> [s.shape for s in weight_spectra(cr.nn.Linear(3, 2))]
        [(2, 3)]
    """
    if not hasattr(model, "named_parameters"):
        raise TypeError(f"weight_spectra: expected a Module (with named_parameters()); got "
                        f"{type(model).__name__}")
    return [spectrum(p, name) for name, p in model.named_parameters() if p.ndim >= 2]


def spectral_radius(A):
    """rho(A) = max |lambda_i(A)|, which sets the growth rate of ||A^k x|| for large k."""
    A = np.asarray(A.numpy() if isinstance(A, Tensor) else A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"spectral_radius: expected a square matrix; got shape {A.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(A))))


def matrix_power_norms(A, steps, x=None):
    """||A^k x|| for k = 0..steps (x random unit if None): grows like rho(A)^k, or decays."""
    A = np.asarray(A.numpy() if isinstance(A, Tensor) else A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"matrix_power_norms: expected a square matrix; got shape {A.shape}")
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"matrix_power_norms: steps must be a non-negative integer; got "
                         f"{steps!r}")
    if x is None:
        x = np.random.default_rng(0).standard_normal(A.shape[0])
        x /= np.linalg.norm(x)
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (A.shape[0],):
        raise ValueError(f"matrix_power_norms: x must have shape ({A.shape[0]},); got {x.shape}")
    norms = [np.linalg.norm(x)]
    for _ in range(steps):
        x = A @ x
        norms.append(np.linalg.norm(x))
    return np.array(norms)


def jacobian_spectrum(model, inputs):
    """Singular values of d model(x_n) / d x_n for each sample: an array (N, min(out, in)).

    One backward pass per output unit, each giving that row of every sample's Jacobian at once;
    this assumes samples do not interact (no batch norm in training mode).
    """
    from chainrule.core import mode as _mode
    from chainrule.core.engine import grad as _grad

    x = inputs.detach() if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs))
    if x.ndim != 2:
        raise ValueError(f"jacobian_spectrum: inputs must be a batch of shape (N, features); got "
                         f"shape {x.shape}")
    x.requires_grad_(True)
    with _mode.enable_grad():
        y = model(x)
        if y.ndim != 2 or y.shape[0] != x.shape[0]:
            raise ValueError(f"jacobian_spectrum: the model must map (N, in) to (N, out); got "
                             f"{x.shape} -> {y.shape}")
        J = np.empty((x.shape[0], y.shape[1], x.shape[1]))
        for k in range(y.shape[1]):
            e = np.zeros(y.shape, dtype=y.dtype)
            e[:, k] = 1
            (gx,) = _grad(y, x, grad_outputs=Tensor(e), retain_graph=k < y.shape[1] - 1,
                          allow_unused=True)
            J[:, k, :] = 0.0 if gx is None else gx.numpy()
    return np.linalg.svd(J, compute_uv=False)
