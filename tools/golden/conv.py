"""Write tests/golden/conv.npz: PyTorch's outputs and gradients for every op-table row of the
convolution family (tests/op_rows/conv.py) that has a torch function, on the inputs the op tests
draw, and torch's max-pool indices. Run with torch 2.13 installed, from the repository root:

    PYTHONPATH=src python tools/golden/conv.py
"""

import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# the max-pool index cases: (input shape, F.max_pool kwargs)
INDEX_CASES = [
    ((1, 2, 5, 6), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 6, 7), dict(kernel_size=(3, 2), stride=(2, 1), padding=1, dilation=(1, 2),
                        ceil_mode=True)),
    ((1, 2, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
]


def index_input(i, shape):
    return np.random.default_rng(100 + i).standard_normal(shape)


def weights(outputs):
    """The cotangents the gradients are taken with (one per output)."""
    rng = np.random.default_rng(1)
    return [rng.standard_normal(tuple(y.shape)) for y in outputs]


def main():
    import torch
    from tests.core.test_ops import _as_tuple, _inputs
    from tests.golden import save
    from tests.op_rows.conv import ROWS

    arrays = {"torch_version": np.array(torch.__version__)}
    ids = []
    for n, r in enumerate(r for r in ROWS if r.torch is not None):
        xs = [torch.tensor(x, requires_grad=True) for x in _inputs(r)]
        ys = _as_tuple(r.torch(*xs))
        total = sum((y * torch.tensor(w)).sum() for y, w in zip(ys, weights(ys)))
        total.backward()
        ids.append(r.id)
        for i, y in enumerate(ys):
            arrays[f"r{n}_y{i}"] = y.detach().numpy()
        for j, x in enumerate(xs):
            arrays[f"r{n}_g{j}"] = x.grad.numpy()
    arrays["ids"] = np.array(ids)
    for i, (shape, kw) in enumerate(INDEX_CASES):
        pool = torch.nn.functional.max_pool1d if len(shape) == 3 else \
            torch.nn.functional.max_pool2d
        _, idx = pool(torch.tensor(index_input(i, shape)), return_indices=True, **kw)
        arrays[f"index{i}"] = idx.numpy()
    save("conv", arrays)
    print(f"wrote tests/golden/conv.npz: {len(ids)} rows, {len(INDEX_CASES)} index cases")


if __name__ == "__main__":
    main()
