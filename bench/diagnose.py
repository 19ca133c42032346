"""What diagnosing costs: cr.inspect.diagnose's run time, and the TrainingMonitor's per-step cost.

    python -m bench.diagnose [--repeats 5]

1. diagnose on the CLI's MLP (64-128-64-10, ReLU) on digits, 256 rows: without an optimizer,
   with Adam (one real step on a copy), with Adam and steps=20 (a trajectory), and with SGD
   and steps=20 (plus lambda_max by Lanczos against 2/lr, and, when it diverges, the lr sweep).
2. fit for 20 epochs (batch 32, compiled steps, as `chainrule train`) with and without the
   TrainingMonitor (every=100, its default): the difference per optimizer step, and as a ratio.
Times are medians over `repeats` runs; BLAS is pinned to one thread.
"""

import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402


def _data():
    X, y = cr.data.load_digits()
    X_tr, X_te, y_tr, y_te = cr.data.train_test_split(X.astype(np.float32), y, test_size=0.2,
                                                      stratify=y, seed=0)
    X_tr, mean, std = cr.data.standardize(X_tr)
    return X_tr.astype(np.float32), y_tr, cr.data.standardize(X_te, mean, std)[0], y_te


def _mlp(seed=0):
    cr.manual_seed(seed)
    return cr.nn.Sequential(cr.nn.Linear(64, 128), cr.nn.ReLU(), cr.nn.Linear(128, 64),
                            cr.nn.ReLU(), cr.nn.Linear(64, 10))


def _median(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    X, y, X_te, y_te = _data()
    model = _mlp()
    print("diagnose, MLP 64-128-64-10 on digits (256 rows):")
    cases = {
        "no optimizer": lambda: cr.inspect.diagnose(model, F.cross_entropy, (X, y)),
        "Adam (one real step)": lambda: cr.inspect.diagnose(
            model, F.cross_entropy, (X, y), cr.optim.Adam(model.parameters())),
        "Adam, steps=20": lambda: cr.inspect.diagnose(
            model, F.cross_entropy, (X, y), cr.optim.Adam(model.parameters()), steps=20),
        "SGD lr 0.1, steps=20 (+ lambda_max)": lambda: cr.inspect.diagnose(
            model, F.cross_entropy, (X, y), cr.optim.SGD(model.parameters(), lr=0.1),
            steps=20),
        "SGD lr 5, steps=20 (diverges: + lr sweep)": lambda: cr.inspect.diagnose(
            model, F.cross_entropy, (X, y), cr.optim.SGD(model.parameters(), lr=5.0),
            steps=20),
        "Adam, steps=20, val_data": lambda: cr.inspect.diagnose(
            model, F.cross_entropy, (X, y), cr.optim.Adam(model.parameters()), steps=20,
            val_data=(X_te, y_te)),
    }
    with np.errstate(all="ignore"):
        for name, fn in cases.items():
            print(f"  {name:<44} {_median(fn, args.repeats) * 1e3:8.1f} ms")

    epochs = 20

    def train(monitor, every=100):
        net = _mlp()
        callbacks = [cr.train.TrainingMonitor(every, emit=lambda f: None)] if monitor else []
        cr.train.fit(net, F.cross_entropy, cr.optim.Adam(net.parameters()), (X, y),
                     epochs=epochs, batch_size=32, seed=0, progress=False, compile_step=True,
                     callbacks=callbacks)

    steps = epochs * -(-len(X) // 32)
    train(False)  # warm up (imports, first traces)
    plain, watched = [], []
    for _ in range(args.repeats):  # interleaved, so drift in the machine's load hits both
        plain.append(_median(lambda: train(False), 1))
        watched.append(_median(lambda: train(True), 1))
    every_step = float(np.median([_median(lambda: train(True, every=1), 1)
                                  for _ in range(args.repeats)]))
    plain, watched = float(np.median(plain)), float(np.median(watched))
    sample = (every_step - plain) / steps
    print(f"fit, {epochs} epochs = {steps} compiled steps of batch 32:")
    print(f"  without the monitor {plain / steps * 1e6:8.1f} us/step")
    print(f"  with the monitor    {watched / steps * 1e6:8.1f} us/step  "
          f"(+{(watched - plain) / steps * 1e6:.1f} us/step, x{watched / plain:.3f})")
    print(f"  every step sampled  {every_step / steps * 1e6:8.1f} us/step: a sampled step costs "
          f"+{sample * 1e6:.0f} us; bursts of 2 every 100 steps: +{2 * sample / 100 * 1e6:.1f} "
          "us/step")


if __name__ == "__main__":
    main()
