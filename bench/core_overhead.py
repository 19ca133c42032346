"""First core benchmark: per-op overhead and a small MLP, against hand-written NumPy, same run.

(The full suite is ``python -m bench``; see docs/PERFORMANCE.md.)

    python bench/core_overhead.py [--quick]

1. Per-op overhead: forward + backward of `add` on 1-element tensors (microseconds), vs the
   NumPy calls a hand-written version makes (forward add, two gradient copies).
2. Forward + backward of a 784-256-10 Linear-ReLU-Linear network on a batch of 128 (float32),
   vs hand-written NumPy with manual backprop.
BLAS is pinned to one thread (set before NumPy loads) so the two sides compare like for like.
"""

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import time

import numpy as np

import chainrule as cr


def median_time(fn, repeats, number):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return float(np.median(times))


def add_chainrule(chain=1):
    a = cr.tensor(np.ones(1, np.float32), requires_grad=True)
    b = cr.tensor(np.ones(1, np.float32), requires_grad=True)

    def step():
        a.grad = b.grad = None
        y = a + b
        for _ in range(chain - 1):
            y = y + b
        y.backward()

    return step


def add_numpy(chain=1):
    a, b = np.ones(1, np.float32), np.ones(1, np.float32)

    def step():
        y = a + b
        for _ in range(chain - 1):
            y = y + b
        g = np.ones_like(y)
        gb = g.copy()
        for _ in range(chain - 1):
            gb += g  # what backward of the chain hands the leaves
        return g.copy(), gb

    return step


def mlp_data(batch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    W1 = (rng.standard_normal((256, 784)) * 0.05).astype(np.float32)
    b1 = np.zeros(256, np.float32)
    W2 = (rng.standard_normal((10, 256)) * 0.05).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    return x, y, [W1, b1, W2, b2]


def mlp_chainrule(batch):
    x, y, arrays = mlp_data(batch)
    params = [cr.tensor(p, requires_grad=True) for p in arrays]
    x, rows = cr.tensor(x), np.arange(batch)

    def step():
        W1, b1, W2, b2 = params
        logits = (x @ W1.mT + b1).relu() @ W2.mT + b2
        loss = -logits.log_softmax(-1)[rows, y].mean()
        for p in params:
            p.grad = None
        loss.backward()
        return loss

    return step


def mlp_numpy(batch):
    x, y, (W1, b1, W2, b2) = mlp_data(batch)
    rows = np.arange(batch)

    def step():
        h = x @ W1.T + b1
        a = np.maximum(h, 0)
        logits = a @ W2.T + b2
        shifted = logits - logits.max(1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(1, keepdims=True)
        loss = -(shifted[rows, y] - np.log(s[:, 0])).mean()
        d = e / s
        d[rows, y] -= 1
        d /= batch
        gW2, gb2 = d.T @ a, d.sum(0)
        da = d @ W2
        da *= h > 0
        gW1, gb1 = da.T @ x, da.sum(0)
        return loss, gW1, gb1, gW2, gb2

    return step


def main():
    quick = "--quick" in sys.argv
    repeats = 3 if quick else 7
    # the two implementations agree before anything is timed
    cr_loss = mlp_chainrule(128)()
    np_loss = mlp_numpy(128)()[0]
    assert abs(cr_loss.item() - np_loss) < 1e-5, (cr_loss.item(), np_loss)

    rows = []
    n_add = 2000 if quick else 20000
    t_cr = median_time(add_chainrule(), repeats, n_add)
    t_np = median_time(add_numpy(), repeats, n_add)
    rows.append(("add fwd+bwd, 1 element, whole graph (us)", t_cr * 1e6, t_np * 1e6))
    t_cr = median_time(add_chainrule(100), repeats, n_add // 100)
    t_np = median_time(add_numpy(100), repeats, n_add // 100)
    rows.append(("  per add in a chain of 100 (us)", t_cr * 1e4, t_np * 1e4))
    n_mlp = 10 if quick else 50
    t_cr = median_time(mlp_chainrule(128), repeats, n_mlp)
    t_np = median_time(mlp_numpy(128), repeats, n_mlp)
    rows.append(("784-256-10 MLP fwd+bwd, batch 128 (ms)", t_cr * 1e3, t_np * 1e3))

    print(f"{'workload':42s} {'chainrule':>10s} {'numpy':>10s} {'ratio':>7s}")
    for name, a, b in rows:
        print(f"{name:42s} {a:10.2f} {b:10.2f} {a / b:7.2f}x")
    print("(ratio = chainrule time / hand-written NumPy time; lower is better, 1.0 = the ceiling)")


if __name__ == "__main__":
    main()
