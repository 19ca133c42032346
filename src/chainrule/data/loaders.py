"""Loaders for data on disk: numeric CSV (header and target column), NumPy .npz, and IDX (MNIST).

Errors name the file and, for CSV, the row (the line number in the file) and the column.
Nothing here uses pickle: .npz files are read with allow_pickle=False.
"""

import csv
import gzip
import math
import os

import numpy as np

# IDX type codes (the third byte of the magic number) and their big-endian dtypes.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}


def _labels_or_values(y):
    """int64 when every target is a whole number (class labels), float32 otherwise."""
    if y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    return y.astype(np.float32)


def _resolve_target(target, header, n_columns, path):
    """The index of the target column, given as a name or an integer (negative counts back)."""
    if isinstance(target, str):
        if target in header:
            return header.index(target)
        try:
            index = int(target)
        except ValueError:
            raise ValueError(f"load_csv: {path}: no column named {target!r}; the columns are "
                             f"{header}") from None
    elif isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        index = int(target)
    else:
        raise TypeError(f"load_csv: target must be a column name or index; got {target!r}")
    if not -n_columns <= index < n_columns:
        raise ValueError(f"load_csv: {path}: target column index {index} is out of range for "
                         f"{n_columns} columns")
    return index % n_columns


def load_csv(path, target=-1, header=True, delimiter=","):
    """Read a numeric CSV -> (X float32 (n, d), y), y being column `target` (name or index).

    y is int64 when every target value is a whole number (class labels), float32 otherwise.
    A cell that is not a finite number raises ValueError naming the file, row and column.
    With header=False, columns are named by their 0-based index.
    """
    path = os.fspath(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(i, r) for i, r in enumerate(csv.reader(f, delimiter=delimiter), 1)
                    if any(cell.strip() for cell in r)]
    except FileNotFoundError:
        raise FileNotFoundError(f"load_csv: no such file: {path}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"load_csv: {path} is not a readable text CSV file ({e})") from None
    if header:
        if not rows:
            raise ValueError(f"load_csv: {path} is empty; expected a header row and data rows")
        names = [c.strip() for c in rows[0][1]]
        rows = rows[1:]
    else:
        names = [str(k) for k in range(len(rows[0][1]))] if rows else []
    if not rows:
        raise ValueError(f"load_csv: {path} has no data rows")
    n_columns = len(names)
    if n_columns < 2:
        raise ValueError(f"load_csv: {path} needs at least 2 columns (features and a target); "
                         f"got {n_columns}")
    k = _resolve_target(target, names, n_columns, path)
    values = np.empty((len(rows), n_columns), dtype=np.float64)
    for r, (line, cells) in enumerate(rows):
        if len(cells) != n_columns:
            raise ValueError(f"load_csv: {path}, row {line}: has {len(cells)} columns, "
                             f"expected {n_columns}")
        for c, cell in enumerate(cells):
            try:
                v = float(cell)
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                raise ValueError(f"load_csv: {path}, row {line}, column {c + 1} "
                                 f"({names[c]!r}): not a finite number; got {cell.strip()!r}")
            values[r, c] = v
    X = np.delete(values, k, axis=1).astype(np.float32)
    return X, _labels_or_values(values[:, k])


def load_npz(path, x_key=None, y_key=None):
    """Read (X, y) from a NumPy .npz archive (no pickle); keys default to X/x/data, y/target."""
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"load_npz: no such file: {path}") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"load_npz: {path} is not a readable .npz archive ({e})") from None
    if not hasattr(archive, "files"):
        raise ValueError(f"load_npz: {path} holds a single array, not an .npz archive of X and y")
    with archive:
        keys = archive.files

        def pick(key, candidates, what):
            if key is not None:
                if key not in keys:
                    raise KeyError(f"load_npz: {path} has no array {key!r}; it has {keys}")
                return key
            for c in candidates:
                if c in keys:
                    return c
            raise KeyError(f"load_npz: {path} has no {what} array (tried {list(candidates)}); "
                           f"it has {keys}; pass {what.lower()}_key=")

        try:
            X = archive[pick(x_key, ("X", "x", "data", "features"), "X")]
            y = archive[pick(y_key, ("y", "Y", "target", "targets", "labels"), "y")]
        except ValueError as e:  # object arrays need pickle, which is refused
            raise ValueError(f"load_npz: {path}: {e}") from None
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"load_npz: {path}: X and y must have the same number of rows; got "
                         f"{X.shape} and {y.shape}")
    return X, y


def load_idx(path):
    """Read an IDX file (the MNIST format; .gz allowed) -> ndarray in native byte order.

    The header is two zero bytes, a type code (0x08 uint8 ... 0x0E float64), the number of
    dimensions, then each dimension as a big-endian int32; the data follow, big-endian.
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"load_idx: no such file: {path}") from None
    except (OSError, EOFError) as e:
        raise ValueError(f"load_idx: {path}: cannot read ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"load_idx: {path} is not an IDX file (bad magic number "
                         f"{raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise ValueError(f"load_idx: {path} is truncated: the header needs {start} bytes, the "
                         f"file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = start + dtype.itemsize * math.prod(shape)
    if len(raw) != expected:
        raise ValueError(f"load_idx: {path} has {len(raw)} bytes but its header (shape {shape}, "
                         f"{dtype.newbyteorder('=')}) needs {expected}")
    data = np.frombuffer(raw, dtype, math.prod(shape), start).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def save_idx(path, array):
    """Write `array` as an IDX file (uint8, int8, int16, int32, float32 or float64)."""
    a = np.asarray(array)
    code = _IDX_CODES.get(a.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"save_idx: IDX stores uint8, int8, int16, int32, float32 or float64; "
                        f"got dtype {a.dtype}")
    if a.ndim > 255:
        raise ValueError(f"save_idx: IDX allows at most 255 dimensions; got {a.ndim}")
    header = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, ">u4").tobytes()
    body = np.ascontiguousarray(a, dtype=_IDX_TYPES[code]).tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + body)
