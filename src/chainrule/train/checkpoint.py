"""cr.save / cr.load: checkpoints as safetensors (the tensors) plus JSON metadata (everything else).

No pickle anywhere. `save` accepts a Module or Optimizer (their state_dict is saved) or any
nesting of dicts, lists and tuples whose leaves are Tensors, ndarrays, numbers, strings, bools
or None. Tensors are stored under their dotted path ("model.0.weight"); a flat state_dict keeps
its own keys, so the file loads in other safetensors readers with the same names.

Two properties safetensors lacks are added here. Integrity: the SHA-256 of the whole header
(every tensor's name, dtype, shape and offsets, and the metadata with the tree) and of every
tensor's bytes are recorded and checked on load, so a file that claims to be chainrule's and
fails a check is refused, naming what failed. Atomicity: the file is written to a temporary
file, fsynced and renamed, so a crash leaves the old checkpoint; the temporary file of a save
that was killed is removed by the next save to the same path.

Files from elsewhere: a plain safetensors file (PyTorch's `safetensors.torch.save_file`) loads
as a flat dict of Tensors, bf16 tensors as float32. Pickled PyTorch files (`torch.save`) are
refused, with the one line that converts them.
"""

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
from collections import Counter, OrderedDict

import numpy as np

from chainrule.core.backend import to_host
from chainrule.core.tensor import Tensor, from_array

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows, where an open file cannot be deleted anyway
    fcntl = None

_FORMAT = "chainrule"
_VERSION = 2  # 1: no header checksum (dtypes and shapes unchecked); still read
_TAG = "__cr__"
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
_MAX_DEPTH = 100  # nesting levels of a saved tree (deeper ones would overflow the stack)
_HEADER_SUM = "chainrule.header_sha256"
_PLACEHOLDER = "0" * 64  # the header checksum's value while the header is hashed

# safetensors dtype -> NumPy dtype; BF16 (the top 16 bits of a float32) loads as float32
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "U64": "<u8", "I32": "<i4",
           "U32": "<u4", "I16": "<i2", "U16": "<u2", "I8": "i1", "U8": "u1", "BOOL": "?",
           "C64": "<c8", "BF16": "<u2"}

# os.write and os.replace, looked up through these names so a test can make a save fail in
# the middle (a full disk) or just before the rename.
_write = os.write
_replace = os.replace


def _leaf_array(x):
    """Contiguous little-endian ndarray of a Tensor/ndarray: safetensors 0.8 silently writes a
    non-contiguous array's memory in storage order, scrambling transposed parameters."""
    a = x._data if isinstance(x, Tensor) else x
    a = to_host(a)  # a device tensor: copied to the host explicitly
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    # not np.ascontiguousarray: it turns a 0-d array (BatchNorm's num_batches_tracked) into 1-d
    return a if a.flags.c_contiguous else np.array(a, order="C")


class _Encoder:
    """Split an object tree into (JSON-able tree, {name: ndarray})."""

    def __init__(self):
        self.tensors = OrderedDict()

    def encode(self, obj, path):
        if len(path) > _MAX_DEPTH:
            raise ValueError(f"save: the tree is nested more than {_MAX_DEPTH} levels deep "
                             f"(at {'.'.join(path[:3])}...); flatten it")
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


class _Decoder:
    """Rebuild a saved tree from its JSON form; a malformed node is an error naming its place."""

    def __init__(self, tensors, path):
        self.tensors, self.path = tensors, path

    def _bad(self, where, what):
        return ValueError(f"load: {self.path}: the checkpoint's tree is malformed at "
                          f"{where or 'the top level'}: {what}")

    def decode(self, node, where="", depth=0):
        if depth > _MAX_DEPTH + 1:  # as deep as save allows, and a scalar's value
            raise self._bad(where, f"it is nested more than {_MAX_DEPTH} levels deep")
        if isinstance(node, list):
            return [self.decode(v, f"{where}.{i}".lstrip("."), depth + 1)
                    for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        tag = node.get(_TAG)
        if tag is None:
            return {k: self.decode(v, f"{where}.{k}".lstrip("."), depth + 1)
                    for k, v in node.items()}
        if tag == "tensor":
            name = node.get("name")
            if not isinstance(name, str) or name not in self.tensors:
                raise self._bad(where, f"it refers to tensor {name!r}, which the file does "
                                "not hold")
            return from_array(self.tensors[name])
        if tag == "float":
            value = node.get("value")
            if value not in ("inf", "-inf", "nan"):
                raise self._bad(where, f"a non-finite float must be inf, -inf or nan; got "
                                f"{value!r}")
            return float(value)
        if tag == "scalar":
            try:
                kind = np.dtype(node.get("dtype"))
                value = self.decode(node.get("value"), where, depth + 1)
                if kind.kind in "biuf" and isinstance(value, (bool, int, float)):
                    return kind.type(value)
            except (TypeError, ValueError, OverflowError):
                pass
            raise self._bad(where, f"not a NumPy scalar: dtype {node.get('dtype')!r}, value "
                            f"{node.get('value')!r:.60}")
        items = node.get("items")
        if tag in ("tuple", "counter", "dict") and not isinstance(items, list):
            raise self._bad(where, f"a {tag} needs a list of items; got {items!r:.60}")
        if tag == "tuple":
            return tuple(self.decode(v, f"{where}.{i}".lstrip("."), depth + 1)
                         for i, v in enumerate(items))
        if tag in ("counter", "dict"):
            out = Counter() if tag == "counter" else {}
            for item in items:
                if not (isinstance(item, list) and len(item) == 2):
                    raise self._bad(where, f"a {tag} item must be a [key, value] pair; got "
                                    f"{item!r:.60}")
                key = self.decode(item[0], where, depth + 1)
                value = self.decode(item[1], f"{where}.{key}".lstrip("."), depth + 1)
                try:
                    out[key] = value
                except TypeError:
                    raise self._bad(where, f"a {tag} key must be hashable; got a "
                                    f"{type(key).__name__}") from None
            return out
        raise self._bad(where, f"unknown entry type {tag!r}")


def _sha256(b):
    return hashlib.sha256(b).hexdigest()


def _header_sha256(header):
    """SHA-256 of the header as canonical JSON (names, dtypes, shapes, offsets, metadata)."""
    meta = dict(header.get("__metadata__") or {})
    meta.pop(_HEADER_SUM, None)  # a checksum cannot cover itself
    canonical = dict(header, __metadata__=meta)
    return _sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode())


def _safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("cr.save/cr.load need safetensors (pip install 'chainrule[all]')") \
            from None
    return safetensors


def save(obj, path):
    """Save a Module/Optimizer state or a tree of tensors and values to `path`, atomically.

        >>> import chainrule as cr, tempfile, os
        >>> model = cr.nn.Linear(3, 2)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> cr.train.save(model, path)
        >>> sorted(cr.train.load(path))
        ['bias', 'weight']
    """
    encoder = _Encoder()
    tree = encoder.encode(obj, [])
    tree_json = json.dumps(tree, allow_nan=False, separators=(",", ":"))
    atomic_write(os.fspath(path), _serialize(tree_json, encoder.tensors))


def _serialize(tree_json, tensors):
    """The file's bytes: `tensors` as safetensors, the tree and every SHA-256 in its metadata."""
    sums = json.dumps({k: _sha256(a.data) for k, a in tensors.items()}, separators=(",", ":"))
    metadata = {"format": _FORMAT, "chainrule.version": str(_VERSION),
                "chainrule.tree": tree_json, "chainrule.sha256": sums,
                _HEADER_SUM: _PLACEHOLDER}
    payload = bytearray(_safetensors().numpy.save(dict(tensors), metadata=metadata))
    n = int.from_bytes(payload[:8], "little")
    digest = _header_sha256(json.loads(payload[8:8 + n]))
    # the checksum has the placeholder's length, so patching it in moves nothing; the tree's
    # quotes are escaped in the header, so this key:value can occur only once
    field = f'"{_HEADER_SUM}":"{_PLACEHOLDER}"'.encode()
    at = payload.find(field, 8, 8 + n)
    if at < 0 or payload.find(field, at + 1, 8 + n) >= 0:  # pragma: no cover - safetensors
        raise RuntimeError("save: cannot place the header checksum in the safetensors header")
    at += len(field) - len(_PLACEHOLDER) - 1
    payload[at:at + len(_PLACEHOLDER)] = digest.encode()
    return payload


def _temp_pattern(base):
    return re.compile(re.escape(f".{base}.") + r"[a-z0-9_]{8}\.tmp")


def _remove_stale_temps(directory, base):
    """Delete the temporary files of earlier saves to `base` that died before their rename.

    A live save holds an exclusive lock on its temporary file until after its rename (the
    kernel drops it when the process dies), so only the files of dead saves are taken."""
    pattern = _temp_pattern(base)
    try:
        names = [n for n in os.listdir(directory) if pattern.fullmatch(n)]
    except OSError:
        return
    for name in names:
        tmp = os.path.join(directory, name)
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except OSError:  # gone already, or not ours to open
            continue
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(tmp)
        except OSError:  # locked: a save in progress (or, on Windows, a file still open)
            pass
        finally:
            os.close(fd)


def _create_temp(directory, base):
    """A new temporary file beside the target, opened for writing and locked -> (fd, path)."""
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:  # 0o666 less the umask, the mode a plain open() would give the target
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except FileExistsError:
            continue
        if fcntl is None:
            return fd, tmp
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:  # else another save's cleanup took it before the lock
            return fd, tmp
        os.close(fd)


def atomic_write(path, payload):
    """Write bytes (or str) to a temporary file beside `path`, fsync, then rename it over `path`.

    On failure (a full disk, a crash before the rename) the previous file is unchanged and the
    temporary file is removed; one left by a killed process is removed by the next save here.
    An OSError names the file: `save: cannot write PATH: <reason>`.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory} does not exist")
    base = os.path.basename(path)
    _remove_stale_temps(directory, base)
    try:
        fd, tmp = _create_temp(directory, base)
    except OSError as e:
        raise _named(e, path) from e
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[_write(fd, view):]
            os.fsync(fd)
            _replace(tmp, path)
        finally:
            os.close(fd)  # after the rename: the lock keeps other saves from taking the file
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _named(e, path) from e
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _named(e, path):
    """The OSError `e`, its message naming the file being saved (errno kept)."""
    message = f"save: cannot write {path}: {e.strerror or e}"
    return OSError(e.errno, message) if e.errno else OSError(message)


def _pickled(raw):
    """What a torch.save file is (a zip archive, a pickle), from its magic bytes, or None."""
    if raw[:4] == b"PK\x03\x04":
        return "a zip archive, as torch.save writes,"
    if raw[:1] == b"\x80" and raw[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a pickle, as torch.save (legacy format) writes,"
    return None


def _read_header(raw, path):
    """Parse the safetensors header, checking that the file holds every byte it describes."""
    if len(raw) < 8:
        raise ValueError(f"load: {path} is not a checkpoint (truncated or not safetensors): "
                         f"it has only {len(raw)} bytes")
    n = int.from_bytes(raw[:8], "little")
    if n > _MAX_HEADER or (n > len(raw) - 8 and raw[8:9] != b"{"):
        kind = _pickled(raw) if raw[8:9] != b"{" else None
        if kind:
            raise ValueError(f"load: {path} is {kind} which cr.load refuses on purpose "
                             "(unpickling can run arbitrary code); convert it once with torch: "
                             "import torch, safetensors.torch; safetensors.torch.save_file("
                             f"torch.load({path!r}), 'model.safetensors')")
        raise ValueError(f"load: {path} is not a safetensors checkpoint (its first 8 bytes do "
                         "not give a plausible header length)")
    if n > len(raw) - 8:
        raise ValueError(f"load: {path} is truncated: its header needs {n} bytes, the file has "
                         f"{len(raw) - 8} after the length field")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
        if not isinstance(header, dict) or not isinstance(header.get("__metadata__", {}), dict):
            raise TypeError
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    except (UnicodeDecodeError, ValueError, TypeError, KeyError, IndexError, RecursionError):
        raise ValueError(f"load: {path} is not a valid safetensors checkpoint (its header is "
                         "not the expected JSON; the file is corrupt or foreign)") from None
    expected = 8 + n + max(ends, default=0)
    if len(raw) < expected:
        raise ValueError(f"load: {path} is truncated: the header describes {expected} bytes, "
                         f"the file has {len(raw)}")
    if len(raw) > expected:
        raise ValueError(f"load: {path} has {len(raw) - expected} unexpected bytes after the "
                         "tensor data; the file is corrupt")
    return header


def _tensors(raw, header, path):
    """{name: (ndarray, its bytes)} of a safetensors file, as its own reader validates it."""
    for name, info in header.items():
        if name != "__metadata__" and info.get("dtype") not in _DTYPES:
            raise ValueError(f"load: {path}: tensor {name!r} has dtype {info.get('dtype')!r}, "
                             f"which chainrule cannot load (it reads {', '.join(_DTYPES)})")
    try:
        flat = _safetensors().deserialize(raw)
    except Exception as e:  # SafetensorError has no stable import path across versions
        raise ValueError(f"load: {path} is not a valid safetensors checkpoint ({e})") from None
    out = OrderedDict()
    for name, info in flat:
        a = np.frombuffer(info["data"], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
        if info["dtype"] == "BF16":  # bf16 is a float32 without its low 16 mantissa bits
            a = (a.astype("<u4") << 16).view("<f4")
        out[name] = (a, info["data"])
    return out


def _verify_header(header, meta, path):
    """Check the header of a file that claims to be chainrule's against its checksum."""
    claim = f"load: {path}: the file claims to be a chainrule checkpoint, but"
    version = meta.get("chainrule.version")
    if version == "1" and _HEADER_SUM not in meta:  # written before the header checksum
        tree_json, sums_json = meta.get("chainrule.tree"), meta.get("chainrule.sha256")
        if tree_json is None or sums_json is None or meta.get("chainrule.meta_sha256") != \
                _sha256((tree_json + "\n" + sums_json).encode()):
            raise ValueError(f"{claim} its metadata is damaged (its checksum does not match); "
                             "the file was modified or is corrupt")
    elif _HEADER_SUM not in meta:
        raise ValueError(f"{claim} it has no header checksum ({_HEADER_SUM}); the file was "
                         "modified or is corrupt")
    elif meta[_HEADER_SUM] != _header_sha256(header):
        raise ValueError(f"{claim} its header is damaged: the SHA-256 of its tensor names, "
                         "dtypes, shapes, offsets and metadata does not match the one recorded; "
                         "the file was modified or is corrupt")
    if meta.get("format") != _FORMAT or version not in ("1", str(_VERSION)):
        raise ValueError(f"{claim} it has format {meta.get('format')!r}, version {version!r}; "
                         f"this chainrule reads {_FORMAT!r} versions 1 and {_VERSION} (did a "
                         "newer chainrule write it?)")


def _verify_tensors(meta, tensors, path):
    """Check every tensor's bytes against the SHA-256 recorded when it was saved."""
    try:
        sums = json.loads(meta.get("chainrule.sha256"))
    except (TypeError, ValueError):
        sums = None
    if not isinstance(sums, dict):
        raise ValueError(f"load: {path}: the checkpoint's tensor checksums are missing or not "
                         "a JSON object")
    if set(sums) != set(tensors):
        raise ValueError(f"load: {path}: the file holds tensors {sorted(tensors)} but its "
                         f"metadata lists {sorted(sums)}; the file was modified")
    for name, digest in sums.items():
        if _sha256(tensors[name][1]) != digest:
            raise ValueError(f"load: {path}: tensor {name!r} is corrupt: its bytes changed "
                             "since it was saved (SHA-256 mismatch)")


def load(path, map_location=None):
    """Load a checkpoint written by `save`: the same tree, with Tensors in place of tensors
    (on the CPU, or on the device map_location names: 'cpu', 'cuda:0', a cr.device).

    A file written by `save` is checked whole (header and tensor bytes against the SHA-256
    recorded when it was saved); one that fails a check raises ValueError naming it. A plain
    safetensors file written elsewhere loads as a flat dict of Tensors (nothing to check);
    its bf16 tensors load as float32.

        >>> import chainrule as cr, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "bn.safetensors")
        >>> cr.save(cr.nn.BatchNorm1d(2).state_dict(), path)
        >>> cr.load(path)["num_batches_tracked"].shape
        ()
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such checkpoint: {path}") from None
    if map_location is None:
        return _load_bytes(raw, path)
    from chainrule._device import check_device

    dev = check_device("load", map_location)  # (refused before reading, naming the device)
    return _moved(_load_bytes(raw, path), dev)


def _moved(tree, dev):
    """The tree with every Tensor on dev (Parameters and their identity are not involved: a
    loaded tree holds fresh tensors)."""
    if isinstance(tree, Tensor):
        return tree.to(dev) if tree.requires_grad is False else tree.detach().to(dev)
    if isinstance(tree, dict):
        return type(tree)((k, _moved(v, dev)) for k, v in tree.items())
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        return type(tree)(_moved(v, dev) for v in tree)
    return tree


def _load_bytes(raw, path):
    """`load` of a file's bytes (`path` names it in errors)."""
    header = _read_header(raw, path)
    meta = header.get("__metadata__") or {}
    # chainrule writes five marks (the format and four chainrule.* keys): one damaged byte
    # cannot erase them all, so a damaged file of ours is never taken for a foreign one
    ours = meta.get("format") == _FORMAT or any(k.startswith("chainrule.") for k in meta)
    if ours:
        _verify_header(header, meta, path)
    tensors = _tensors(raw, header, path)
    if not ours:
        return OrderedDict((k, from_array(a)) for k, (a, _) in tensors.items())
    _verify_tensors(meta, tensors, path)
    try:
        tree = json.loads(meta["chainrule.tree"])
    except RecursionError:
        raise ValueError(f"load: {path}: the checkpoint's tree is nested too deeply to "
                         "read") from None
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"load: {path}: the checkpoint's tree is missing or not valid "
                         "JSON") from None
    return _Decoder({k: a for k, (a, _) in tensors.items()}, path).decode(tree)
