"""Normalisation and reduction timings (issue 21, item 6): BatchNorm1d and LayerNorm forward +
backward at (4096, 256), and var over axis 0 of a (1e6, 10) float32 array.

    python -m bench.reductions            # this tree
    PYTHONPATH=<other tree>/src python -m bench.reductions   # another, for a before/after

Prints the median of several repeats (milliseconds) and the accuracy of the var.
"""

import time

import numpy as np

import chainrule as cr


def _median_ms(fn, repeats=15, number=3):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return 1e3 * float(np.median(times))


def main():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((4096, 256), dtype=np.float32), requires_grad=True)
    g = cr.tensor(rng.standard_normal((4096, 256), dtype=np.float32))
    bn, ln = cr.nn.BatchNorm1d(256), cr.nn.LayerNorm(256)

    def norm_step(layer):
        def step():
            x.grad = None
            layer(x).backward(g)
        return step

    big = (rng.standard_normal((1_000_000, 10)) + 1e3).astype(np.float32)
    t = cr.tensor(big)
    true_var = big.astype(np.float64).var(0, ddof=1)
    rel = float(np.max(np.abs(t.var(0).numpy() - true_var) / true_var))
    print(f"chainrule {cr.__file__}")
    print(f"BatchNorm1d (4096, 256) forward+backward: {_median_ms(norm_step(bn)):8.2f} ms")
    print(f"LayerNorm   (4096, 256) forward+backward: {_median_ms(norm_step(ln)):8.2f} ms")
    print(f"var over axis 0 of (1e6, 10) float32:     {_median_ms(lambda: t.var(0), 7, 1):8.2f} ms"
          f"   (max relative error {rel:.1e})")


if __name__ == "__main__":
    main()
