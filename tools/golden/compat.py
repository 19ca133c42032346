"""Write tests/golden/compat.npz: PyTorch's results for every idiom of tests/compat/idioms.py
every tutorial script of tests/compat/scripts/ and the optimizer trajectories of
tests/optim/test_optim_compat.py (run with torch 2.13 installed, from the
repository root: `python tools/golden/compat.py`)."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

import torch  # noqa: E402
from tests import golden  # noqa: E402
from tests.compat.idioms import IDIOMS  # noqa: E402
from tests.compat.values import flatten  # noqa: E402


def main():
    torch.set_num_threads(1)
    arrays = {}
    for name, fn in sorted(IDIOMS.items()):
        for k, v in flatten(fn(torch)).items():
            arrays[f"idiom:{name}{k}"] = v
    try:
        from tests.compat import scripts
    except ImportError:
        scripts = None
    if scripts is not None:
        for k, v in scripts.golden_arrays(torch).items():
            arrays[f"script:{k}"] = v
    from tests.optim import test_optim_compat

    arrays.update(test_optim_compat.golden_arrays(torch))
    golden.save("compat", arrays)
    print(f"wrote tests/golden/compat.npz: {len(arrays)} arrays, torch {torch.__version__}")


if __name__ == "__main__":
    main()
