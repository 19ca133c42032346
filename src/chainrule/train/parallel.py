"""Data-parallel `fit`: each process takes its slice of every global batch; gradients, losses and
metrics are reduced across the processes.

Every process draws the same global batches (rank 0's random states are broadcast when training
starts, so the shuffles agree) and takes a contiguous slice of each, the slices' sizes differing
by at most one row. A process's gradient is weighted by its share of the batch,
local_rows / global_rows, before the sum, so the reduced gradient is the global batch's mean
gradient, uneven last batch included: without batch norm or dropout the run follows the
1-process run up to floating-point summation order. A loader with a DistributedSampler keeps
PyTorch's meaning instead: its batches are per process, and gradients are averaged.
"""

import numpy as np

from chainrule import distributed as dist
from chainrule.core import mode as _mode
from chainrule.core.tensor import from_array
from chainrule.data.sampler import DistributedSampler
from chainrule.distributed.ddp import DistributedDataParallel
from chainrule.train.fit import _compute_metrics, _numpy, _split


def rows_of(n, rank, world):
    """The rows [lo, hi) of a batch of n rows that `rank` takes: contiguous, sizes within one."""
    base, extra = divmod(n, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


class DataParallel:
    """What fit(distributed=True) adds: the DDP model, sharded loaders, reduced losses/metrics."""

    def __init__(self, model):
        if not dist.is_initialized():
            dist.init_process_group()
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.ddp = model if isinstance(model, DistributedDataParallel) \
            else DistributedDataParallel(model)
        self.local_rows = self.global_rows = 0  # of the batch being trained or evaluated
        self.state = None

    def shard(self, loader):
        """The loader this process iterates: its slices of the global batches."""
        if isinstance(getattr(loader, "sampler", None), DistributedSampler):
            return _ProcessBatches(loader, self)
        return _GlobalBatchSlices(loader, self)

    def start(self, state):
        """Give every process rank 0's random states (shuffles, dropout) as training starts."""
        self.state = state
        generator = _mode.default_generator()
        states = [generator.bit_generator.state, state.loader.state_dict()]
        dist.broadcast_object_list(states, src=0)
        generator.bit_generator.state = states[0]
        state.loader.load_state_dict(states[1])

    def step(self, forward_backward, optimizer):
        """forward_backward on this process's slice, its gradient weighted by the slice's share."""
        ddp = self.ddp

        def step(x, y):
            ddp.grad_weight = self.local_rows / self.global_rows
            if self.local_rows == 0:  # an empty slice (a last batch smaller than the job)
                optimizer.zero_grad()
                ddp.reduce_without_backward()
                return None, None
            out, loss = forward_backward(x, y)
            ddp.synchronize()  # a no-op unless backward skipped a use the graph recorded
            return out, loss

        return step

    def batch_loss(self, loss):
        """The global batch's mean loss (the same float on every process)."""
        local = float(loss.item()) * self.local_rows if self.local_rows else 0.0
        total = from_array(np.array([local], np.float64))
        dist.all_reduce(total)
        return float(total.item()) / self.global_rows

    def epoch_end(self):
        """Give every process rank 0's buffers (batch norm's running statistics)."""
        with _mode.no_grad():
            for b in self.ddp.module.buffers():
                dist.broadcast(b, src=0)

    def gather(self, arrays):
        """Every process's rows of a list of per-batch arrays, concatenated."""
        return dist.all_gather_rows(np.concatenate(arrays) if arrays else None)

    def evaluate(self, model, loss_fn, loader, metric_fns):
        """fit's validation: each process evaluates its slices; sums and rows are reduced."""
        was_training = getattr(model, "training", False)
        model.eval()
        total, count, outs, ys = 0.0, 0, [], []
        try:
            with _mode.no_grad():
                for batch in loader:
                    x, y = _split(batch, "val_data")
                    if not self.local_rows:
                        continue
                    out = model(x)
                    total += float(loss_fn(out, y).item()) * self.local_rows
                    count += self.local_rows
                    outs.append(_numpy(out))
                    ys.append(_numpy(y))
        finally:
            if was_training:
                model.train()
        sums = from_array(np.array([total, count], np.float64))
        dist.all_reduce(sums)
        total, count = sums.tolist()
        if count == 0:
            raise ValueError("evaluate: data is empty")
        logs = {"loss": total / count}
        if metric_fns:
            logs.update(_compute_metrics(metric_fns, self.gather(ys), self.gather(outs), ""))
        return logs


class _GlobalBatchSlices:
    """This process's slice of each global batch of `loader` (every process draws the same)."""

    def __init__(self, loader, run):
        self.loader, self.run = loader, run

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        run = self.run
        for idx in self.loader.index_batches():
            lo, hi = rows_of(len(idx), run.rank, run.world)
            run.local_rows, run.global_rows = hi - lo, len(idx)
            yield self.loader.fetch(idx[lo:hi]) if hi > lo else (None, None)

    def state_dict(self):
        return self.loader.state_dict()

    def load_state_dict(self, state_dict):
        self.loader.load_state_dict(state_dict)


class _ProcessBatches(_GlobalBatchSlices):
    """A DistributedSampler's loader: per-process batches of equal size, gradients averaged."""

    def __iter__(self):
        run = self.run
        if run.state is not None:
            self.loader.sampler.set_epoch(run.state.epoch)
        for batch in self.loader:
            run.local_rows = len(_numpy(batch[1] if isinstance(batch, (tuple, list)) else batch))
            run.global_rows = run.local_rows * run.world
            yield batch
