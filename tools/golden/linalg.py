"""Write tests/golden/linalg.npz: PyTorch's values and gradients for every row of
tests/op_rows/linalg.py that has a torch function, on the inputs tests/linalg/test_golden.py
draws, so PyTorch parity is checked in CI without torch. Run with torch 2.13 installed:

    PYTHONPATH=src python tools/golden/linalg.py
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

import numpy as np  # noqa: E402


def main():
    import torch
    from tests import golden
    from tests.linalg.test_golden import golden_inputs, golden_weights
    from tests.op_rows.linalg import ROWS

    arrays = {"torch_version": np.array(torch.__version__)}
    for r in ROWS:
        if r.torch is None:
            continue
        xs = [torch.tensor(x, requires_grad=True) for x in golden_inputs(r)]
        ys = r.torch(*xs)
        ys = ys if isinstance(ys, tuple) else (ys,)
        weights = golden_weights([tuple(y.shape) for y in ys])
        total = sum((y * torch.tensor(w)).sum() for y, w in zip(ys, weights) if y.requires_grad)
        grads = torch.autograd.grad(total, xs, allow_unused=True)
        for i, y in enumerate(ys):
            arrays[f"{r.id}|out{i}"] = y.detach().numpy()
        for i, g in enumerate(grads):
            arrays[f"{r.id}|grad{i}"] = np.zeros(xs[i].shape) if g is None else g.numpy()
    golden.save("linalg", arrays)
    print(f"wrote tests/golden/linalg.npz: {len(arrays) - 1} arrays, torch {torch.__version__}")


if __name__ == "__main__":
    main()
