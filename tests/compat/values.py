"""What an idiom returned, as flat {key: ndarray} (the same for torch and chainrule), and the
comparison of two such results. Tensors become arrays (dtype kept), Size/tuples/lists/named
tuples are walked, dtypes become their names ('float32' for torch.float32 and cr.float32),
numbers, bools and strings become 0-d arrays."""

import numpy as np


def flatten(value, key="", out=None):
    """{key path: ndarray} of a returned value."""
    out = {} if out is None else out
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch or chainrule Tensor
        out[key] = np.array(value.detach().numpy())
    elif isinstance(value, dict):
        for k in sorted(value, key=str):
            flatten(value[k], f"{key}/{k}", out)
    elif isinstance(value, (tuple, list)):
        out[f"{key}#len"] = np.asarray(len(value))
        for i, v in enumerate(value):
            flatten(v, f"{key}/{i}", out)
    elif _is_dtype(value):
        out[key] = np.asarray(str(value).replace("torch.", ""))
    elif value is None:
        out[key] = np.asarray("None")
    elif isinstance(value, (bool, int, float, str, np.generic, np.ndarray)):
        out[key] = np.asarray(value)
    else:
        raise TypeError(f"idiom returned a {type(value).__name__} at {key!r}: return tensors, "
                        "numbers, strings, dtypes or tuples of them")
    return out


def _is_dtype(value):
    return isinstance(value, np.dtype) or type(value).__name__ == "dtype"


def compare(got, want, where):
    """Assert two flattened results agree: same keys, dtypes, shapes, values (float32
    tolerance for floats; exact otherwise)."""
    assert sorted(got) == sorted(want), f"{where}: keys differ: {sorted(got)} vs {sorted(want)}"
    for k in want:
        a, b = got[k], want[k]
        assert a.shape == b.shape, f"{where}{k}: shape {a.shape} vs {b.shape}"
        if b.dtype.kind in "fc":
            assert a.dtype == b.dtype, f"{where}{k}: dtype {a.dtype} vs {b.dtype}"
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True,
                                       err_msg=f"{where}{k}")
        elif b.dtype.kind in "iub":
            assert a.dtype.kind in "iub" and a.dtype.itemsize == b.dtype.itemsize or (
                a.ndim == 0), f"{where}{k}: dtype {a.dtype} vs {b.dtype}"
            np.testing.assert_array_equal(a, b, err_msg=f"{where}{k}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"{where}{k}")
