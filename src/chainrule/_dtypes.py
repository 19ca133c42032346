"""PyTorch's dtype names, as the NumPy dtypes chainrule computes with (cr.float32 is
np.dtype('float32'), so ``x.dtype == cr.float32`` and ``dtype=cr.long`` work as in torch)."""

import builtins

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # noqa: A001 (torch's names)
float64 = double = np.dtype(np.float64)
complex64 = cfloat = np.dtype(np.complex64)
complex128 = cdouble = np.dtype(np.complex128)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)  # noqa: A001
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)  # noqa: A001

NAMES = ["float16", "half", "float32", "float", "float64", "double", "complex64", "cfloat",
         "complex128", "cdouble", "uint8", "int8", "int16", "short", "int32", "int", "int64",
         "long", "bool"]


class finfo:
    """Machine limits of a floating dtype, as torch.finfo (Python floats: eps, max, min, tiny,
    smallest_normal, resolution; bits)."""

    def __init__(self, type=None):
        f = np.finfo(np.float32 if type is None else type)
        py = builtins.float  # (this module's `float` is torch's dtype name)
        self.bits, self.dtype = f.bits, str(f.dtype)
        self.eps, self.max, self.min = py(f.eps), py(f.max), py(f.min)
        self.tiny = self.smallest_normal = py(f.tiny)
        self.resolution = py(f.resolution)

    def __repr__(self):
        return f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, " \
               f"eps={self.eps}, tiny={self.tiny}, dtype={self.dtype})"


def iinfo(type):
    """Limits of an integer dtype, as torch.iinfo (bits, max, min as ints)."""
    return np.iinfo(type)
