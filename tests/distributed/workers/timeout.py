"""Rank 0 all-reduces alone (rank 1 never joins): it must fail after the 1 s timeout.

    python -m chainrule.distributed.launch --nproc 2 timeout.py OUT
"""

import json
import sys
import time

import chainrule as cr
import chainrule.distributed as dist

dist.init_process_group("mpi", timeout=1.0)
rank = dist.get_rank()
if rank == 0:
    start = time.perf_counter()
    try:
        dist.all_reduce(cr.ones(3))
        record = {"raised": None}
    except dist.DistributedError as e:
        record = {"raised": str(e), "seconds": time.perf_counter() - start}
    with open(f"{sys.argv[1]}/rank-0.json", "w") as f:
        json.dump(record, f)
    sys.exit(0)  # exits through MPI_Abort: the collective was left half-done
time.sleep(20)  # rank 1 stays away from the collective; the abort ends it
