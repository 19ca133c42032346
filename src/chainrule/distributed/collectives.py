"""Collectives on tensors, in place on their buffers (PyTorch's torch.distributed names).

Reductions call MPI on the tensor's own typed buffer (`Tensor.numpy()`, copied through a
contiguous array only when the tensor is a strided view); gathers and broadcasts move raw
bytes. Arrays are never pickled; only the `*_object*` collectives pickle their (small) Python
objects, as PyTorch's do. Every call is started non-blocking and waited for with the process
group's deadline, and `async_op=True` returns the `Work` to wait for instead.
"""

import enum
import pickle

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.distributed import group as _group


class ReduceOp(enum.Enum):
    """How all_reduce and reduce_scatter combine the processes' values."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class Work:
    """A collective in flight (async_op=True): `wait()` blocks until the tensor holds the result."""

    __slots__ = ("_request", "_what", "_finish", "_done")

    def __init__(self, request, what, finish=None):
        self._request, self._what, self._finish, self._done = request, what, finish, False

    def wait(self):
        """Block until the collective has completed (DistributedError after the timeout)."""
        if not self._done:
            if self._request is not None:
                _group.wait(self._request, self._what)
            if self._finish is not None:
                self._finish()
            self._done = True
        return True

    def is_completed(self):
        """Whether wait() would return at once."""
        return self._done or self._request is None or bool(self._request.Test())


def _world(what, group):
    if group is not None:
        raise ValueError(f"{what}: only the default process group (group=None) exists; "
                         f"got {group!r}")
    return _group._get_world(what)


def _array(t, what, name="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: {name} must be a cr.Tensor; got {type(t).__name__}")
    return t.numpy()


def _contiguous(a):
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _bytes(a):
    """A flat uint8 view of a contiguous array (what gathers and broadcasts move)."""
    return a.reshape(-1).view(np.uint8)


def _src(src, world, what):
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) \
            or not 0 <= src < world.size:
        raise ValueError(f"{what}: src must be a rank in [0, {world.size - 1}]; got {src!r}")
    return int(src)


def _check_op(op, a, what):
    """The reduction's checks, the same in a world of one (a script fails the same everywhere)."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a cr.distributed.ReduceOp; got {op!r}")
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{what}: reductions need a floating-point or integer tensor; got "
                        f"dtype {a.dtype}")
    if op is ReduceOp.AVG and a.dtype.kind != "f":
        raise TypeError(f"{what}: ReduceOp.AVG needs a floating-point tensor; got dtype "
                        f"{a.dtype} (use SUM and divide)")


def _mpi_op(op):
    from mpi4py import MPI

    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}[op]


def _run(request, what, finish, async_op):
    work = Work(request, what, finish)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """tensor <- op over all processes of their `tensor` (in place; AVG = SUM / world_size).

        >>> import chainrule as cr, chainrule.distributed as dist
        >>> dist.init_process_group()
        >>> t = cr.tensor([1.0, 2.0])
        >>> dist.all_reduce(t, op=dist.ReduceOp.SUM)   # a world of one: unchanged
        >>> t.tolist()
        [1.0, 2.0]
        >>> dist.destroy_process_group()
    """
    what = "all_reduce"
    world = _world(what, group)
    a = _array(tensor, what)
    _check_op(op, a, what)
    if world.comm is None:
        return _run(None, what, None, async_op)
    mpi_op = _mpi_op(op)
    buf = _contiguous(a)
    from mpi4py import MPI

    request = world.comm.Iallreduce(MPI.IN_PLACE, buf, op=mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(buf, world.size, out=buf)
        if buf is not a:
            a[...] = buf

    return _run(request, what, finish, async_op)


def broadcast(tensor, src=0, group=None, async_op=False):
    """tensor <- rank src's tensor, on every process (in place)."""
    what = "broadcast"
    world = _world(what, group)
    a = _array(tensor, what)
    src = _src(src, world, what)
    if world.comm is None:
        return _run(None, what, None, async_op)
    buf = _contiguous(a)
    request = world.comm.Ibcast(_bytes(buf), root=src)
    finish = None if buf is a else (lambda: a.__setitem__(Ellipsis, buf))
    return _run(request, what, finish, async_op)


def _check_like(tensors, a, what, name):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{what}: {name} must be a list of cr.Tensor; got "
                        f"{type(tensors).__name__}")
    arrays = [_array(t, what, f"{name}[{i}]") for i, t in enumerate(tensors)]
    for i, b in enumerate(arrays):
        if b.shape != a.shape or b.dtype != a.dtype:
            raise ValueError(f"{what}: {name}[{i}] must have the shape and dtype of the input, "
                             f"{a.shape} {a.dtype}; got {b.shape} {b.dtype}")
    return arrays


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] <- rank r's tensor, on every process (one tensor per rank, same shape)."""
    what = "all_gather"
    world = _world(what, group)
    a = _contiguous(_array(tensor, what))
    outs = _check_like(tensor_list, a, what, "tensor_list")
    if len(outs) != world.size:
        raise ValueError(f"{what}: tensor_list must hold world_size = {world.size} tensors; "
                         f"got {len(outs)}")
    if world.comm is None:
        outs[0][...] = a
        return _run(None, what, None, async_op)
    recv = np.empty((world.size,) + a.shape, a.dtype)
    request = world.comm.Iallgather(_bytes(a), _bytes(recv))

    def finish():
        for r, out in enumerate(outs):
            out[...] = recv[r]

    return _run(request, what, finish, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output <- the inputs of ranks 0, 1, ... concatenated along dim 0 (world_size x rows)."""
    what = "all_gather_into_tensor"
    world = _world(what, group)
    a = _contiguous(_array(input_tensor, what, "input_tensor"))
    out = _array(output_tensor, what, "output_tensor")
    rows = a.shape[0] if a.ndim else 1
    expected = (world.size * rows,) + a.shape[1:]
    if out.shape != expected or out.dtype != a.dtype:
        raise ValueError(f"{what}: output_tensor must have shape {expected} and dtype "
                         f"{a.dtype} (world_size x the input's rows); got {out.shape} "
                         f"{out.dtype}")
    if world.comm is None:
        out[...] = a.reshape(expected)
        return _run(None, what, None, async_op)
    buf = _contiguous(out)
    request = world.comm.Iallgather(_bytes(a), _bytes(buf))
    finish = None if buf is out else (lambda: out.__setitem__(Ellipsis, buf))
    return _run(request, what, finish, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """output on rank r <- op over all processes of their input_list[r] (MPI_Reduce_scatter)."""
    what = "reduce_scatter"
    world = _world(what, group)
    out = _array(output, what, "output")
    ins = _check_like(input_list, out, what, "input_list")
    if len(ins) != world.size:
        raise ValueError(f"{what}: input_list must hold world_size = {world.size} tensors; "
                         f"got {len(ins)}")
    _check_op(op, out, what)
    if world.comm is None:
        out[...] = ins[0]
        return _run(None, what, None, async_op)
    mpi_op = _mpi_op(op)
    send = np.stack(ins)
    buf = _contiguous(out)
    request = world.comm.Ireduce_scatter_block(send, buf, op=mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(buf, world.size, out=buf)
        if buf is not out:
            out[...] = buf

    return _run(request, what, finish, async_op)


def _gather_bytes(world, payload, what):
    """Every process's bytes (a uint8 array each, lengths may differ), in rank order."""
    sizes = np.zeros(world.size, np.int64)
    _group.wait(world.comm.Iallgather(np.array([payload.size], np.int64), sizes), what)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    recv = np.empty(int(offsets[-1]), np.uint8)
    from mpi4py import MPI

    _group.wait(world.comm.Iallgatherv(payload, [recv, sizes, offsets[:-1], MPI.BYTE]), what)
    return [recv[offsets[r]:offsets[r + 1]] for r in range(world.size)]


def all_gather_object(object_list, obj, group=None):
    """object_list[r] <- rank r's obj (picklable Python objects; small ones, not arrays)."""
    what = "all_gather_object"
    world = _world(what, group)
    if not isinstance(object_list, list) or len(object_list) != world.size:
        raise ValueError(f"{what}: object_list must be a list of world_size = {world.size} "
                         f"entries; got {object_list!r}")
    if world.comm is None:
        object_list[0] = obj
        return
    payload = np.frombuffer(pickle.dumps(obj), np.uint8)
    for r, b in enumerate(_gather_bytes(world, payload, what)):
        object_list[r] = pickle.loads(b.tobytes())


def broadcast_object_list(object_list, src=0, group=None):
    """object_list's entries <- rank src's (picklable Python objects), in place."""
    what = "broadcast_object_list"
    world = _world(what, group)
    src = _src(src, world, what)
    if not isinstance(object_list, list):
        raise TypeError(f"{what}: object_list must be a list; got {type(object_list).__name__}")
    if world.comm is None:
        return
    payload = np.frombuffer(pickle.dumps(object_list), np.uint8) if world.rank == src else None
    size = np.array([0 if payload is None else payload.size], np.int64)
    _group.wait(world.comm.Ibcast(size, root=src), what)
    buf = payload.copy() if payload is not None else np.empty(int(size[0]), np.uint8)
    _group.wait(world.comm.Ibcast(buf, root=src), what)
    received = pickle.loads(buf.tobytes())
    if len(received) != len(object_list):
        raise ValueError(f"{what}: rank {src} sent {len(received)} objects, this rank's list "
                         f"has {len(object_list)}")
    object_list[:] = received


def all_gather_rows(array, group=None):
    """The rows of every process's `array`, concatenated in rank order (row counts may differ).

    A chainrule addition (PyTorch's all_gather needs equal shapes): metrics over a dataset
    sharded unevenly. A process with no rows may pass None; the trailing shape and dtype of
    the others must agree.
    """
    what = "all_gather_rows"
    world = _world(what, group)
    if array is not None:
        array = _contiguous(array.numpy() if isinstance(array, Tensor) else np.asarray(array))
        if array.ndim == 0:
            raise ValueError(f"{what}: array must have at least one dimension; got a scalar")
    if world.comm is None:
        if array is None:
            raise ValueError(f"{what}: no process has rows (array is None)")
        return array.copy()
    headers = [None] * world.size
    all_gather_object(headers, None if array is None else (array.shape[1:], array.dtype.str))
    kinds = {h for h in headers if h is not None}
    if not kinds:
        raise ValueError(f"{what}: no process has rows (array is None on every rank)")
    if len(kinds) > 1:
        raise ValueError(f"{what}: the processes' arrays differ in trailing shape or dtype; "
                         f"got (shape[1:], dtype) {headers} by rank")
    trailing, dtype = kinds.pop()
    local = np.zeros((0,) + trailing, dtype) if array is None else array
    parts = _gather_bytes(world, _bytes(local), what)
    return np.concatenate([p.view(dtype).reshape((-1,) + trailing) for p in parts])
