"""DistributedDataParallel: a replica of the model per process, gradients averaged in buckets.

The parameters are grouped into buckets of about `bucket_cap_mb`: at first in reverse order
(backward produces the last layers' gradients first), then, from the second step on, in the
order in which the first step's gradients arrived (rank 0's order, as PyTorch rebuilds its
buckets). During backward each bucket is all-reduced,
non-blocking, as soon as its last gradient has arrived, so communication overlaps the rest of
backward; the last gradient waits for every bucket and writes the averaged gradients back into
`p.grad`. After `loss.backward()` every process holds the same gradients, as with PyTorch.

How a parameter's gradient is known to be complete: the forward pass walks the graph it just
built and marks the parameters it uses; the engine delivers each leaf's gradient once per
backward, the sum over all its uses (as PyTorch), to a tensor hook on each parameter
(`p.register_hook`, which runs before the engine accumulates). `_Reducer.ready` is all the
bucket logic. A weight penalty computed outside the module is part of that sum, so it is
averaged with the rest, as with PyTorch.
"""

import contextlib
import functools
import weakref

import numpy as np

from chainrule.compile import effect
from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, from_array
from chainrule.distributed import group as _group
from chainrule.distributed.collectives import all_gather_object, broadcast
from chainrule.nn.module import Module

_WHAT = "DistributedDataParallel"


class DistributedDataParallel(Module):
    """Wrap `module` for data-parallel training: same weights everywhere, gradients averaged.

    On construction every process receives rank 0's parameters and buffers. Each forward in
    training mode broadcasts rank 0's buffers first (broadcast_buffers=True, as PyTorch: batch
    norm normalizes by each process's own batch, the running statistics follow rank 0's).
    `grad_weight` is the factor each process's gradient gets before the sum: None means
    1 / world_size (the average); `cr.train.fit` sets local_rows / global_rows so that uneven
    slices of a global batch give the full batch's mean gradient.

        >>> import chainrule as cr, chainrule.distributed as dist
        >>> dist.init_process_group()
        >>> model = dist.DistributedDataParallel(cr.nn.Linear(3, 1))
        >>> model(cr.ones(4, 3)).sum().backward()      # gradients averaged over the processes
        >>> model.module.weight.grad.tolist()
        [[4.0, 4.0, 4.0]]
        >>> dist.destroy_process_group()
    """

    def __init__(self, module, device_ids=None, output_device=None, broadcast_buffers=True,
                 bucket_cap_mb=25, find_unused_parameters=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"{_WHAT}: module must be a cr.nn.Module; got "
                            f"{type(module).__name__}")
        if device_ids is not None or output_device is not None:
            raise ValueError(f"{_WHAT}: chainrule runs on the CPU; device_ids and "
                             f"output_device must be None; got {device_ids!r}, "
                             f"{output_device!r}")
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) \
                or not bucket_cap_mb > 0:
            raise ValueError(f"{_WHAT}: bucket_cap_mb must be a positive number; got "
                             f"{bucket_cap_mb!r}")
        # find_unused_parameters is accepted for PyTorch scripts: the graph walk of every
        # forward finds them anyway
        world = _group._get_world(_WHAT)
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        self.grad_weight = None
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        _check_same_model(world, module)
        with _mode.no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                broadcast(t, 0)
        self._reducer = _Reducer([p for _, p in named], [n for n, _ in named],
                                 int(bucket_cap_mb * 2 ** 20), world)
        ref = weakref.ref(self._reducer)
        handles = [p.register_hook(functools.partial(_hook, ref, i))
                   for i, (_, p) in enumerate(named)]
        weakref.finalize(self, _remove, handles)

    def forward(self, *inputs, **kwargs):
        grad_mode = _mode.is_grad_enabled()
        if grad_mode and self.training and self.broadcast_buffers:
            self._sync_buffers()
        out = self.module(*inputs, **kwargs)
        if grad_mode:
            counts = self._reducer.uses(out)
            if counts is not None:
                self._prepare(counts)
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates gradients locally; the first backward after reduces."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def synchronize(self):
        """Finish this step's reduction now (no-op when backward finished it, the usual case).

        Needed only when backward did not deliver a gradient for every use the forward graph
        recorded (an output branch that the loss ignores): those parameters contribute the
        `.grad` they have.
        """
        self._reducer.synchronize()

    def reduce_without_backward(self):
        """Take part in this step's reduction without a batch: every parameter contributes its
        current `.grad` (zeros where None), times grad_weight. For a process whose slice of
        the global batch is empty."""
        self._reducer.prepare(self._reducer.last_counts, self._weight(), force=True)
        self._reducer.synchronize()

    def _weight(self):
        if self.grad_weight is None:
            return 1.0 / self._reducer.world.size
        return float(self.grad_weight)

    @effect
    def _prepare(self, counts):
        # an effect: cr.compile replays it, reading no_sync and grad_weight at each step
        if self.require_backward_grad_sync:
            self._reducer.prepare(counts, self._weight())
        else:
            self._reducer.finished = False  # gradients accumulate locally

    @effect
    def _sync_buffers(self):
        if self._reducer.world.size > 1:
            for b in self.module.buffers():
                broadcast(b, 0)

    def extra_repr(self):
        r = self._reducer
        return (f"world_size={r.world.size}, buckets={len(r.buckets)}, "
                f"bucket_cap_mb={self.bucket_cap_mb}")


def _check_same_model(world, module):
    """Every process must wrap the same parameters and buffers (else the broadcasts garble)."""
    if world.size == 1:
        return
    layout = [(n, tuple(t.shape), t.dtype.str) for n, t in module.state_dict().items()]
    layouts = [None] * world.size
    all_gather_object(layouts, layout)
    for r, other in enumerate(layouts):
        if other != layouts[0]:
            diff = next(((a, b) for a, b in zip(layouts[0], other) if a != b),
                        (len(layouts[0]), len(other)))
            raise ValueError(f"{_WHAT}: rank {r} wraps a different model than rank 0: "
                             f"(name, shape, dtype) {diff[1]} where rank 0 has {diff[0]}")


def _hook(reducer_ref, i, g):
    reducer = reducer_ref()
    return None if reducer is None else reducer.hook(i, g)


def _remove(handles):
    for h in handles:
        h.remove()


def _plan(params, order, cap_bytes):
    """Buckets of parameter indices in launch order: `order` cut at a change of dtype or when a
    bucket would pass cap_bytes (a parameter larger than the cap gets a bucket of its own)."""
    buckets, current, size, dtype = [], [], 0, None
    for i in order:
        a = params[i]._data
        if current and (a.dtype != dtype or size + a.nbytes > cap_bytes):
            buckets.append(current)
            current, size = [], 0
        current.append(i)
        size += a.nbytes
        dtype = a.dtype
    if current:
        buckets.append(current)
    return buckets


def _tensors(out):
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for o in out:
            yield from _tensors(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _tensors(o)


class _Reducer:
    """The gradient buckets of one DDP and the state of the current step's reduction."""

    def __init__(self, params, names, cap_bytes, world):
        self.params, self.names, self.world = params, names, world
        self.index = {id(p): i for i, p in enumerate(params)}
        self.cap_bytes = cap_bytes
        self._build(list(reversed(range(len(params)))))
        n = len(params)
        self.expected, self.seen, self.is_ready = (0,) * n, [0] * n, [True] * n
        self.last_counts = (1,) * n
        self.armed, self.launched, self.weight = False, 0, 1.0
        self.finished = False  # this step's reduction is done: a late gradient is an error
        self.arrival, self.rebuilt = [], False  # the first step's order of ready gradients

    def _build(self, order):
        """Buckets, their flat arrays and each parameter's view into one, for this order."""
        params = self.params
        self.buckets = _plan(params, order, self.cap_bytes)
        self.flat, self.views, self.bucket_of = [], [None] * len(params), [0] * len(params)
        for b, members in enumerate(self.buckets):
            a = params[members[0]]._data
            flat = np.zeros(sum(params[i]._data.size for i in members), a.dtype)
            offset = 0
            for i in members:
                shape = params[i]._data.shape
                n = params[i]._data.size
                self.views[i] = flat[offset:offset + n].reshape(shape)
                self.bucket_of[i] = b
                offset += n
            self.flat.append(flat)
        self.requests = [None] * len(self.buckets)
        self.pending = [0] * len(self.buckets)

    def uses(self, outputs):
        """How many gradients each parameter will receive: 1 if the outputs' graph uses it (the
        engine delivers the sum of a leaf's uses once), else 0."""
        stack = [t.grad_fn for t in _tensors(outputs) if t.grad_fn is not None]
        if not stack:
            return None
        counts, seen, index = [0] * len(self.params), set(), self.index
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for x in node.inputs:
                f = x.grad_fn
                if f is not None:
                    if id(f) not in seen:
                        stack.append(f)
                elif x.requires_grad:
                    i = index.get(id(x))
                    if i is not None:
                        counts[i] = 1
        return tuple(counts)

    def prepare(self, counts, weight, force=False):
        """Arm the hooks for a step whose forward graph uses parameter i counts[i] times."""
        if self.armed and any(self.seen):
            left = [self.names[i] for i in range(len(self.params)) if not self.is_ready[i]]
            self.armed = False
            raise RuntimeError(
                f"{_WHAT}: the previous step's gradient reduction did not finish: backward() "
                f"delivered fewer gradients than the forward graph holds uses of {left} (an "
                "output branch that the loss does not use?); call model.synchronize() after "
                "backward()")
        self.finished = False
        if self.world.size == 1 and weight == 1.0 and not force:
            self.armed = False  # one process, nothing to scale: gradients stay as they are
            return
        n = len(self.params)
        self.expected, self.last_counts = counts, counts
        self.seen, self.is_ready = [0] * n, [False] * n
        self.pending = [len(b) for b in self.buckets]
        self.requests = [None] * len(self.buckets)
        self.launched, self.weight, self.armed = 0, weight, True
        if not self.rebuilt:
            self.arrival = []
        for i, c in enumerate(counts):
            if c == 0:  # unused in this step's graph: its gradient (if any) is final now
                g = self.params[i].grad
                self.ready(i, None if g is None else g._data)

    def hook(self, i, g):
        """Parameter i's tensor hook (before the engine adds g to p.grad)."""
        if not self.armed:
            if self.finished:
                self.finished = False
                raise RuntimeError(
                    f"{_WHAT}: parameter {self.names[i]!r} received a gradient after this "
                    "step's reduction had finished: it is used outside the wrapped module's "
                    "forward (a penalty on the weights added to the loss?), or backward ran "
                    "twice after one forward; compute it inside the module's forward")
            return None
        self.seen[i] += 1
        seen, expected = self.seen[i], self.expected[i]
        if seen < expected:
            return None
        if seen > expected or self.is_ready[i]:
            self.armed = False
            raise RuntimeError(
                f"{_WHAT}: parameter {self.names[i]!r} received {seen} gradients, but the "
                f"forward graph uses it {expected} times: it is used outside the wrapped "
                "module's forward (a penalty on the weights added to the loss?), or the model "
                "ran forward twice before one backward; compute it inside the module's forward")
        if g.requires_grad:
            self.armed = False
            raise RuntimeError(f"{_WHAT}: backward(create_graph=True) is not supported (the "
                               "all-reduced gradients would not be differentiable)")
        p = self.params[i]
        local, view = g._data, self.views[i]  # (the view outlives a rebuild of the buckets)
        if p.grad is not None:  # accumulated under no_sync(): reduce the sum
            local = np.add(p.grad._data, local, out=view)
        if not self.ready(i, local, current=i):
            return None
        p.grad = None  # the engine stores the reduced gradient as p's (first) gradient
        return from_array(view)

    def ready(self, i, grad, current=None):
        """Parameter i's local gradient is final (grad, an array; None: it has none).

        Weight it into its bucket, start every bucket that is now complete (in bucket order,
        the same on every process), and when the last has started wait for them all and
        write the reduced gradients into p.grad (except parameter `current`, whose hook hands
        its gradient to the engine). Returns whether the reduction finished.
        """
        view = self.views[i]
        if grad is None:
            view.fill(0)
        else:
            np.multiply(grad, self.weight, out=view)
        self.is_ready[i] = True
        if not self.rebuilt:
            self.arrival.append(i)
        self.pending[self.bucket_of[i]] -= 1
        while self.launched < len(self.buckets) and self.pending[self.launched] == 0:
            self._launch(self.launched)
            self.launched += 1
        if self.launched < len(self.buckets):
            self._progress()
            return False
        self._finish(current)
        return True

    def _launch(self, b):
        if self.world.comm is not None:
            from mpi4py import MPI

            self.requests[b] = self.world.comm.Iallreduce(MPI.IN_PLACE, self.flat[b],
                                                          op=MPI.SUM)

    def _progress(self):
        # MPI advances non-blocking collectives only inside MPI calls: poke it while the
        # engine computes the next gradients
        started = [r for r in self.requests[:self.launched] if r is not None]
        if started:
            from mpi4py import MPI

            MPI.Request.Testall(started)

    def _finish(self, current):
        for r in self.requests:
            if r is not None:
                _group.wait(r, f"{_WHAT} (gradient all-reduce)")
        self.armed, self.finished = False, True
        for j, p in enumerate(self.params):
            if j == current:
                continue
            if p.grad is not None:
                np.copyto(p.grad._data, self.views[j])
            elif self.expected[j] > 0 or self.seen[j] > 0:
                p.grad = from_array(self.views[j].copy())
        if not self.rebuilt:
            self._rebuild()

    def _rebuild(self):
        """Re-cut the buckets in the order the first step's gradients arrived, rank 0's order
        on every process (a bucket then completes as early as backward allows)."""
        self.rebuilt = True
        order = from_array(np.array(self.arrival, np.int64))
        if self.world.size > 1:
            broadcast(order, 0)
        self._build(order.numpy().tolist())

    def synchronize(self):
        """Mark every parameter that is still waiting as ready with the .grad it has."""
        if not self.armed:
            return
        for i in range(len(self.params)):
            if not self.is_ready[i]:
                g = self.params[i].grad
                self.ready(i, None if g is None else g._data)
