"""Samplers: the order in which a DataLoader visits a dataset's rows (torch.utils.data names)."""

import math

import numpy as np


def _count(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"DistributedSampler: {name} must be a non-negative integer; "
                         f"got {value!r}")
    return int(value)


class DistributedSampler:
    """This process's shard of every epoch: rows rank, rank + R, rank + 2R, ... of a permutation.

    As PyTorch's: every process draws the same permutation (from seed + epoch; call
    `set_epoch(epoch)` before each epoch for a new one), pads it by repeating its first rows
    (or, with drop_last, cuts it) to a multiple of num_replicas, and takes every
    num_replicas-th row from `rank`, so the shards are disjoint, equally long, and together
    are the epoch. num_replicas and rank default to the process group's.

        >>> import chainrule as cr
        >>> s = cr.data.DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
        >>> list(s), len(s)
        ([1, 4, 7, 0], 4)
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from chainrule import distributed

            if not distributed.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the "
                                   "process group's, which is not initialized; call "
                                   "cr.distributed.init_process_group() or pass both")
            num_replicas = distributed.get_world_size() if num_replicas is None \
                else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        num_replicas = _count(num_replicas, "num_replicas")
        rank = _count(rank, "rank")
        if num_replicas < 1 or rank >= num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, num_replicas - 1]; got "
                             f"rank={rank}, num_replicas={num_replicas}")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = bool(shuffle), _count(seed, "seed"), \
            bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:
            order = np.resize(order, self.total_size)  # repeats the first rows as padding
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use epoch's permutation (the same on every process): call it before each epoch."""
        self.epoch = _count(epoch, "epoch")
