"""PyTorch results committed as small .npz files, so torch parity holds in CI without torch.

Each family's generator lives in tools/golden/<family>.py (run with torch 2.13 installed:
`python tools/golden/<family>.py`) and writes tests/golden/<family>.npz. Tests call
`golden.load(family)[key]`; when torch is installed they also compare with it live.
"""

import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def load(family):
    """{key: ndarray} of tests/golden/<family>.npz."""
    with np.load(HERE / f"{family}.npz") as f:
        return {k: f[k] for k in f.files}


def save(family, arrays):
    """Write tests/golden/<family>.npz (from a generator script)."""
    np.savez_compressed(HERE / f"{family}.npz", **arrays)
