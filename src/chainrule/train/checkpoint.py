"""cr.save / cr.load: checkpoints as safetensors (the tensors) plus JSON metadata (everything else).

No pickle anywhere. `save` accepts a Module or Optimizer (their state_dict is saved) or any
nesting of dicts, lists and tuples whose leaves are Tensors, ndarrays, numbers, strings, bools
or None. Tensors are stored under their dotted path ("model.0.weight"); a flat state_dict keeps
its own keys, so the file loads in other safetensors readers with the same names.

Two properties safetensors lacks are added here: every tensor's SHA-256 is recorded in the
metadata and checked on load (a changed byte is reported with the tensor's name), and the file
is written atomically (temporary file, fsync, rename), so a crash leaves the old checkpoint.
"""

import hashlib
import json
import math
import os
import tempfile
from collections import Counter, OrderedDict

import numpy as np

from chainrule.core.tensor import Tensor, from_array

_FORMAT = "chainrule"
_VERSION = 1
_TAG = "__cr__"
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header

# os.replace, looked up through this name so a test can make the save fail just before it.
_replace = os.replace


def _leaf_array(x):
    """Contiguous little-endian ndarray of a Tensor/ndarray: safetensors 0.8 silently writes a
    non-contiguous array's memory in storage order, scrambling transposed parameters."""
    a = x._data if isinstance(x, Tensor) else x
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return np.ascontiguousarray(a)


class _Encoder:
    """Split an object tree into (JSON-able tree, {name: ndarray})."""

    def __init__(self):
        self.tensors = OrderedDict()

    def encode(self, obj, path):
        kind = type(obj)
        if kind is float:
            return obj if math.isfinite(obj) else {_TAG: "float", "value": repr(obj)}
        if obj is None or kind is str or kind is int or kind is bool:
            return obj
        if hasattr(obj, "state_dict") and callable(obj.state_dict) and not isinstance(obj, dict):
            obj = obj.state_dict()
        if isinstance(obj, (Tensor, np.ndarray)):
            name = ".".join(path) if path else "tensor"
            if name in self.tensors:
                raise ValueError(f"save: two tensors would both be stored as {name!r}; rename "
                                 "keys so that their dotted paths differ")
            a = _leaf_array(obj)
            if a.dtype.kind not in "biuf":
                raise TypeError(f"save: tensor {name!r} has dtype {a.dtype}, which safetensors "
                                "cannot store")
            self.tensors[name] = a
            return {_TAG: "tensor", "name": name}
        if obj is None or isinstance(obj, (bool, str, int)):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {_TAG: "float", "value": repr(obj)}
        if isinstance(obj, np.generic):
            if obj.dtype.kind not in "biuf":
                raise TypeError(f"save: cannot store a NumPy {obj.dtype} scalar at "
                                f"{'.'.join(path) or 'the top level'}")
            return {_TAG: "scalar", "dtype": obj.dtype.str, "value": self.encode(obj.item(), path)}
        if isinstance(obj, Counter):
            return {_TAG: "counter", "items": [[self.encode(k, path + [str(k)]), v]
                                               for k, v in obj.items()]}
        if isinstance(obj, dict):
            if all(isinstance(k, str) for k in obj) and _TAG not in obj:
                return {k: self.encode(v, path + [k]) for k, v in obj.items()}
            return {_TAG: "dict", "items": [[self.encode(k, path + [str(k)]),
                                             self.encode(v, path + [str(k)])]
                                            for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            items = [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
            return items if isinstance(obj, list) else {_TAG: "tuple", "items": items}
        raise TypeError(f"save: cannot store a {type(obj).__name__} at "
                        f"{'.'.join(path) or 'the top level'}; only Tensors, ndarrays, numbers, "
                        "strings, bools, None, lists, tuples and dicts (no pickle)")


def _decode(node, tensors):
    if isinstance(node, list):
        return [_decode(v, tensors) for v in node]
    if not isinstance(node, dict):
        return node
    tag = node.get(_TAG)
    if tag is None:
        return {k: _decode(v, tensors) for k, v in node.items()}
    if tag == "tensor":
        return from_array(tensors[node["name"]])
    if tag == "float":
        return float(node["value"])
    if tag == "scalar":
        return np.dtype(node["dtype"]).type(_decode(node["value"], tensors))
    if tag == "tuple":
        return tuple(_decode(v, tensors) for v in node["items"])
    if tag == "counter":
        return Counter({_decode(k, tensors): v for k, v in node["items"]})
    if tag == "dict":
        return {_decode(k, tensors): _decode(v, tensors) for k, v in node["items"]}
    raise ValueError(f"load: unknown entry type {tag!r} in the checkpoint metadata")


def _sha256(b):
    return hashlib.sha256(b).hexdigest()


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("cr.save/cr.load need safetensors (pip install 'chainrule[all]')") \
            from None
    return safetensors.numpy


def save(obj, path):
    """Save a Module/Optimizer state or a tree of tensors and values to `path`, atomically.

        >>> import chainrule as cr, tempfile, os
        >>> model = cr.nn.Linear(3, 2)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> cr.train.save(model, path)
        >>> sorted(cr.train.load(path))
        ['bias', 'weight']
    """
    st = _safetensors_numpy()
    encoder = _Encoder()
    tree = encoder.encode(obj, [])
    tensors = encoder.tensors
    tree_json = json.dumps(tree, allow_nan=False, separators=(",", ":"))
    sums = json.dumps({k: _sha256(a.tobytes()) for k, a in tensors.items()},
                      separators=(",", ":"))
    metadata = {"format": _FORMAT, "chainrule.version": str(_VERSION),
                "chainrule.tree": tree_json, "chainrule.sha256": sums,
                "chainrule.meta_sha256": _sha256((tree_json + "\n" + sums).encode())}
    payload = st.save(dict(tensors), metadata=metadata)
    atomic_write(os.fspath(path), payload)


def atomic_write(path, payload):
    """Write bytes (or str) to a temporary file beside `path`, fsync, then rename it over `path`."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        _replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _read_header(raw, path):
    """Parse the safetensors header, checking that the file holds every byte it describes."""
    if len(raw) < 8:
        raise ValueError(f"load: {path} is not a checkpoint (truncated or not safetensors): "
                         f"it has only {len(raw)} bytes")
    n = int.from_bytes(raw[:8], "little")
    if n > _MAX_HEADER or (n > len(raw) - 8 and raw[8:9] != b"{"):
        raise ValueError(f"load: {path} is not a safetensors checkpoint (its first 8 bytes do "
                         "not give a plausible header length)")
    if n > len(raw) - 8:
        raise ValueError(f"load: {path} is truncated: its header needs {n} bytes, the file has "
                         f"{len(raw) - 8} after the length field")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    except (UnicodeDecodeError, ValueError, TypeError, KeyError, IndexError):
        raise ValueError(f"load: {path} is not a valid safetensors checkpoint (its header is "
                         "not the expected JSON; the file is corrupt or foreign)") from None
    if not isinstance(header, dict):
        raise ValueError(f"load: {path} is not a valid safetensors checkpoint")
    expected = 8 + n + max(ends, default=0)
    if len(raw) < expected:
        raise ValueError(f"load: {path} is truncated: the header describes {expected} bytes, "
                         f"the file has {len(raw)}")
    if len(raw) > expected:
        raise ValueError(f"load: {path} has {len(raw) - expected} unexpected bytes after the "
                         "tensor data; the file is corrupt")
    return header, 8 + n


def load(path):
    """Load a checkpoint written by `save`: the same tree, with Tensors in place of tensors.

    Each tensor's bytes are checked against the SHA-256 recorded when it was saved. A plain
    safetensors file written elsewhere loads as a flat dict of Tensors (no checksums to check).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such checkpoint: {path}") from None
    header, start = _read_header(raw, path)
    meta = header.get("__metadata__") or {}
    st = _safetensors_numpy()
    try:
        arrays = st.load(raw)
    except Exception as e:  # SafetensorError has no stable import path across versions
        raise ValueError(f"load: {path} is not a valid safetensors checkpoint ({e})") from None
    if meta.get("format") != _FORMAT:
        return OrderedDict((k, from_array(arrays[k])) for k in header if k != "__metadata__")
    tree_json, sums_json = meta.get("chainrule.tree"), meta.get("chainrule.sha256")
    if tree_json is None or sums_json is None or meta.get("chainrule.meta_sha256") != \
            _sha256((tree_json + "\n" + sums_json).encode()):
        raise ValueError(f"load: {path}: the checkpoint's metadata is damaged (its checksum "
                         "does not match); the file was modified or is corrupt")
    sums = json.loads(sums_json)
    if set(sums) != set(arrays):
        raise ValueError(f"load: {path}: the file holds tensors {sorted(arrays)} but its "
                         f"metadata lists {sorted(sums)}; the file was modified")
    for name, digest in sums.items():
        lo, hi = header[name]["data_offsets"]
        if _sha256(raw[start + lo:start + hi]) != digest:
            raise ValueError(f"load: {path}: tensor {name!r} is corrupt: its bytes changed "
                             "since it was saved (SHA-256 mismatch)")
    return _decode(json.loads(tree_json), arrays)
