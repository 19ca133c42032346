"""Standard test problems for minimizers (Moré, Garbow & Hillstrom, 1981), written with ops
that work on Tensors and on NumPy arrays alike.

Each Problem has `fun`, a start `x0`, the known minimizers `xstar` (one row each) and the
minimum value `fstar`. The set used by the tests and by bench/optimize_vs_scipy.py is
`standard_set()`.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Problem:
    """A test problem: minimize fun from x0; xstar lists every minimizer, fstar the minimum."""

    name: str
    fun: object
    x0: np.ndarray
    xstar: np.ndarray
    fstar: float = 0.0
    notes: str = field(default="")

    def error(self, x):
        """Distance (max-norm) from x to the nearest known minimizer."""
        x = np.asarray(x, dtype=np.float64).ravel()
        return float(np.min(np.abs(self.xstar - x).max(axis=1)))


def rosen(x):
    """Rosenbrock (chained): sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2."""
    a, b = x[:-1], x[1:]
    return (100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2).sum()


def extended_rosenbrock(x):
    """Extended Rosenbrock: sum over pairs of 100 (x_{2i} - x_{2i-1}^2)^2 + (1 - x_{2i-1})^2."""
    a, b = x[0::2], x[1::2]
    return (100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2).sum()


def beale(x):
    """Beale: sum_i (c_i - x (1 - y^i))^2 with c = (1.5, 2.25, 2.625); minimum 0 at (3, 0.5)."""
    u, v = x[0], x[1]
    return ((1.5 - u + u * v) ** 2 + (2.25 - u + u * v ** 2) ** 2
            + (2.625 - u + u * v ** 3) ** 2)


def booth(x):
    """Booth: (x + 2y - 7)^2 + (2x + y - 5)^2; minimum 0 at (1, 3)."""
    u, v = x[0], x[1]
    return (u + 2.0 * v - 7.0) ** 2 + (2.0 * u + v - 5.0) ** 2


def himmelblau(x):
    """Himmelblau: (x^2 + y - 11)^2 + (x + y^2 - 7)^2; four minima of value 0."""
    u, v = x[0], x[1]
    return (u * u + v - 11.0) ** 2 + (u + v * v - 7.0) ** 2


def powell_singular(x):
    """Powell singular: (x1 + 10 x2)^2 + 5 (x3 - x4)^2 + (x2 - 2 x3)^4 + 10 (x1 - x4)^4."""
    return ((x[0] + 10.0 * x[1]) ** 2 + 5.0 * (x[2] - x[3]) ** 2 + (x[1] - 2.0 * x[2]) ** 4
            + 10.0 * (x[0] - x[3]) ** 4)


def quadratic(n=50, cond=1e4, seed=0):
    """f(x) = 1/2 x^T A x - b^T x with eigenvalues of A log-spaced in [1, cond]; returns Problem."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = np.logspace(0.0, np.log10(cond), n)
    A = (Q * eig) @ Q.T
    A = 0.5 * (A + A.T)
    b = rng.standard_normal(n)
    xstar = np.linalg.solve(A, b)

    def fun(x):
        return 0.5 * (x @ (A @ x)) - b @ x

    return Problem(f"quadratic{n} k={cond:g}", fun, np.zeros(n), xstar[None],
                   float(-0.5 * b @ xstar), notes=f"A has eigenvalues in [1, {cond:g}]")


def standard_set():
    """The problems of issue 5's acceptance 1 and 2, in a fixed order."""
    ext_x0 = np.tile([-1.2, 1.0], 5)
    return [
        Problem("rosenbrock", rosen, np.array([-1.2, 1.0]), np.ones((1, 2))),
        Problem("beale", beale, np.array([1.0, 1.0]), np.array([[3.0, 0.5]])),
        Problem("booth", booth, np.array([0.0, 0.0]), np.array([[1.0, 3.0]])),
        Problem("himmelblau", himmelblau, np.array([0.0, 0.0]),
                np.array([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186],
                          [3.584428, -1.848126]])),
        Problem("ext-rosenbrock10", extended_rosenbrock, ext_x0, np.ones((1, 10))),
        Problem("powell-singular", powell_singular, np.array([3.0, -1.0, 0.0, 1.0]),
                np.zeros((1, 4)), notes="singular Hessian at the minimizer"),
        quadratic(50, 1e4, seed=0),
    ]
