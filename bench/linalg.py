"""cr.linalg and einsum timings, forward + backward, against torch when it is installed.

    OMP_NUM_THREADS=1 python -m bench.linalg

Prints the median of several repeats (milliseconds) for chainrule and torch, and their ratio.
Batched float32 inputs of the sizes a layer sees: (64, 32, 32) matrices, attention scores of
(8, 8, 64, 64) queries and keys.
"""

import time

import numpy as np

import chainrule as cr


def _median_ms(fn, repeats=9, number=3):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return 1e3 * float(np.median(times))


def _cases(rng):
    """name -> (function of the module (cr or torch) and its inputs, the inputs as arrays)."""
    A = rng.standard_normal((64, 32, 32)).astype(np.float32) * 0.1 + np.eye(32, dtype=np.float32)
    S = (A + np.swapaxes(A, -1, -2)) / 2
    B = rng.standard_normal((64, 32, 8)).astype(np.float32)
    q = rng.standard_normal((8, 8, 64, 64)).astype(np.float32)
    k = rng.standard_normal((8, 8, 64, 64)).astype(np.float32)
    w = rng.standard_normal(32).astype(np.float32)
    return {
        "solve (64, 32, 32) x (64, 32, 8)": (lambda m, A, B: m.linalg.solve(A, B).sum(), (A, B)),
        "inv": (lambda m, A: m.linalg.inv(A).sum(), (A,)),
        "slogdet": (lambda m, A: m.linalg.slogdet(A)[1].sum(), (A,)),
        "eigh (values and vectors)": (
            lambda m, S: (lambda r: (r[0] * r[1][..., 0, :]).sum())(m.linalg.eigh(S)), (S,)),
        "svd (reduced)": (lambda m, A: (lambda r: (r[1] * r[0][..., 0, :]).sum())(
            m.linalg.svd(A, full_matrices=False)), (A,)),
        "qr": (lambda m, A: (lambda r: (r[1] ** 2).sum() + r[0][..., 0].sum())(m.linalg.qr(A)),
               (A,)),
        "matrix_norm 'nuc'": (lambda m, A: m.linalg.matrix_norm(A, "nuc").sum(), (A,)),
        "einsum bhqd,bhkd->bhqk": (lambda m, q, k: m.einsum("bhqd,bhkd->bhqk", q, k).sum(),
                                   (q, k)),
        "einsum bij,j->bi": (lambda m, A: m.einsum("bij,j->bi", A, m.tensor(w)).sum(), (A,)),
    }


def main():
    rng = np.random.default_rng(0)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    print(f"{'op, forward + backward':36s} {'chainrule ms':>13s} {'torch ms':>10s} {'ratio':>7s}")
    for name, (fn, arrays) in _cases(rng).items():
        def ours(fn=fn, arrays=arrays):
            xs = [cr.tensor(a, requires_grad=True) for a in arrays]
            fn(cr, *xs).backward()

        t_ours = _median_ms(ours)
        line = f"{name:36s} {t_ours:13.3f}"
        if torch is not None:
            def theirs(fn=fn, arrays=arrays):
                xs = [torch.tensor(a, requires_grad=True) for a in arrays]
                fn(torch, *xs).backward()

            t_theirs = _median_ms(theirs)
            line += f" {t_theirs:10.3f} {t_ours / t_theirs:7.2f}"
        print(line)


if __name__ == "__main__":
    main()
