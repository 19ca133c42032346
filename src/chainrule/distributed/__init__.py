"""cr.distributed: data-parallel training over MPI (torch.distributed's names).

    mpiexec -n 4 python train.py                   # or: chainrule train --nproc 4

    import chainrule.distributed as dist
    dist.init_process_group("mpi")                 # a plain `python train.py`: a world of one
    model = dist.DistributedDataParallel(model)    # gradients averaged during backward
    sampler = cr.data.DistributedSampler(dataset)  # this process's shard of each epoch

Collectives (all_reduce, broadcast, all_gather, reduce_scatter, barrier, ...) work in place on
a tensor's buffer. `import chainrule.distributed` does not import mpi4py; init_process_group
does, and only in a process that an MPI launcher started. See docs/DISTRIBUTED.md.
"""

from chainrule.distributed.collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_gather_rows,
    all_reduce,
    broadcast,
    broadcast_object_list,
    reduce_scatter,
)
from chainrule.distributed.ddp import DistributedDataParallel
from chainrule.distributed.group import (
    DistributedError,
    barrier,
    destroy_process_group,
    get_rank,
    get_world_size,
    init_process_group,
    is_initialized,
    launched_by_mpi,
)

__all__ = [
    "DistributedDataParallel", "DistributedError", "ReduceOp", "Work", "all_gather",
    "all_gather_into_tensor", "all_gather_object", "all_gather_rows", "all_reduce", "barrier",
    "broadcast", "broadcast_object_list", "destroy_process_group", "get_rank",
    "get_world_size", "init_process_group", "is_initialized", "launched_by_mpi",
    "reduce_scatter",
]
