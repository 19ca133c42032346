"""Every collective on every rank; each rank writes what it got to OUT/rank-<r>.json.

    python -m chainrule.distributed.launch --nproc 3 collectives.py OUT
"""

import json
import sys
import time

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule.core.tensor import from_array

dist.init_process_group("mpi", timeout=30)
rank, world = dist.get_rank(), dist.get_world_size()
got = {"rank": rank, "world": world}


def reduced(values, op, dtype=np.float32):
    t = cr.tensor(np.asarray(values, dtype))
    dist.all_reduce(t, op=op)
    return t.tolist()


v = [rank + 1.0, -2.0 * (rank + 1), 0.5 ** rank]
got["sum_f32"] = reduced(v, dist.ReduceOp.SUM)
got["avg_f64"] = reduced(v, dist.ReduceOp.AVG, np.float64)
got["max_i64"] = reduced([rank, -rank, 7], dist.ReduceOp.MAX, np.int64)
got["min_i64"] = reduced([rank, -rank, 7], dist.ReduceOp.MIN, np.int64)
got["product_f64"] = reduced(v, dist.ReduceOp.PRODUCT, np.float64)

# a strided view (the transpose of a row-major array): reduced through a contiguous copy
base = from_array(np.arange(6, dtype=np.float32).reshape(2, 3) * (rank + 1))
view = base.mT
got["strided_is_contiguous"] = bool(view.numpy().flags.c_contiguous)
dist.all_reduce(view)
got["strided_sum"] = view.tolist()

b = cr.tensor(np.full((2, 2), float(rank)))
dist.broadcast(b, src=world - 1)
got["broadcast_from_last"] = b.tolist()
flags = cr.tensor(np.array([rank % 2 == 0, True]))
dist.broadcast(flags, src=0)
got["broadcast_bool"] = flags.tolist()

parts = [cr.zeros(2, 2) for _ in range(world)]
dist.all_gather(parts, cr.full((2, 2), float(rank * 10)))
got["all_gather"] = [p.tolist() for p in parts]
out = cr.zeros(2 * world, 3)
dist.all_gather_into_tensor(out, cr.tensor(np.full((2, 3), rank, np.float32)))
got["all_gather_into_tensor"] = out.tolist()

# reduce_scatter: rank r sends [r*10 + j for chunk j]; rank j receives sum_r (r*10 + j)
chunks = [cr.tensor(np.full(3, rank * 10.0 + j, np.float32)) for j in range(world)]
mine = cr.zeros(3)
dist.reduce_scatter(mine, chunks, op=dist.ReduceOp.SUM)
got["reduce_scatter_sum"] = mine.tolist()
dist.reduce_scatter(mine, chunks, op=dist.ReduceOp.AVG)
got["reduce_scatter_avg"] = mine.tolist()

work = dist.all_reduce(cr.tensor([float(rank)]), async_op=True)
got["async_work_type"] = type(work).__name__
t_async = cr.tensor([float(rank), 1.0])
work = dist.all_reduce(t_async, async_op=True)
work.wait()
got["async_sum"] = t_async.tolist()

objects = [None] * world
dist.all_gather_object(objects, {"rank": rank, "name": f"r{rank}"})
got["all_gather_object"] = objects
sent = [f"from {rank}", rank] if rank == 1 else [None, None]
dist.broadcast_object_list(sent, src=1)
got["broadcast_object_list"] = sent

# uneven rows, and a rank without any (None): rank r has r rows of [r, r]
rows = None if rank == 0 else np.full((rank, 2), rank, np.int64)
got["all_gather_rows"] = dist.all_gather_rows(rows).tolist()

start = time.perf_counter()
if rank == 0:
    time.sleep(0.3)
dist.barrier()
got["barrier_seconds"] = time.perf_counter() - start

with open(f"{sys.argv[1]}/rank-{rank}.json", "w") as f:
    json.dump(got, f)
